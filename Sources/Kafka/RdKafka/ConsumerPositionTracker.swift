import Synchronization

/// Keeps each poll's messages consistent with the assignment that the listener last saw.
///
/// librdkafka 2.0.2's `rd_kafka_consume_batch_queue` can return, after a rebalance that
/// happened inside the same call, messages fetched before it: messages of partitions just
/// revoked (which another member now owns), or messages from before the offset the listener
/// chose. This tracker drops those, so that per partition the application sees offsets only
/// increase from the position it chose, and never sees a partition it was told is gone.
final class ConsumerPositionTracker: Sendable {
    /// Per assigned partition: the lowest offset the application may see next, if known.
    private let nextOffsets = Mutex<[KafkaTopicPartition: Int64?]>([:])

    /// Records a new assignment and the starting offsets chosen for it.
    func assigned(_ partitions: [KafkaTopicPartition], startingAt offsets: [KafkaTopicPartition: KafkaOffset]) {
        nextOffsets.withLock { next in
            for partition in partitions {
                let start = offsets[partition].flatMap { $0.isAbsolute ? $0.rawValue : nil }
                // updateValue, because assigning nil through the subscript would remove the entry.
                next.updateValue(start, forKey: partition)
            }
        }
    }

    /// Forgets revoked partitions: their messages are no longer the application's.
    func revoked(_ partitions: [KafkaTopicPartition]) {
        nextOffsets.withLock { next in
            for partition in partitions { next.removeValue(forKey: partition) }
        }
    }

    /// Records an application seek: the next message is `offset`, or unknown for logical offsets.
    func seeked(_ partition: KafkaTopicPartition, to offset: KafkaOffset) {
        nextOffsets.withLock { next in
            guard next[partition] != nil else { return }
            next.updateValue(offset.isAbsolute ? offset.rawValue : nil, forKey: partition)
        }
    }

    /// The assigned partitions and, where known, the next offset the application expects.
    var assignment: [KafkaTopicPartition: Int64?] {
        nextOffsets.withLock { $0 }
    }

    /// The records the application may see: stale or revoked messages removed, errors kept.
    func filter(_ records: [KafkaConsumerRecord]) -> (kept: [KafkaConsumerRecord], dropped: Int) {
        nextOffsets.withLock { next in
            var dropped = 0
            var kept: [KafkaConsumerRecord] = []
            kept.reserveCapacity(records.count)
            // A batch holds runs of one partition: its entry is looked up once per run, not
            // once per message, and written back when the run ends.
            var run: (partition: KafkaTopicPartition, known: Int64??)?
            for record in records {
                guard case .message(let message) = record else {
                    kept.append(record)
                    continue
                }
                if run?.partition.partition != message.partition || run?.partition.topic != message.topic {
                    if let run, let known = run.known { next.updateValue(known, forKey: run.partition) }
                    run = (message.topicPartition, next[message.topicPartition])
                }
                guard let known = run?.known else {
                    dropped += 1  // Not (or no longer) assigned to this member.
                    continue
                }
                if let expected = known, message.offset < expected {
                    dropped += 1  // Fetched before the latest assignment or seek.
                    continue
                }
                run?.known = .some(message.offset + 1)
                kept.append(record)
            }
            if let run, let known = run.known { next.updateValue(known, forKey: run.partition) }
            return (kept, dropped)
        }
    }
}
