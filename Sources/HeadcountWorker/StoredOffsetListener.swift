import Dispatch
import HeadcountStore
import Kafka
import Logging
import Synchronization

/// Starts every assigned partition at the offset stored in PostgreSQL.
///
/// Kafka's committed offsets are only advisory: the offsets that count were written in the
/// same transaction as the events, so a partition resumes exactly after the last stored batch.
final class StoredOffsetListener: KafkaRebalanceListener {
    let store: EventStore
    let pipeline: String
    let topic: String
    let ledger: PartitionLedger
    let logger: Logger

    init(store: EventStore, pipeline: String, topic: String, ledger: PartitionLedger, logger: Logger) {
        self.store = store
        self.pipeline = pipeline
        self.topic = topic
        self.ledger = ledger
        self.logger = logger
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
        let stored = loadStoredOffsets()
        var offsets: [KafkaTopicPartition: KafkaOffset] = [:]
        var owned: [Int32: Int64?] = [:]
        for partition in partitions {
            let next = stored[partition.partition]
            owned[partition.partition] = next
            // Nothing stored yet: start at the very beginning, never at "latest".
            offsets[partition] = next.map(KafkaOffset.init) ?? .beginning
        }
        ledger.assign(owned)
        logger.info("partitions assigned", metadata: [
            "partitions": "\(partitions.map(\.partition).sorted())",
            "offsets": "\(offsets.sorted { $0.key < $1.key }.map { "\($0.key.partition):\($0.value)" })",
        ])
        return offsets
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) {
        ledger.revoke(partitions.map(\.partition))
        logger.info("partitions revoked", metadata: ["partitions": "\(partitions.map(\.partition).sorted())"])
    }

    /// Reads the stored offsets, retrying until PostgreSQL answers.
    ///
    /// This runs on the consumer's own thread inside librdkafka's rebalance callback, which
    /// must return the assignment synchronously; blocking that dedicated thread (never a
    /// thread of Swift's cooperative pool) while the query runs on the pool is safe.
    private func loadStoredOffsets() -> [Int32: Int64] {
        let result = LockedValue<[Int32: Int64]?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task { [store, pipeline, topic, logger] in
            var delay = Duration.milliseconds(100)
            while true {
                do {
                    let offsets = try await store.storedOffsets(pipeline: pipeline, topic: topic)
                    result.set(offsets)
                    break
                } catch {
                    logger.error("cannot read stored offsets; retrying", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(10))
                }
            }
            done.signal()
        }
        done.wait()
        return result.get() ?? [:]
    }
}

/// A value shared between a waiting thread and the task that produces it.
final class LockedValue<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func set(_ newValue: Value) { value.withLock { $0 = newValue } }

    func get() -> Value { value.withLock { $0 } }

    func update(_ body: (inout Value) -> Void) { value.withLock { body(&$0) } }
}
