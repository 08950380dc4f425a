internal import CRdKafka

extension KafkaProducerMessage {
    /// Enqueues the message with `rd_kafka_produceva`, returning librdkafka's error if any.
    ///
    /// The message carries `opaque` to its delivery report. librdkafka copies topic, key, value
    /// and headers (`RD_KAFKA_MSG_F_COPY`), so the scratch memory only lives for this call.
    /// On error the message was not enqueued and `opaque` was not taken: the caller still owns it.
    func produce(on rk: OpaquePointer, opaque: UnsafeMutableRawPointer) -> OpaquePointer? {
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: scratchByteCount, alignment: 1)
        defer { arena.deallocate() }
        var cursor = 0
        // Copies bytes into the arena (NUL-terminated when asked) and returns where they start.
        func place<Bytes: Collection<UInt8>>(_ bytes: Bytes, terminated: Bool = false) -> UnsafeRawPointer {
            let start = arena.baseAddress! + cursor
            UnsafeMutableRawBufferPointer(rebasing: arena[cursor...]).copyBytes(from: bytes)
            cursor += bytes.count
            if terminated {
                arena[cursor] = 0
                cursor += 1
            }
            return UnsafeRawPointer(start)
        }

        var vus = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: vuCount)
        return vus.withUnsafeMutableBufferPointer { vu -> OpaquePointer? in
            var index = 0
            func next() -> UnsafeMutablePointer<rd_kafka_vu_t> {
                defer { index += 1 }
                return vu.baseAddress! + index
            }
            headcount_vu_topic(next(), place(topic.utf8, terminated: true).assumingMemoryBound(to: CChar.self))
            headcount_vu_msgflags(next(), RD_KAFKA_MSG_F_COPY)
            headcount_vu_opaque(next(), opaque)
            headcount_vu_value(next(), place(value), value.count)
            if let key { headcount_vu_key(next(), place(key), key.count) }
            if let partition { headcount_vu_partition(next(), partition) }
            for header in headers {
                let name = place(header.name.utf8, terminated: true).assumingMemoryBound(to: CChar.self)
                if let value = header.value {
                    headcount_vu_header(next(), name, place(value), value.count)
                } else {
                    headcount_vu_header(next(), name, nil, 0)
                }
            }
            return rd_kafka_produceva(rk, vu.baseAddress, index)
        }
    }

    /// Topic, flags, opaque and value, then key, partition and headers when present.
    private var vuCount: Int {
        4 + (key == nil ? 0 : 1) + (partition == nil ? 0 : 1) + headers.count
    }

    /// The bytes `produce` copies into its scratch arena (at least 1, so the arena always exists).
    private var scratchByteCount: Int {
        let headerBytes = headers.reduce(0) { $0 + $1.name.utf8.count + 1 + ($1.value?.count ?? 0) }
        return 1 + topic.utf8.count + 1 + value.count + (key?.count ?? 0) + headerBytes
    }
}
