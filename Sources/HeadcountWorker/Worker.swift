import Foundation
import HeadcountCore
import HeadcountStore
import Kafka
import Logging
import ServiceLifecycle
import Synchronization

/// `headcount work`: a pool of consumers in one consumer group, storing a pipeline's
/// events into PostgreSQL with exactly-once effect.
///
/// On graceful shutdown every consumer finishes and stores its batch in flight, then
/// leaves the group cleanly (the final revoke goes through the listener).
public final class Worker: Service, Sendable {
    public let configuration: WorkerConfiguration
    public let statistics = WorkerStatistics()
    /// Each running consumer's ledger, by consumer index.
    private let ledgers = LockedValue<[Int: PartitionLedger]>([:])
    let store: EventStore
    let logger: Logger
    let clock: @Sendable () -> Instant

    /// - Parameter clock: the processing clock; default the system's UTC time.
    public init(
        configuration: WorkerConfiguration, store: EventStore, logger: Logger,
        clock: @escaping @Sendable () -> Instant = Worker.systemClock
    ) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.clock = clock
    }

    /// The system's UTC clock in milliseconds.
    public static let systemClock: @Sendable () -> Instant = {
        Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// The partitions of the pipeline's topic that this process's consumers own right now.
    public var ownedPartitions: Set<Int32> {
        ledgers.get().values.reduce(into: Set<Int32>()) { $0.formUnion($1.ownedPartitions) }
    }

    /// Each running consumer's partitions, by consumer index (heartbeats and readiness).
    public var partitionsByConsumer: [Int: Set<Int32>] { ledgers.get().mapValues(\.ownedPartitions) }

    public func run() async throws {
        let stopping = LockedValue(false)
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<configuration.concurrency {
                    group.addTask { try await self.runConsumer(index: index) { stopping.get() } }
                }
                try await group.waitForAll()
            }
        } onGracefulShutdown: {
            stopping.set(true)
        }
        let totals = statistics.snapshot
        logger.info("worker stopped", metadata: [
            "batches": "\(totals.batches)", "inserted": "\(totals.inserted)", "duplicates": "\(totals.duplicates)",
            "deadLetters": "\(totals.deadLetters + totals.conflictingDuplicates)",
        ])
    }

    private func runConsumer(index: Int, shouldStop: @escaping @Sendable () -> Bool) async throws {
        var logger = self.logger
        logger[metadataKey: "consumer"] = "\(index)"
        let ledger = PartitionLedger()
        ledgers.update { $0[index] = ledger }
        defer { ledgers.update { $0[index] = nil } }
        let listener = StoredOffsetListener(
            store: store, pipeline: configuration.pipeline.id, topic: configuration.pipeline.kafka.topic,
            ledger: ledger, logger: logger)
        let consumer = try KafkaConsumer(
            configuration: configuration.consumerConfiguration(index: index), rebalanceListener: listener, logger: logger)
        try await consumer.subscribe(topics: [configuration.pipeline.kafka.topic])
        let loop = ConsumerLoop(
            configuration: configuration, consumer: consumer, ledger: ledger,
            presence: PresenceKeeper(rules: configuration.pipeline.rules, recentEventIDs: configuration.recentEventIDs), store: store,
            statistics: statistics, metrics: WorkerMetrics(pipeline: configuration.pipeline.id), logger: logger, now: clock)
        do {
            try await loop.run(shouldStop: shouldStop)
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }
}
