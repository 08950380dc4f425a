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

    /// How many of this process's consumers are running (0 once every one has left the group).
    public var consumersRunning: Int { ledgers.get().count }

    /// Each running consumer's partitions, by consumer index (heartbeats and readiness).
    public var partitionsByConsumer: [Int: Set<Int32>] { ledgers.get().mapValues(\.ownedPartitions) }

    /// Runs every consumer until graceful shutdown (each finishes and stores its batch in
    /// flight, then leaves the group) or cancellation (nothing more is stored), or, with
    /// `stopWhenIdleFor`, until the whole process has been idle that long: then every consumer
    /// stops at once, so the group rebalances once rather than once per consumer.
    public func run() async throws {
        let stopping = LockedValue(false)
        let activity = WorkerActivity()
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<configuration.concurrency {
                    group.addTask {
                        try await self.runConsumer(index: index, activity: activity) { stopping.get() }
                        return true
                    }
                }
                if let limit = configuration.stopWhenIdleFor {
                    group.addTask {
                        await self.stopWhenIdle(for: limit, activity: activity, stopping: stopping)
                        return false
                    }
                }
                var running = configuration.concurrency
                while let consumerEnded = try await group.next() {
                    guard consumerEnded else { continue }
                    running -= 1
                    if running == 0 { group.cancelAll() }
                }
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

    /// Idle means "nothing more to read" for the whole process: no message for `limit` since
    /// the last one or the last change of the process's partitions, and while it owns none (a
    /// group waiting for a dead member's session to expire) a minute at least.
    ///
    /// Before it stops, the process asks the brokers and PostgreSQL once more: the consumers'
    /// own view of the lag comes from the last fetch responses, and a quiet spell on a busy
    /// machine (a slow group join, a fetch not yet answered) must not end a catch-up run with
    /// messages still unstored.
    private func stopWhenIdle(for limit: Duration, activity: WorkerActivity, stopping: LockedValue<Bool>) async {
        var owned = ownedPartitions
        var adminConfiguration = KafkaAdminConfiguration(bootstrapServers: configuration.bootstrapServers)
        adminConfiguration.clientID = "headcount-worker-idle-check"
        adminConfiguration.additionalProperties = configuration.kafkaProperties
        let admin = try? KafkaAdmin(configuration: adminConfiguration, logger: logger)
        while !stopping.get() {
            guard (try? await Task.sleep(for: .milliseconds(100))) != nil else { return }
            let now = ownedPartitions
            if now != owned {
                owned = now
                activity.touch()
            }
            // Partitions owned but not started yet (offsets loading, a start waiting for the
            // poll thread) are work to come, seen here even while the poll loop cannot look.
            if ledgers.get().values.contains(where: { $0.ownedPartitions != $0.runningPartitions }) {
                activity.touch()
            }
            let idle = activity.idleFor
            guard idle >= (owned.isEmpty ? max(limit, .seconds(60)) : limit) else { continue }
            if let admin, let behind = await unstored(in: owned, admin: admin), !behind.isEmpty {
                logger.info("quiet, but Kafka still holds messages not stored; not stopping", metadata: [
                    "unstored": "\(behind.sorted { $0.key < $1.key }.map { "partition \($0.key): \($0.value < 0 ? "no answer" : String($0.value))" }.joined(separator: ", "))",
                ])
                activity.touch()
                continue
            }
            logger.info("idle: stopping every consumer at once", metadata: ["idleFor": "\(idle)"])
            stopping.set(true)
        }
    }

    /// Messages Kafka holds beyond the stored offsets, for each of `partitions` that has
    /// any; nil when the brokers or PostgreSQL do not answer (the consumers' own view decides).
    private func unstored(in partitions: Set<Int32>, admin: KafkaAdmin) async -> [Int32: Int64]? {
        let topic = configuration.pipeline.kafka.topic
        guard let marks = try? await admin.highWatermarks(of: topic, timeout: .seconds(5)),
              let stored = try? await store.storedOffsets(pipeline: configuration.pipeline.id, topic: topic)
        else { return nil }
        var behind: [Int32: Int64] = [:]
        for partition in partitions {
            // A partition the brokers did not answer for is not known to be caught up.
            guard let high = marks.partitions[partition]?.high else {
                if marks.unanswered[partition] != nil { behind[partition] = -1 }
                continue
            }
            let lag = high - (stored[partition] ?? 0)
            if lag > 0 { behind[partition] = lag }
        }
        return behind
    }

    private func runConsumer(index: Int, activity: WorkerActivity, shouldStop: @escaping @Sendable () -> Bool) async throws {
        var logger = self.logger
        logger[metadataKey: "consumer"] = "\(index)"
        let ledger = PartitionLedger()
        ledgers.update { $0[index] = ledger }
        defer { ledgers.update { $0[index] = nil } }
        let listener = StoredOffsetListener(ledger: ledger, logger: logger)
        let consumer = try KafkaConsumer(
            configuration: configuration.consumerConfiguration(index: index), rebalanceListener: listener, logger: logger)
        try await consumer.subscribe(topics: [configuration.pipeline.kafka.topic])
        let loop = ConsumerLoop(
            configuration: configuration, consumer: consumer, ledger: ledger,
            presence: PresenceKeeper(rules: configuration.pipeline.rules, recentEventIDs: configuration.recentEventIDs), store: store,
            statistics: statistics, metrics: WorkerMetrics(pipeline: configuration.pipeline.id, consumer: index), activity: activity,
            logger: logger, now: clock)
        do {
            try await loop.run(shouldStop: shouldStop)
        } catch {
            await consumer.close()
            throw error
        }
        // Leaves the group: the final revoke goes through the listener, and the group moves
        // the partitions to the other members at once instead of after the session timeout.
        await consumer.close()
    }
}

/// When the process last saw a message, a change of its partitions or a partition behind,
/// and how many batches it is storing now, for the idle stop.
final class WorkerActivity: Sendable {
    private struct State {
        var last = ContinuousClock.now
        var storing = 0
    }
    private let state = Mutex(State())

    func touch() { state.withLock { $0.last = .now } }

    /// Runs one batch's store: the process is busy throughout (a commit that PostgreSQL makes
    /// wait, or retries through an outage, is work in flight, not idleness), and active again
    /// when it ends.
    func storing<Result>(_ body: () async throws -> Result) async rethrows -> Result {
        state.withLock { $0.storing += 1 }
        defer { state.withLock { $0.storing -= 1; $0.last = .now } }
        return try await body()
    }

    /// How long the process has been idle: zero while a batch is being stored.
    var idleFor: Duration {
        state.withLock { $0.storing > 0 ? .zero : ContinuousClock.now - $0.last }
    }
}
