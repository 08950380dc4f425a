import Foundation
import HeadcountAdapters
import HeadcountCore
import HeadcountIngest
import HeadcountTestSupport
import Hummingbird
import HummingbirdTesting
import Kafka
import Testing

/// The ingest service against the dev cluster, over real HTTP.
@Suite("Ingest into the dev cluster", .serialized, .timeLimit(.minutes(3)))
struct IngestKafkaTests {
    /// Runs `body` with an ingest application on a real socket, a producer and its readiness
    /// probe running meanwhile; returns what `body` returned.
    static func withIngest<T: Sendable>(
        cluster: KafkaDevCluster, topic: String, messageTimeout: Duration = .seconds(10),
        _ body: @Sendable @escaping (any TestClientProtocol, BrokerReadiness) async throws -> T
    ) async throws -> T {
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.messageTimeout = messageTimeout
        configuration.linger = .milliseconds(1)
        configuration.shutdownFlushTimeout = .seconds(5)
        let producer = try KafkaProducer(configuration: configuration, logger: Fixtures.logger)
        let readiness = BrokerReadiness(producer: producer, interval: .milliseconds(200), logger: Fixtures.logger)
        let service = try IngestHarness.service(
            sink: KafkaIngestSink(producer: producer, logger: Fixtures.logger), readiness: readiness, topic: topic)
        let app = service.application(configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            group.addTask { try await readiness.run() }
            defer { group.cancelAll() }
            return try await app.test(.live) { client in
                try await waitFor("the brokers to be reachable") { readiness.isReady }
                return try await body(client, readiness)
            }
        }
    }

    /// Every message of the topic from the beginning, read until each partition's end.
    static func readTopic(_ cluster: KafkaDevCluster, _ topic: String, partitions: Int = 2) async throws -> [KafkaConsumerMessage] {
        try await KafkaTopicReader.messages(bootstrapServers: cluster.bootstrapServers, topic: topic, partitions: partitions, logger: Fixtures.logger)
    }

    static func topic(_ name: String) -> String { "\(name)-\(UInt32.random(in: 0...UInt32.max))" }

    @Test("every route over HTTP: the events read back from Kafka equal the adapters' field by field; a retry is one event")
    func everyPlatformIntoKafka() async throws {
        let cluster = try KafkaDevCluster(brokerCount: 1, logger: Fixtures.logger)
        defer { withExtendedLifetime(cluster) {} }
        let topic = Self.topic("ingest-all")
        try await cluster.createTopic(topic, partitions: 2)
        let deliveries = IngestHarness.validDeliveries
        try await Self.withIngest(cluster: cluster, topic: topic) { client, _ in
            for (path, request) in deliveries {
                let answer = try await client.post(path, request)
                #expect(answer.status == 200, "\(path): \(answer.body)")
            }
            // Zoom's retry of the first delivery, signed anew.
            let retry = try await client.post(deliveries[1].path, Fixtures.zoomRequest(Fixtures.zoomBody()))
            #expect(retry.status == 200)
        }
        let context = try Fixtures.context()
        var expected: [Event] = []
        for (index, (_, request)) in deliveries.enumerated() {
            let adapter: IngestAdapter = [.canonical, .zoom, .webex, .bbb, .jitsi(.join), .jitsi(.leave), .cloudevents][index]
            expected += try adapter.receive(request, context: context).events
        }
        let messages = try await Self.readTopic(cluster, topic)
        #expect(messages.count == expected.count, "one message per real-world event, the retry included")
        let produced = try messages.map { message -> Event in
            let event = try CanonicalEvent.decode(message.value)
            #expect(message.key.map { String(decoding: $0, as: UTF8.self) } == event.participant, "keyed by participant")
            return event
        }
        for event in expected {
            let match = produced.first { $0.id == event.id }
            #expect(match?.pipeline == event.pipeline)
            #expect(match?.type == event.type)
            #expect(match?.participant == event.participant)
            #expect(match?.session == event.session)
            #expect(match?.at == event.at)
            #expect(match?.source == event.source)
        }
        #expect(!messages.contains { String(decoding: $0.value, as: UTF8.self).lowercased().contains("school.id") }, "no raw e-mail reaches Kafka")
    }

    @Test("brokers stopped during requests: 503 and not ready, then success once back; Kafka holds exactly the accepted events")
    func brokerOutage() async throws {
        let cluster = try KafkaDevCluster(brokerCount: 1, logger: Fixtures.logger)
        defer { withExtendedLifetime(cluster) {} }
        let topic = Self.topic("ingest-outage")
        try await cluster.createTopic(topic, partitions: 2)
        let path = "/v1/pipelines/\(Fixtures.pipelineID)/events"
        @Sendable func delivery(_ id: String) -> WebhookRequest { Fixtures.bearer(.canonical, Fixtures.canonicalEvent(id: id, participant: "p-" + id)) }
        let accepted = try await Self.withIngest(cluster: cluster, topic: topic, messageTimeout: .milliseconds(1500)) { client, readiness in
            var accepted: [String] = []
            #expect(try await client.post(path, delivery("before")).status == 200)
            accepted.append("before")
            try await cluster.setBrokerDown(-1)
            // The first request may find the service still ready: it waits for the produce
            // deadline and is refused; later ones are refused at once.
            let during = try await client.post(path, delivery("during-1"))
            #expect(during.status == 503)
            #expect(during.headers[.retryAfter] != nil)
            try await waitFor("readiness to notice the outage") { !readiness.isReady }
            #expect(try await client.execute(uri: "/health/ready", method: .get) { $0.status } == .serviceUnavailable)
            #expect(try await client.post(path, delivery("during-2")).status == 503)
            try await cluster.setBrokerUp(-1)
            try await waitFor("readiness to come back") { readiness.isReady }
            // The platform retries what was refused.
            #expect(try await client.post(path, delivery("during-1")).status == 200)
            accepted.append("during-1")
            #expect(try await client.post(path, delivery("after")).status == 200)
            accepted.append("after")
            return accepted
        }
        let ids = try await Self.readTopic(cluster, topic).map { try CanonicalEvent.decode($0.value).id }
        #expect(ids.sorted() == accepted.sorted())
    }
}

/// Polls `condition` until it holds, failing with what it waited for after `deadline`.
func waitFor(_ what: String, within deadline: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool) async throws {
    try await waitUntil(what, timeout: deadline, condition)
}
