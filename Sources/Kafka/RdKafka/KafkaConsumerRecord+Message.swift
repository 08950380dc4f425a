internal import CRdKafka

extension KafkaConsumerRecord {
    /// Copies a polled librdkafka message into Swift values and destroys it.
    ///
    /// - Parameter topics: topic names already made into Swift strings during this poll; a
    ///   batch comes from one or a few topics, and a string per message would be an
    ///   allocation per message.
    ///   - copiesHeaders: whether the message's headers are read; otherwise it has none.
    init(consuming message: UnsafeMutablePointer<rd_kafka_message_t>, topics: inout TopicNames, copiesHeaders: Bool) {
        // Every message returned by a consume call is ours and must be destroyed exactly once.
        defer { rd_kafka_message_destroy(message) }
        let fields = message.pointee
        let topic = fields.rkt.map { topics.name(of: $0) }
        switch fields.err {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            self = .message(KafkaConsumerMessage(copying: message, topic: topic ?? "", copiesHeaders: copiesHeaders))
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
            let partition = KafkaTopicPartition(topic: topic ?? "", partition: fields.partition)
            self = .partitionEOF(partition, nextOffset: fields.offset)
        default:
            // For error messages the payload is librdkafka's reason text.
            var error = KafkaError(
                code: KafkaError.Code(rawValue: fields.err.rawValue),
                message: String(cString: rd_kafka_message_errstr(message))
            )
            if let topic {
                error.topic = topic
                error.partition = fields.partition
                error.offset = fields.offset >= 0 ? fields.offset : nil
            }
            self = .error(error)
        }
    }
}

/// The names of the topic handles seen during one poll.
///
/// Comparing handles by address is safe within one poll: every message of the batch holds a
/// reference to its topic handle from the moment the consume call returns, so no two topics
/// of one batch can share an address, even after earlier messages were destroyed.
struct TopicNames {
    private var names: [(handle: OpaquePointer, name: String)] = []

    /// The name of a message's topic handle; the handle belongs to the message.
    mutating func name(of handle: OpaquePointer) -> String {
        if let known = names.first(where: { $0.handle == handle }) { return known.name }
        let name = String(cString: rd_kafka_topic_name(handle))
        names.append((handle, name))
        return name
    }
}

extension KafkaConsumerMessage {
    /// Copies key, value, headers and timestamp; the C message keeps its ownership.
    fileprivate init(copying message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String, copiesHeaders: Bool) {
        let fields = message.pointee
        self.init(
            topic: topic,
            partition: fields.partition,
            offset: fields.offset,
            key: fields.key.map { Array(UnsafeRawBufferPointer(start: $0, count: fields.key_len)) },
            value: fields.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: fields.len)) } ?? [],
            headers: copiesHeaders ? Self.headers(of: message) : [],
            timestamp: Self.timestamp(of: message)
        )
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        // The header list belongs to the message: read it, never destroy it.
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var headers: [KafkaHeader] = []
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, headers.count, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            headers.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: bytes))
        }
        return headers
    }

    private static func timestamp(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaTimestamp? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &type)
        switch type {
        case RD_KAFKA_TIMESTAMP_CREATE_TIME: return KafkaTimestamp(millisecondsSinceEpoch: milliseconds, kind: .createTime)
        case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: return KafkaTimestamp(millisecondsSinceEpoch: milliseconds, kind: .logAppendTime)
        default: return nil
        }
    }
}
