import HeadcountAdapters
import HeadcountClient
import HeadcountCore
import HeadcountIngest
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("HeadcountClient against the ingest service over HTTP", .timeLimit(.minutes(1)))
struct HeadcountClientTests {
    @Test("pseudonymised and validated locally, retried on 503 until acknowledged")
    func publishesWithRetries() async throws {
        let sink = RecordingSink()
        let readiness = BrokerReadiness(interval: .milliseconds(20), logger: Fixtures.logger) { true }
        let app = try IngestHarness.service(sink: sink, readiness: readiness).application(
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await readiness.run() }
            defer { group.cancelAll() }
            try await app.test(.live) { client in
                try await waitFor("readiness") { readiness.isReady }
                var headcount = HeadcountClient(
                    baseURL: "http://127.0.0.1:\(client.port!)", pipeline: try Fixtures.pipeline(), token: "canonical-token",
                    pseudonymKey: Fixtures.pseudonymKey)
                headcount.maximumBackoff = .milliseconds(50)
                let event = try headcount.event(type: .join, identity: " Ana.Teacher@School.id", session: "tab-1",
                                                at: Instant(rfc3339: "2025-09-20T02:10:00Z")!, source: "lms")
                #expect(event.participant == Fixtures.participant("ana.teacher@school.id"))
                sink.failNext(2)
                #expect(try await headcount.publish([event]) == 1)
                #expect(sink.events == [event])

                #expect(throws: HeadcountClientError.self) {
                    try headcount.event(type: .join, identity: "ana@school.id", session: "s", at: Instant(rfc3339: "2025-01-01T00:00:00Z")!, source: "lms")
                }
                let wrongToken = HeadcountClient(
                    baseURL: "http://127.0.0.1:\(client.port!)", pipeline: try Fixtures.pipeline(), token: "nope", pseudonymKey: Fixtures.pseudonymKey)
                await #expect(throws: HeadcountClientError(status: 401, error: "wrong bearer token", where: "header Authorization")) {
                    try await wrongToken.publish([event])
                }
            }
        }
    }
}
