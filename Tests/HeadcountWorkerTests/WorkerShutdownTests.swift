import HeadcountCore
import HeadcountPipeline
import HeadcountStore
import HeadcountTestSupport
import HeadcountWorker
import Kafka
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// Graceful shutdown and cancellation of a running worker, inside the test process.
@Suite("Worker: graceful shutdown and cancellation", .serialized, .timeLimit(.minutes(5)))
struct WorkerShutdownTests {
    typealias Support = WorkerIntegrationTests

    /// What a worker processed equals what the store holds: every batch it counted is
    /// committed with its offsets, and no batch is half there.
    static func expectConsistent(_ worker: Worker, _ store: EventStore, pipeline: String, topic: String) async throws {
        let offsets = try await store.storedOffsets(pipeline: pipeline, topic: topic)
        #expect(Int(offsets.values.reduce(0, +)) == Support.processed(worker.statistics.snapshot),
                "the stored offsets cover exactly the messages the worker counted")
    }

    /// A fresh store and a dev cluster whose 4-partition topic holds 6,000 participants' events.
    static func withPublishedTopic(
        _ topic: String, _ body: @Sendable (EventStore, Pipeline, KafkaDevCluster, [Event]) async throws -> Void
    ) async throws {
        try await TestDatabase.withStore { store, _ in
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: Support.logger)
            defer { withExtendedLifetime(cluster) {} }
            let pipeline = try Support.pipeline(topic: topic, partitions: 4)
            try await cluster.createTopic(pipeline.kafka.topic, partitions: 4)
            let events = Support.events(participants: 6_000, pipeline: pipeline)
            try await Support.publish(events, pipeline: pipeline, cluster: cluster)
            try await body(store, pipeline, cluster, events)
        }
    }

    @Test("graceful shutdown mid-stream: the batch in flight is committed with its offsets, the group is left, run() returns")
    func gracefulShutdown() async throws {
        try await Self.withPublishedTopic("graceful-test") { store, pipeline, cluster, events in
            var configuration = WorkerOutageTests.configuration(pipeline, cluster, batch: 100)
            configuration.concurrency = 2
            let worker = Worker(configuration: configuration, store: store, logger: Support.logger)
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await worker.run() }
                    try await waitUntil("the worker stores batches", timeout: .seconds(60)) {
                        worker.statistics.snapshot.batches >= 3
                    }
                    trigger.triggerGracefulShutdown()
                    try await waitUntil("run() returns after graceful shutdown", timeout: .seconds(20)) {
                        worker.ownedPartitions.isEmpty && worker.consumersRunning == 0
                    }
                    try await group.waitForAll()
                }
            }
            #expect(Support.processed(worker.statistics.snapshot) < events.count, "stopped mid-stream")
            try await Self.expectConsistent(worker, store, pipeline: pipeline.id, topic: pipeline.kafka.topic)
        }
    }

    @Test("cancellation mid-stream: run() ends promptly and stores nothing half")
    func cancellation() async throws {
        try await Self.withPublishedTopic("cancel-test") { store, pipeline, cluster, _ in
            let worker = Worker(configuration: WorkerOutageTests.configuration(pipeline, cluster, batch: 100), store: store, logger: Support.logger)
            let running = Task { try await worker.run() }
            try await waitUntil("the worker stores batches", timeout: .seconds(60)) { worker.statistics.snapshot.batches >= 3 }
            running.cancel()
            try await waitUntil("run() ends after cancellation", timeout: .seconds(20)) { worker.consumersRunning == 0 }
            _ = await running.result
            // A commit cut short by cancellation rolled back or committed whole: the store agrees with itself.
            let offsets = try await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic)
            let stored = try await store.events(pipeline: pipeline.id)
            #expect(Int(offsets.values.reduce(0, +)) >= Support.processed(worker.statistics.snapshot))
            #expect(Set(stored.map(\.id)).count == stored.count, "nothing stored twice")
        }
    }

    /// When the worker is cancelled: before the group gave it partitions, while they start,
    /// and once everything is stored and it only polls (where a failed wait in StatusTests
    /// cancels it).
    enum Moment: String, CaseIterable, Sendable { case atOnce, whileStarting, whenIdle }

    @Test("cancelled at any moment (at once, while partitions start, idle), every consumer stops and run() returns", arguments: Moment.allCases)
    func cancellationAnyMoment(moment: Moment) async throws {
        try await Self.withPublishedTopic("cancel-\(moment.rawValue)-test") { store, pipeline, cluster, events in
            var configuration = WorkerOutageTests.configuration(pipeline, cluster, batch: 1_000)
            configuration.concurrency = 2
            configuration.pollTimeout = .milliseconds(100)
            let worker = Worker(configuration: configuration, store: store, logger: Support.logger)
            let running = Task { try await worker.run() }
            switch moment {
            case .atOnce: break
            case .whileStarting: try await waitUntil("a partition assigned", timeout: .seconds(60)) { !worker.ownedPartitions.isEmpty }
            case .whenIdle:
                try await waitUntil("every event processed", timeout: .seconds(90)) {
                    Support.processed(worker.statistics.snapshot) == events.count
                }
            }
            running.cancel()
            // Not `await running.result` first: if the worker ignored the cancellation, the
            // test must fail here, not hang (the task is then left behind).
            try await waitUntil("run() ends after cancellation \(moment.rawValue)", timeout: .seconds(20)) { worker.consumersRunning == 0 }
            _ = await running.result
        }
    }
}
