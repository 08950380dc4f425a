import Foundation
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import HeadcountTestSupport
import Kafka
import Testing

/// The v2 watermark with real services: the reporter asks the dev cluster what it holds.
@Suite("Reporter: the watermark waits for what Kafka holds", .serialized, .timeLimit(.minutes(5)))
struct ReporterWatermarkTests {
    typealias Support = ReporterSupport

    @Test("events in Kafka that no worker stored hold sealing, however idle; the dashboard's reason counts them; stored, they seal")
    func unstoredMessagesHoldSealing() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-holds")
            let events = Support.simulated(pipeline, participants: 60, seed: 21)
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: Support.logger)
            defer { withExtendedLifetime(cluster) {} }
            try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
            try await Support.publish(events, pipeline: pipeline, cluster: cluster)

            // Far past the window: v1 sealed everything at once here, every partition "idle".
            let clock = TestClock()
            clock.set(pipeline.rules.windowEnd + .seconds(3600))
            let early = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url, cluster: cluster)
            try await Support.runReporters([early]) { early.status.rounds >= 3 }
            #expect(early.status.sealedBuckets == 0)
            #expect(early.status.watermark == nil)
            let holding = early.status.holding
            #expect(holding.count == pipeline.kafka.partitions)
            let unstored = holding.compactMap { bound -> Int64? in
                if case .behind(let messages) = bound.state { messages } else { nil }
            }
            #expect(unstored.reduce(0, +) == Int64(events.count), "every published message counted as not stored yet")
            let status = try await store.pipelineStatus(pipeline: pipeline.id, includingTotals: false)
            #expect(status.watermark?.watermark == nil)
            #expect(status.watermark?.holding.count == pipeline.kafka.partitions)
            #expect(status.watermark?.holding.allSatisfy { $0.contains("messages not stored yet; no event time yet: holds sealing") } == true)

            try await Support.work(pipeline, cluster: cluster, store: store)
            try await Support.makePartitionsIdle(url)
            let sealer = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url, cluster: cluster)
            try await Support.runReporters([sealer]) { sealer.status.sealedBuckets == pipeline.rules.bucketCount }
            #expect(sealer.status.holding.isEmpty)
            let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
            #expect(snapshots.map(\.numbers) == BatchCount(events: events, rules: pipeline.rules).buckets)
        }
    }

    @Test("a restarted reporter never goes below the stored watermark, even with its clock set back")
    func watermarkSurvivesRestarts() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-restart")
            let clock = TestClock()
            // Bucket 9 seals once the watermark reaches E_9 + S (its sustained_peak looks S past it).
            let reached = pipeline.rules.bucketEnd(9) + pipeline.rules.sustainedPeak
            clock.set(reached + pipeline.rules.allowedLateness)
            let first = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url)
            try await Support.runReporters([first]) { first.status.watermark == reached && first.status.rounds >= 3 }
            let sealed = first.status.sealedBuckets
            #expect(sealed > 0)

            // The next reporter's clock is an hour behind (a wrong NTP, another host).
            clock.set(reached - .seconds(3600))
            let second = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url)
            try await Support.runReporters([second]) { second.status.rounds >= 3 }
            #expect(second.status.watermark == reached)
            #expect(second.status.sealedBuckets == sealed)
            #expect(try await store.pipelineStatus(pipeline: pipeline.id, includingTotals: false).watermark?.watermark == reached)
            // The database refuses to lower it behind the reporter's back, too.
            await #expect(throws: (any Error).self) {
                try await Support.sql(url, "UPDATE headcount.watermarks SET watermark = watermark - interval '1 minute'")
            }
        }
    }

    @Test("with the brokers unreachable, the source says so within its timeout, naming them")
    func unreachableBrokers() async throws {
        let pipeline = try Support.pipeline(topic: "reporter-unreachable")
        let port = try ClosedPort.find()
        let source = try KafkaHighWatermarkSource(
            configuration: KafkaAdminConfiguration(bootstrapServers: "127.0.0.1:\(port)"), topic: pipeline.kafka.topic,
            timeout: .seconds(2), logger: Support.logger)
        guard case .unavailable(let reason) = await source.highWatermarks() else {
            Issue.record("a closed port answered")
            return
        }
        #expect(reason.contains("127.0.0.1:\(port)"))
    }

    @Test("the admin client lists every partition with its high watermark, without joining a group")
    func highWatermarksFromTheCluster() async throws {
        let cluster = try KafkaDevCluster(brokerCount: 2, logger: Support.logger)
        try await cluster.createTopic("watermarks", partitions: 3)
        let pipeline = try Support.pipeline(topic: "watermarks", partitions: 3)
        let events = Support.simulated(pipeline, participants: 20, seed: 2)
        try await Support.publish(events, pipeline: pipeline, cluster: cluster)
        let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(bootstrapServers: cluster.bootstrapServers), logger: Support.logger)
        let answer = try await admin.highWatermarks(of: "watermarks")
        #expect(answer.partitions.keys.sorted() == [0, 1, 2])
        #expect(answer.unanswered.isEmpty)
        #expect(answer.partitions.values.map(\.high).reduce(0, +) == Int64(events.count))
        #expect(answer.partitions.values.allSatisfy { $0.low == 0 })
    }
}

/// A loopback port nothing listens on (HeadcountTestSupport's).
enum ClosedPort {
    static func find() throws -> Int { try closedLoopbackPort() }
}
