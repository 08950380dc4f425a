import Foundation
import HeadcountAdapters
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import HeadcountTestSupport
import Kafka
import Logging
import Testing

@Suite("Canonical adapter: NDJSON → Kafka", .serialized, .timeLimit(.minutes(2)))
struct CanonicalPublisherTests {
    static func lines(_ events: [Event], badAt badLine: Int? = nil) -> String {
        var lines = events.map(CanonicalEvent.encode)
        if let badLine { lines.insert("{\"id\": \"broken\", ", at: badLine - 1) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-\(UUID().uuidString).ndjson").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Publishes the file, then reads back every message on the topic.
    static func publishAndRead(
        _ path: String, skipInvalid: Bool
    ) async throws -> (Result<CanonicalPublisher.Summary, any Error>, [KafkaConsumerMessage]) {
        let logger = WorkerIntegrationTests.logger
        let cluster = try KafkaDevCluster(brokerCount: 1, logger: logger)
        // The mock cluster lives as long as its object: keep it until the end of the test.
        defer { withExtendedLifetime(cluster) {} }
        let pipeline = try WorkerIntegrationTests.pipeline(topic: "publish-test", partitions: 2)
        try await cluster.createTopic(pipeline.kafka.topic, partitions: 2)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let result = await withThrowingTaskGroup(of: Void.self) { group -> Result<CanonicalPublisher.Summary, any Error> in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            do {
                var reader = try LineReader(path: path)
                return .success(try await CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger)
                    .publish(lines: &reader, skipInvalid: skipInvalid))
            } catch {
                return .failure(error)
            }
        }
        let messages = try await KafkaTopicReader.messages(
            bootstrapServers: cluster.bootstrapServers, topic: pipeline.kafka.topic, partitions: 2, logger: logger)
        return (result, messages)
    }

    @Test("a bad line stops the run with its line number; nothing after it is sent")
    func badLineStops() async throws {
        let pipeline = try WorkerIntegrationTests.pipeline(topic: "publish-test")
        let events = Array(WorkerIntegrationTests.events(participants: 3, pipeline: pipeline).prefix(5))
        let path = try Self.file(Self.lines(events, badAt: 3))
        let (result, messages) = try await Self.publishAndRead(path, skipInvalid: false)
        #expect(throws: InputError.self) { try result.get() }
        if case .failure(let error as InputError) = result {
            #expect(error.line == 3)
            #expect(error.source == path)
            #expect(error.message.contains("malformed_json"))
        }
        #expect(messages.count == 2, "the two lines before the bad one were sent and acknowledged, nothing after")
        let keys = Set(messages.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } })
        #expect(keys == Set(events.prefix(2).map(\.participant)), "keyed by participant")
    }

    @Test("--skip-invalid reports bad lines and publishes the rest")
    func skipInvalid() async throws {
        let pipeline = try WorkerIntegrationTests.pipeline(topic: "publish-test")
        let events = Array(WorkerIntegrationTests.events(participants: 3, pipeline: pipeline).prefix(5))
        let path = try Self.file(Self.lines(events, badAt: 3))
        let (result, messages) = try await Self.publishAndRead(path, skipInvalid: true)
        let summary = try result.get()
        #expect(summary.published == 5)
        #expect(summary.skipped.map(\.line) == [3])
        #expect(messages.count == 5)
        let decoded = try messages.map { try CanonicalEvent.decode($0.value) }
        #expect(Set(decoded) == Set(events))
    }
}
