import Foundation
import HeadcountAdapters
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import HeadcountSimulation
import HeadcountStore
import HeadcountTestSupport
import HeadcountWorker
import Kafka
import Logging
import ServiceLifecycle
import Testing

/// Kafka (librdkafka's development cluster, real TCP) → workers → PostgreSQL (real server).
@Suite("Worker: Kafka consumer group into PostgreSQL", .serialized, .timeLimit(.minutes(5)))
struct WorkerIntegrationTests {
    static let logger: Logger = {
        var logger = Logger(label: "test.worker")
        // WORKER_TEST_LOG_LEVEL=info shows rebalances and partition starts.
        logger.logLevel = ProcessInfo.processInfo.environment["WORKER_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }()

    static func pipeline(topic: String, partitions: Int = 6) throws -> Pipeline {
        try Pipeline.parse(yaml: """
            id: worker-test
            window:
              start: 2025-09-20T09:00:00+07:00
              end: 2025-09-20T11:00:00+07:00
            kafka:
              topic: \(topic)
              partitions: \(partitions)
            """, file: "worker-test.yaml")
    }

    /// Joins and leaves for `participants` people, every 5th join sent twice (a retried webhook).
    static func events(participants: Int, pipeline: Pipeline) -> [Event] {
        var events: [Event] = []
        let start = pipeline.rules.windowStart.milliseconds
        for person in 0..<participants {
            let join = Event(id: "j\(person)", pipeline: pipeline.id, type: .join, participant: "teacher-\(person)",
                             session: "s\(person)", at: Instant(milliseconds: start + Int64(person % 600) * 1000), source: "test")
            var leave = join
            leave.id = "l\(person)"
            leave.type = .leave
            leave.at = Instant(milliseconds: join.at.milliseconds + 3_600_000)
            events.append(join)
            events.append(leave)
            if person % 5 == 0 { events.append(join) }
        }
        return events
    }

    static func publish(_ events: [Event], pipeline: Pipeline, cluster: KafkaDevCluster) async throws {
        try await withPublisher(pipeline: pipeline, cluster: cluster) { publisher in
            let published = try await publisher.publish(events)
            #expect(published == events.count)
        }
    }

    /// Runs `body` with a publisher whose producer serves deliveries meanwhile.
    static func withPublisher(
        pipeline: Pipeline, cluster: KafkaDevCluster, _ body: (CanonicalPublisher) async throws -> Void
    ) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            try await body(CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger))
        }
    }

    static func configuration(_ pipeline: Pipeline, _ cluster: KafkaDevCluster, batch: Int = 250) -> WorkerConfiguration {
        var configuration = WorkerConfiguration(pipeline: pipeline, bootstrapServers: cluster.bootstrapServers)
        configuration.maximumBatchSize = batch
        configuration.pollTimeout = .milliseconds(100)
        configuration.stopWhenIdleFor = .seconds(8)
        configuration.sessionTimeout = .seconds(6)
        return configuration
    }

    /// Every message was processed in exactly one committed batch: nothing lost, nothing twice.
    static func processed(_ totals: WorkerStatistics.Totals) -> Int {
        totals.inserted + totals.duplicates + totals.conflictingDuplicates + totals.deadLetters + totals.rejected
    }

    @Test("two consumers in one group across a rebalance store every event exactly once")
    func rebalance() async throws {
        try await TestDatabase.withStore { store, _ in
            let cluster = try KafkaDevCluster(brokerCount: 3, logger: Self.logger)
            // The mock cluster lives as long as its object: keep it until the end of the test.
            defer { withExtendedLifetime(cluster) {} }
            let pipeline = try Self.pipeline(topic: "rebalance-test")
            try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
            let events = Self.events(participants: 4_000, pipeline: pipeline)
            let half = events.count / 2
            try await Self.publish(Array(events[..<half]), pipeline: pipeline, cluster: cluster)

            // The first may finish the first half before the join's two rounds (5 s each on the
            // dev cluster) are over: it must still be there to share the topic.
            var patient = Self.configuration(pipeline, cluster)
            patient.stopWhenIdleFor = .seconds(20)
            let first = Worker(configuration: patient, store: store, logger: Self.logger)
            let second = Worker(configuration: Self.configuration(pipeline, cluster), store: store, logger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await first.run() }
                try await waitUntil("the first worker to store 3 batches") { first.statistics.snapshot.batches >= 3 }
                // The second member joins mid-stream: partitions move from the first to it,
                // each starting where the store says, while the first goes on.
                group.addTask { try await second.run() }
                try await waitUntil("both workers to share every partition") {
                    !second.ownedPartitions.isEmpty && !first.ownedPartitions.isEmpty
                        && first.ownedPartitions.count + second.ownedPartitions.count == pipeline.kafka.partitions
                }
                #expect(first.ownedPartitions.isDisjoint(with: second.ownedPartitions))
                try await Self.publish(Array(events[half...]), pipeline: pipeline, cluster: cluster)
                try await group.waitForAll()
            }
            let a = first.statistics.snapshot, b = second.statistics.snapshot
            #expect(a.batches > 0 && b.batches > 0, "both members of the group stored batches")
            #expect(Self.processed(a) + Self.processed(b) == events.count, "every message processed exactly once")
            #expect(try await store.eventCount(pipeline: pipeline.id) == Set(events.map(\.id)).count)
            #expect(Set(try await store.events(pipeline: pipeline.id)) == Set(events))
            let offsets = try await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic)
            #expect(offsets.values.reduce(0, +) == Int64(events.count), "stored offsets cover every message")
            #expect(try await store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules)
                == BatchCount(events: events, rules: pipeline.rules).buckets,
                "the presence contributions of both members sum to the batch count, across the rebalance")
        }
    }

    @Test("a worker stopped mid-stream and restarted resumes from the offsets stored in PostgreSQL")
    func restart() async throws {
        try await TestDatabase.withStore { store, _ in
            let cluster = try KafkaDevCluster(brokerCount: 3, logger: Self.logger)
            // The mock cluster lives as long as its object: keep it until the end of the test.
            defer { withExtendedLifetime(cluster) {} }
            let pipeline = try Self.pipeline(topic: "restart-test", partitions: 4)
            try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
            let events = Self.events(participants: 3_000, pipeline: pipeline)
            try await Self.publish(events, pipeline: pipeline, cluster: cluster)

            var configuration = Self.configuration(pipeline, cluster, batch: 100)
            configuration.stopWhenIdleFor = nil
            let first = Worker(configuration: configuration, store: store, logger: Self.logger)
            let group = ServiceGroup(services: [first], logger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await waitUntil("the worker to store 5 batches") { first.statistics.snapshot.batches >= 5 }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let stoppedAt = try await store.eventCount(pipeline: pipeline.id)
            #expect(stoppedAt > 0 && stoppedAt < Set(events.map(\.id)).count, "stopped mid-stream")

            let second = Worker(configuration: Self.configuration(pipeline, cluster), store: store, logger: Self.logger)
            try await second.run()
            #expect(Self.processed(first.statistics.snapshot) + Self.processed(second.statistics.snapshot) == events.count,
                    "the restarted worker re-read nothing that was stored")
            #expect(Set(try await store.events(pipeline: pipeline.id)) == Set(events))
            #expect(try await store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules)
                == BatchCount(events: events, rules: pipeline.rules).buckets, "the restarted worker rebuilt its presence exactly")
        }
    }

    @Test("poison messages are dead-lettered with a reason and the partition keeps moving")
    func poison() async throws {
        try await TestDatabase.withStore { store, _ in
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: Self.logger)
            // The mock cluster lives as long as its object: keep it until the end of the test.
            defer { withExtendedLifetime(cluster) {} }
            let pipeline = try Self.pipeline(topic: "poison-test", partitions: 1)
            try await cluster.createTopic(pipeline.kafka.topic, partitions: 1)
            let good = Self.events(participants: 2, pipeline: pipeline)
            var otherPipeline = good[0]
            otherPipeline.id = "x1"
            otherPipeline.pipeline = "someone-else"
            var ancient = good[0]
            ancient.id = "x2"
            ancient.at = Instant(milliseconds: 0)
            let raw: [[UInt8]] = [
                Array("not json".utf8), Array("{\"id\":1}".utf8), Array(CanonicalEvent.encode(otherPipeline).utf8),
                Array(CanonicalEvent.encode(ancient).utf8),
            ] + good.map { Array(CanonicalEvent.encode($0).utf8) }
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await producer.run() }
                defer { group.cancelAll() }
                _ = try await producer.sendAll(raw.map { KafkaProducerMessage(topic: pipeline.kafka.topic, key: [UInt8]?.none, value: $0) })
            }
            let worker = Worker(configuration: Self.configuration(pipeline, cluster), store: store, logger: Self.logger)
            try await worker.run()
            #expect(try await store.deadLettersByReason(pipeline: pipeline.id) == [
                "malformed_json": 1, "wrong_schema": 1, "unknown_pipeline": 1, "impossible_timestamp": 1,
            ])
            #expect(try await store.eventCount(pipeline: pipeline.id) == Set(good.map(\.id)).count)
        }
    }
}

@Suite("Worker: presence and contributions", .serialized, .timeLimit(.minutes(5)))
struct WorkerPresenceTests {
    typealias Support = WorkerIntegrationTests

    @Test("simulated teachers in shuffled arrival: the summed contributions equal the batch count, bucket for bucket")
    func simulatedWebinar() async throws {
        try await TestDatabase.withStore { store, _ in
            let cluster = try KafkaDevCluster(brokerCount: 3, logger: Support.logger)
            defer { withExtendedLifetime(cluster) {} }
            var pipeline = try Support.pipeline(topic: "presence-test", partitions: 6)
            pipeline.rules = try CountingRules(
                windowStart: pipeline.rules.windowStart, windowEnd: pipeline.rules.windowEnd,
                minimumPresence: .seconds(1800), heartbeatTimeout: .seconds(90))
            try await cluster.createTopic(pipeline.kafka.topic, partitions: 6)
            let events = AttendeeSimulator(rules: pipeline.rules, pipelineID: pipeline.id, participants: 1_500, seed: 7).events()
            try await Support.publish(events, pipeline: pipeline, cluster: cluster)
            var configuration = Support.configuration(pipeline, cluster, batch: 700)
            configuration.concurrency = 2
            let worker = Worker(configuration: configuration, store: store, logger: Support.logger)
            try await worker.run()
            let batch = BatchCount(events: events, rules: pipeline.rules)
            #expect(try await store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules) == batch.buckets)
            #expect(batch.outcome.qualified > 0 && batch.outcome.peak > 0)
            let presence = try await store.presenceRows(pipeline: pipeline.id)
            #expect(presence.count == batch.participants.filter { !batch.presence(of: $0).isEmpty }.count)
        }
    }
}
