import Foundation
import HeadcountCore
import HeadcountPipeline
import HeadcountTestSupport
import Kafka
import Logging
import Testing

/// `headcount simulate --via PLATFORM` against a real `headcount ingest` and dev cluster (all
/// three real processes): what reaches Kafka is exactly what the simulator says it sent (the
/// adapters' events, after the identity rules), so its expected result is the batch count of
/// the topic.
@Suite("simulate through the platform routes", .serialized, .timeLimit(.minutes(4)))
struct SimulatePlatformsTests {
    static let logger: Logger = {
        var logger = Logger(label: "test.simulate-platforms")
        logger.logLevel = .warning
        return logger
    }()

    static let yaml = """
        id: platforms-test
        title: Platforms test webinar
        window:
          start: 2025-09-20T09:00:00+07:00
          end: 2025-09-20T09:30:00+07:00
        rules:
          minimumPresence: 5m
          heartbeatTimeout: 90s
        kafka:
          topic: platforms-test
          partitions: 3
        ingest:
          pseudonymKeyEnvironment: T_PSEUDONYM_KEY
          canonical: { secretEnvironment: T_CANONICAL }
          zoom: { secretEnvironment: T_ZOOM }
          webex: { secretEnvironment: T_WEBEX }
          bbb:
            secretEnvironment: T_BBB
            callbackURL: https://ingest.example.org/v1/pipelines/platforms-test/bbb
          jitsi: { secretEnvironment: T_JITSI }
          cloudevents: { secretEnvironment: T_CLOUDEVENTS }
        """

    static let secrets = [
        "T_PSEUDONYM_KEY": "cHNldWRvbnltLWtleS1mb3ItdGhlLXRlc3Q=", "T_CANONICAL": "canonical-token", "T_ZOOM": "zoom-secret",
        "T_WEBEX": "webex-secret", "T_BBB": "bbb-secret", "T_JITSI": "jitsi-token", "T_CLOUDEVENTS": "cloudevents-token",
    ]

    @Test("each platform's webhooks reach Kafka as the simulator expects", arguments: ["zoom", "webex", "bbb", "jitsi", "cloudevents", "mix"])
    func platform(_ via: String) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simulate-\(via)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("pipeline.yaml").path
        try Self.yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let pipeline = try Pipeline.load(path: file)
        let bootstrap = folder.appendingPathComponent("bootstrap").path
        let broker = try HeadcountProcess(["dev-broker", "--pipeline", file, "--bootstrap-file", bootstrap, "--log-level", "warning"])
        defer { broker.signal(SIGTERM) }
        var brokers = ""
        try await Eventually.until("the dev cluster's address", timeout: .seconds(30), interval: .milliseconds(100)) {
            brokers = (try? String(contentsOfFile: bootstrap, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return !brokers.isEmpty
        }
        var environment = Self.secrets
        environment["HEADCOUNT_BROKERS"] = brokers
        let ingest = try HeadcountProcess(
            ["ingest", "--pipeline", file, "--listen", "127.0.0.1:0"], environment: environment, capturingStandardError: true)
        defer { ingest.signal(SIGTERM) }
        var port = ""
        try await Eventually.until("ingest listening", timeout: .seconds(30), interval: .milliseconds(100)) {
            guard let range = ingest.standardError.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { return false }
            port = String(ingest.standardError[range].split(separator: ":").last ?? "")
            return !port.isEmpty
        }
        let expectedFile = folder.appendingPathComponent("expected.json").path
        let simulate = try HeadcountProcess(
            ["simulate", "--pipeline", file, "--participants", via == "mix" ? "40" : "12", "--via", via, "--ingest", "http://127.0.0.1:\(port)",
             "--expected", expectedFile, "--clock", "wall"],
            environment: environment, capturingStandardError: true)
        let (status, _) = try await simulate.wait(timeout: .seconds(120))
        #expect(status == 0, "simulate: \(simulate.standardError.suffix(800))")
        let expected = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: expectedFile))) as? [String: Any])

        let messages = try await KafkaTopicReader.messages(
            bootstrapServers: brokers, topic: pipeline.kafka.topic, partitions: pipeline.kafka.partitions, logger: Self.logger)
        let events = try messages.map { try CanonicalEvent.decode($0.value) }
        #expect(Set(events.map(\.id)).count == expected["distinct_events"] as? Int, "every distinct event reached Kafka once at least")
        let count = BatchCount(events: events, rules: pipeline.rules).outcome
        #expect(count.qualified == expected["qualified"] as? Int)
        #expect(count.peak == expected["peak"] as? Int)
        #expect(count.sustainedPeak == expected["sustained_peak"] as? Int)
        #expect(count.qualified > 0)
        // The routes used: the platform's own (its heartbeats through canonical when it has none).
        let sources = Set(events.map(\.source))
        switch via {
        case "mix": #expect(sources.isSuperset(of: ["zoom", "webex", "bbb", "jitsi", "canonical"]), "sources \(sources)")
        case "cloudevents": #expect(sources == ["cloudevents"], "sources \(sources)")
        default: #expect(sources == [via, "canonical"], "sources \(sources)")
        }
        // No raw e-mail address ever reaches Kafka.
        #expect(!messages.contains { String(decoding: $0.value, as: UTF8.self).contains("@teachers.example") })
    }
}
