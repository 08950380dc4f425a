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
            let kept = records.filter { record in
                guard case .message(let message) = record else { return true }
                let partition = message.topicPartition
                guard let known = next[partition] else {
                    dropped += 1  // Not (or no longer) assigned to this member.
                    return false
                }
                if let expected = known, message.offset < expected {
                    dropped += 1  // Fetched before the latest assignment or seek.
                    return false
                }
                next[partition] = message.offset + 1
                return true
            }
            return (kept, dropped)
        }
    }
}
