import Foundation
import HeadcountCore
import HeadcountTestSupport
import Testing

/// `headcount publish` against brokers that are not there: one line, non-zero, within --timeout.
@Suite("publish: unreachable brokers fail fast", .serialized, .timeLimit(.minutes(2)))
struct PublishFailFastTests {
    typealias Support = ReporterSupport

    @Test("a closed loopback port: one line naming the brokers, exit non-zero, before the deadline; nothing after it")
    func unreachableBrokers() async throws {
        let port = try ClosedPort.find()
        let files = try Support.files(topic: "publish-fail-fast")
        let folder = (files.pipeline as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let events = folder + "/events.ndjson"
        let pipeline = try Support.pipeline(topic: "publish-fail-fast")
        let lines = Support.simulated(pipeline, participants: 5).prefix(20).map { CanonicalEvent.encode($0) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: events, atomically: true, encoding: .utf8)

        let publish = try HeadcountProcess(
            ["publish", "--pipeline", files.pipeline, "--brokers", "127.0.0.1:\(port)", "--timeout", "3", events],
            capturingStandardError: true)
        // The bound the test waits for is the test's own, far above --timeout: no wall-clock assertion.
        let result = try await publish.wait(timeout: .seconds(60))
        #expect(result.status != 0)
        #expect(!result.output.contains("published"))
        let errors = publish.standardError.split(separator: "\n").filter { !$0.isEmpty }
        #expect(errors.count == 1, "one line, not librdkafka's retries: \(errors.prefix(10))")
        #expect(errors.first?.contains("the Kafka brokers at 127.0.0.1:\(port) did not answer within 3") == true, "\(errors)")
    }
}
