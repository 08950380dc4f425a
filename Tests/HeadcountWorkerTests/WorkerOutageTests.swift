import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HeadcountCore
import HeadcountPipeline
import HeadcountStore
import HeadcountTestSupport
import HeadcountWorker
import Kafka
import Logging
import ServiceLifecycle
import Testing

/// Outages in the middle of a run: PostgreSQL crashing and coming back, brokers going away
/// and coming back. The worker waits them out and, once they are over, has stored every
/// event exactly once.
@Suite("Worker: PostgreSQL and broker outages", .serialized, .timeLimit(.minutes(5)))
struct WorkerOutageTests {
    typealias Support = WorkerIntegrationTests

    @Test("PostgreSQL killed and restarted mid-run: the worker backs off, resumes, and stores what a clean run stores")
    func postgresRestart() async throws {
        let cluster = try KafkaDevCluster(brokerCount: 1, logger: Support.logger)
        // The mock cluster lives as long as its object: keep it until the end of the test.
        defer { withExtendedLifetime(cluster) {} }
        let pipeline = try Support.pipeline(topic: "postgres-outage-test", partitions: 6)
        try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
        let events = Support.events(participants: 23_000, pipeline: pipeline)
        try await Support.publish(events, pipeline: pipeline, cluster: cluster)

        let clean = try await TestDatabase.withStore { store, _ in
            var configuration = Support.configuration(pipeline, cluster, batch: 2_000)
            configuration.groupID = "clean-run"
            try await Worker(configuration: configuration, store: store, logger: Support.logger).run()
            return try await WorkerCrashTests.rows(store, pipeline)
        }
        #expect(clean.numbers == BatchCount(events: events, rules: pipeline.rules).buckets, "the clean run sums to the batch count")

        let log = LogRecorder()
        let restarted = try await PrivatePostgres.with { server in
            let url = try DatabaseURL(try await server.start())
            let store = EventStore(url: url, maximumConnections: 4, logger: Support.logger)
            return try await withThrowingTaskGroup(of: Void.self) { pool in
                pool.addTask { await store.run() }
                defer { pool.cancelAll() }
                try await store.migrate()
                // Small batches keep the run going long enough for the outage to land inside it.
                var configuration = Self.configuration(pipeline, cluster, batch: 200)
                configuration.concurrency = 2
                configuration.initialRetryDelay = .milliseconds(50)
                configuration.maximumRetryDelay = .seconds(1)
                let worker = Worker(configuration: configuration, store: store, logger: log.logger(label: "test.worker", level: .warning))
                // Done when the store says so: a commit whose answer the crash swallowed may have
                // committed, and then the worker's own tally never counts it.
                try await Self.runUntil(worker, reaches: events.count, progress: {
                    (try? await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic))
                        .map { Int($0.values.reduce(0, +)) } ?? 0
                }) {
                    try await waitUntil("the worker to store 10 batches") { worker.statistics.snapshot.batches >= 10 }
                    try await Self.outage(server, url: url, worker: worker, expected: events.count, log: log)
                }
                #expect(Support.processed(worker.statistics.snapshot) <= events.count, "no message counted twice")
                return try await WorkerCrashTests.rows(store, pipeline)
            }
        }
        #expect(WorkerCrashTests.firstDifference(restarted.events, clean.events) == nil, "the same events from the same offsets")
        #expect(WorkerCrashTests.firstDifference(restarted.presence, clean.presence) == nil, "the same presence, participant by participant")
        #expect(restarted.numbers == clean.numbers, "the same contributions summed")
        Self.expectBackoff(in: log, initial: .milliseconds(50), cap: .seconds(1))
    }

    /// Kills the server while the worker stores, keeps it down until the worker has had a
    /// commit fail (3 s at most), restarts it on the same port; again (up to 3 outages in all)
    /// while no commit failed, which happens when every kill lands between its transactions.
    static func outage(_ server: PrivatePostgres, url: DatabaseURL, worker: Worker, expected: Int, log: LogRecorder) async throws {
        for outage in 1...3 {
            try await server.kill()
            // The outage lasts until the worker noticed it, or 3 s: its length, not a wait for the worker.
            try? await waitUntil("a failed commit", timeout: .seconds(3)) { !retries(in: log).isEmpty }
            #expect(Support.processed(worker.statistics.snapshot) < expected, "the outage landed mid-run")
            let restarted = try DatabaseURL(try await server.start())
            #expect(restarted.port == url.port, "the restarted server kept its port")
            guard retries(in: log).isEmpty, outage < 3 else { return }
            let batches = worker.statistics.snapshot.batches
            try await waitUntil("the worker to store again after outage \(outage)") { worker.statistics.snapshot.batches > batches }
        }
    }

    /// The worker's retry messages: (attempt, delay) of each.
    static func retries(in log: LogRecorder) -> [(attempt: Int, delay: String)] {
        log.recorded.filter { $0.message == "storing a batch failed; retrying" }.map {
            (Int($0.metadata["attempt"] ?? "") ?? 0, $0.metadata["retryIn"] ?? "")
        }
    }

    /// The worker logged its retries, each after `initial` doubled per attempt up to `cap`,
    /// and said when it got past the failed batch: stored at last, or fenced because the
    /// attempt whose answer the crash swallowed had committed it.
    static func expectBackoff(in log: LogRecorder, initial: Duration, cap: Duration) {
        for entry in log.recorded where entry.level >= .warning {
            print("worker log: \(entry.level) \(entry.message) \(entry.metadata.sorted { $0.key < $1.key })")
        }
        let retries = retries(in: log)
        #expect(!retries.isEmpty, "the worker logged a retry")
        for (attempt, delay) in retries {
            let expected = min(initial * (1 << min(attempt - 1, 30)), cap)
            #expect(attempt >= 1 && delay == "\(expected)", "attempt \(attempt) waits \(expected), not \(delay)")
        }
        let resumed = log.recorded.filter {
            $0.message.hasPrefix("stored the batch after failed attempts") || $0.message.hasPrefix("batch fenced: an earlier attempt")
        }
        #expect(resumed.count >= Set(log.recorded.filter { $0.message == "storing a batch failed; retrying" }.map { $0.metadata["consumer"] }).count,
                "every consumer that retried said how it got past the batch")
    }

    @Test("brokers taken down and brought back mid-run: nothing lost, nothing twice")
    func brokerOutage() async throws {
        try await TestDatabase.withStore { store, _ in
            let cluster = try KafkaDevCluster(brokerCount: 3, logger: Support.logger)
            // The mock cluster lives as long as its object: keep it until the end of the test.
            defer { withExtendedLifetime(cluster) {} }
            let pipeline = try Support.pipeline(topic: "broker-outage-test", partitions: 6)
            try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
            let events = Support.events(participants: 23_000, pipeline: pipeline)
            try await Support.publish(events, pipeline: pipeline, cluster: cluster)

            var configuration = Self.configuration(pipeline, cluster, batch: 200)
            configuration.concurrency = 2
            let worker = Worker(configuration: configuration, store: store, logger: Support.logger)
            try await Self.runUntilProcessed(worker, expected: events.count) {
                try await waitUntil("the worker to store 10 batches") { worker.statistics.snapshot.batches >= 10 }
                // One broker: the leader of some partitions (and maybe the group coordinator).
                try await cluster.setBrokerDown(1)
                // The outages' lengths, not waits for anything.
                try await Task.sleep(for: .seconds(3))
                try await cluster.setBrokerUp(1)
                let batches = worker.statistics.snapshot.batches
                try await waitUntil("the worker to store again with every broker up") { worker.statistics.snapshot.batches > batches }
                // Then the whole cluster at once.
                for broker in 1...Int32(cluster.brokerCount) { try await cluster.setBrokerDown(broker) }
                try await Task.sleep(for: .seconds(3))
                #expect(Support.processed(worker.statistics.snapshot) < events.count, "the outage landed mid-run")
                for broker in 1...Int32(cluster.brokerCount) { try await cluster.setBrokerUp(broker) }
            }
            #expect(Support.processed(worker.statistics.snapshot) == events.count, "every message processed exactly once")
            #expect(Set(try await store.events(pipeline: pipeline.id)) == Set(events), "nothing lost")
            let offsets = try await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic)
            #expect(offsets.values.reduce(0, +) == Int64(events.count), "stored offsets cover every message")
            #expect(try await store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules)
                == BatchCount(events: events, rules: pipeline.rules).buckets, "presence contributions match the batch count")
        }
    }

    /// The integration tests' settings, without the idle stop: an outage looks idle to a
    /// consumer, and these runs must end because the work is done, not because it stalled.
    static func configuration(_ pipeline: Pipeline, _ cluster: KafkaDevCluster, batch: Int) -> WorkerConfiguration {
        var configuration = Support.configuration(pipeline, cluster, batch: batch)
        configuration.stopWhenIdleFor = nil
        return configuration
    }

    /// Runs the worker, performs `outage` while it works, waits until it has processed
    /// `expected` messages (or fails after two minutes, saying where it got stuck), then
    /// lets it linger a moment, so that a message processed twice would show, and stops it.
    ///
    /// A worker stuck on a batch it cannot store would never finish a graceful shutdown:
    /// after 20 s the group cancels it, so the test fails instead of hanging.
    static func runUntilProcessed(
        _ worker: Worker, expected: Int, store: EventStore? = nil, outage: @Sendable () async throws -> Void
    ) async throws {
        try await runUntil(
            worker, reaches: expected, progress: { Support.processed(worker.statistics.snapshot) }, store: store, outage: outage)
    }

    /// `runUntilProcessed`, done when `progress` reaches `expected`.
    static func runUntil(
        _ worker: Worker, reaches expected: Int, progress: @Sendable () async -> Int, store: EventStore? = nil,
        outage: @Sendable () async throws -> Void
    ) async throws {
        var configuration = ServiceGroupConfiguration(services: [.init(service: worker)], logger: Support.logger)
        configuration.maximumGracefulShutdownDuration = .seconds(20)
        let group = ServiceGroup(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await outage()
                let deadline = ContinuousClock.now + .seconds(120)
                while await progress() < expected {
                    guard ContinuousClock.now < deadline else {
                        // Tell a stuck worker from an unreachable store: the same pool answering a
                        // query while the worker makes no progress points at the worker.
                        var reachable = "the store does not answer"
                        if let stored = try? await store?.eventCount(pipeline: "worker-test") {
                            reachable = "the store answers (\(stored) events stored)"
                        }
                        Issue.record("the worker is stuck at \(await progress()) of \(expected) messages after the outage; \(reachable)")
                        break
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                // Not a wait for anything: the window in which a message processed twice would show.
                try await Task.sleep(for: .seconds(2))
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
