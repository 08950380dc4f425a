import Synchronization

/// Keeps each poll's messages consistent with the assignment and the positions the application
/// chose.
///
/// librdkafka 2.0.2's `rd_kafka_consume_batch_queue` can return, after a rebalance that
/// happened inside the same call, messages fetched before it: messages of partitions just
/// revoked (which another member now owns), or messages from before the offset the application
/// chose. Partitions assigned without a starting offset are paused until `start`, but a fetch
/// may already have been under way. This tracker drops all of those, so that per partition the
/// application sees offsets only increase from the position it chose, never sees a partition
/// it was told is gone, and sees nothing of a partition it has not started yet.
final class ConsumerPositionTracker: Sendable {
    /// Where an assigned partition stands.
    enum Position: Sendable, Equatable {
        /// Assigned, waiting for the application's `start`: every message is dropped.
        case awaitingStart
        /// Delivering: the lowest offset the application may see next, if known.
        case next(Int64?)
    }

    private let positions = Mutex<[KafkaTopicPartition: Position]>([:])

    /// Records newly assigned partitions: those with an offset deliver from it, the others
    /// wait for `started`.
    func assigned(_ partitions: [KafkaTopicPartition], startingAt offsets: [KafkaTopicPartition: KafkaOffset]) {
        positions.withLock { positions in
            for partition in partitions {
                positions[partition] = offsets[partition].map { .next($0.isAbsolute ? $0.rawValue : nil) } ?? .awaitingStart
            }
        }
    }

    /// Forgets revoked partitions: their messages are no longer the application's.
    func revoked(_ partitions: [KafkaTopicPartition]) {
        positions.withLock { positions in
            for partition in partitions { positions.removeValue(forKey: partition) }
        }
    }

    /// Records an application seek or start: the next message is `offset`, or unknown for
    /// logical offsets. Partitions no longer assigned stay unknown.
    func seeked(_ partition: KafkaTopicPartition, to offset: KafkaOffset) {
        positions.withLock { positions in
            guard positions[partition] != nil else { return }
            positions[partition] = .next(offset.isAbsolute ? offset.rawValue : nil)
        }
    }

    /// The assigned partitions and where each stands.
    var assignment: [KafkaTopicPartition: Position] {
        positions.withLock { $0 }
    }

    /// The records the application may see: stale, revoked or not yet started messages
    /// removed, errors kept.
    func filter(_ records: [KafkaConsumerRecord]) -> (kept: [KafkaConsumerRecord], dropped: Int) {
        positions.withLock { positions in
            var dropped = 0
            var kept: [KafkaConsumerRecord] = []
            kept.reserveCapacity(records.count)
            // A batch holds runs of one partition: its entry is looked up once per run, not
            // once per message, and written back when the run ends.
            var run: (partition: KafkaTopicPartition, position: Position?)?
            for record in records {
                guard case .message(let message) = record else {
                    kept.append(record)
                    continue
                }
                if run?.partition.partition != message.partition || run?.partition.topic != message.topic {
                    if let run, case .next = run.position { positions[run.partition] = run.position }
                    run = (message.topicPartition, positions[message.topicPartition])
                }
                guard case .next(let expected) = run?.position else {
                    dropped += 1  // Not (or no longer) assigned, or not started yet.
                    continue
                }
                if let expected, message.offset < expected {
                    dropped += 1  // Fetched before the latest assignment or seek.
                    continue
                }
                run?.position = .next(message.offset + 1)
                kept.append(record)
            }
            if let run, case .next = run.position { positions[run.partition] = run.position }
            return (kept, dropped)
        }
    }
}
