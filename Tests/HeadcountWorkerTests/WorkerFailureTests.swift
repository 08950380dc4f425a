import HeadcountAdapters
import HeadcountCore
import HeadcountPipeline
import HeadcountStore
import HeadcountTestSupport
import HeadcountWorker
import Kafka
import Logging
import Testing

/// What the worker does when the data or the log itself is bad.
@Suite("Worker: rejected batches and retention gaps", .serialized, .timeLimit(.minutes(5)))
struct WorkerFailureTests {
    typealias Support = WorkerIntegrationTests

    @Test("a batch PostgreSQL rejects is split; the offending event is dead-lettered and the rest stored")
    func rejectedBatchIsIsolated() async throws {
        try await TestDatabase.withStore { store, _ in
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: Support.logger)
            defer { withExtendedLifetime(cluster) {} }
            let pipeline = try Support.pipeline(topic: "reject-test", partitions: 1)
            try await cluster.createTopic(pipeline.kafka.topic, partitions: 1)
            var events = Support.events(participants: 150, pipeline: pipeline)
            // Valid JSON and a valid event, but PostgreSQL text cannot hold a NUL character.
            var poisoned = events[7]
            poisoned.id = "nul"
            poisoned.participant = "teacher-\u{0}-7"
            events.insert(poisoned, at: 100)
            try await Support.publish(events, pipeline: pipeline, cluster: cluster)

            let worker = Worker(configuration: Support.configuration(pipeline, cluster, batch: 1_000), store: store, logger: Support.logger)
            try await worker.run()
            let totals = worker.statistics.snapshot
            #expect(totals.rejected == 1)
            #expect(Support.processed(totals) == events.count)
            #expect(try await store.deadLettersByReason(pipeline: pipeline.id) == ["rejected_by_database": 1])
            let good = events.filter { $0.id != "nul" }
            #expect(Set(try await store.events(pipeline: pipeline.id)) == Set(good))
            #expect(try await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic) == [0: Int64(events.count)])
        }
    }

    @Test("a retention gap is recorded, never skipped silently, and the worker continues from the log start")
    func retentionGap() async throws {
        try await TestDatabase.withStore { store, _ in
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: Support.logger)
            defer { withExtendedLifetime(cluster) {} }
            let pipeline = try Support.pipeline(topic: "gap-test", partitions: 1)
            try await cluster.createTopic(pipeline.kafka.topic, partitions: 1)
            // About 20 MB of incompressible text into one partition (the producer compresses
            // with lz4): the development cluster keeps about 5 MB.
            var noise: UInt64 = 0x9E37_79B9_7F4A_7C15
            let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            let events = Support.events(participants: 20_000, pipeline: pipeline).map { event -> Event in
                var padded = event
                padded.source = String((0..<240).map { _ in
                    noise = noise &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return alphabet[Int(noise >> 33) % alphabet.count]
                })
                return padded
            }
            try await Support.publish(events, pipeline: pipeline, cluster: cluster)
            let watermarks = try await Self.watermarks(cluster: cluster, topic: pipeline.kafka.topic)
            #expect(watermarks.low > 0, "the development cluster deleted the oldest messages")

            let worker = Worker(configuration: Support.configuration(pipeline, cluster, batch: 2_000), store: store, logger: Support.logger)
            try await worker.run()
            #expect(try await store.retentionGaps(pipeline: pipeline.id)
                == [RetentionGap(partition: 0, firstMissingOffset: 0, lastMissingOffset: watermarks.low - 1)])
            #expect(Int64(Support.processed(worker.statistics.snapshot)) == watermarks.high - watermarks.low)
            #expect(try await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic) == [0: watermarks.high])
        }
    }

    static func watermarks(cluster: KafkaDevCluster, topic: String) async throws -> KafkaWatermarks {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "watermarks"),
            logger: Support.logger)
        let watermarks = try await consumer.watermarks(for: KafkaTopicPartition(topic: topic, partition: 0))
        await consumer.close()
        return watermarks
    }
}
