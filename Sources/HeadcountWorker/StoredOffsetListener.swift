import HeadcountStore
import Kafka
import Logging
import Synchronization

/// Hands librdkafka's rebalances to the consumer's `PartitionLedger`, without waiting for
/// anything: assigned partitions stay paused until `PartitionStarter` has read where
/// PostgreSQL says they continue.
///
/// Kafka's committed offsets are only advisory: the offsets that count were written in the
/// same transaction as the events, so a partition resumes exactly after the last stored batch.
final class StoredOffsetListener: KafkaRebalanceListener {
    let ledger: PartitionLedger
    let logger: Logger

    init(ledger: PartitionLedger, logger: Logger) {
        self.ledger = ledger
        self.logger = logger
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
        ledger.assigned(partitions.map(\.partition))
        logger.info("partitions assigned", metadata: ["partitions": "\(partitions.map(\.partition).sorted())"])
        // None starts at once: each waits, paused, for its stored offset.
        return [:]
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) {
        ledger.revoked(partitions.map(\.partition))
        logger.info("partitions revoked", metadata: ["partitions": "\(partitions.map(\.partition).sorted())"])
    }
}

/// A value shared between tasks, behind a lock.
final class LockedValue<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func set(_ newValue: Value) { value.withLock { $0 = newValue } }

    func get() -> Value { value.withLock { $0 } }

    func update(_ body: (inout Value) -> Void) { value.withLock { body(&$0) } }
}
