import Foundation
import HeadcountAdapters
import HeadcountCore
import HeadcountIngest
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Ingest routes without sockets (HummingbirdTesting)")
struct IngestRouterTests {
    @Test("every route accepts its platform's delivery and produces its events")
    func everyRoute() async throws {
        let sink = RecordingSink()
        let app = try IngestHarness.service(sink: sink).application(configuration: .init())
        try await app.test(.router) { client in
            for (path, request) in IngestHarness.validDeliveries {
                let answer = try await client.post(path, request)
                #expect(answer.status == 200, "\(path): \(answer.body)")
                #expect(answer.body == "{\"accepted\":1}", "\(path)")
            }
        }
        #expect(sink.events.count == IngestHarness.validDeliveries.count)
        #expect(Set(sink.events.map(\.source)) == ["lms", "zoom", "webex", "bbb", "jitsi", "cloudevents"])
    }

    @Test("refusals: 401, 400, 422, 404, 413 as JSON naming where; nothing produced")
    func refusals() async throws {
        let sink = RecordingSink()
        let app = try IngestHarness.service(sink: sink).application(configuration: .init())
        let base = "/v1/pipelines/\(Fixtures.pipelineID)/"
        try await app.test(.router) { client in
            var unsigned = Fixtures.zoomRequest(Fixtures.zoomBody())
            unsigned.headers.removeAll { $0.name == "x-zm-signature" }
            let unauthorized = try await client.post(base + "zoom", unsigned)
            #expect(unauthorized.status == 401)
            #expect(unauthorized.body == #"{"error":"missing signature","where":"header x-zm-signature"}"#)
            #expect(try await client.post(base + "events", Fixtures.bearer(.canonical, "{oops")).status == 400)
            let unprocessable = try await client.post(base + "events", Fixtures.bearer(.canonical, #"{"id":"x"}"#))
            #expect(unprocessable.status == 422)
            #expect(unprocessable.body.contains(#""where":"line 1""#))
            let unknown = try await client.post("/v1/pipelines/nope/zoom", Fixtures.zoomRequest(Fixtures.zoomBody()))
            #expect(unknown.status == 404)
            #expect(unknown.body.contains(#""where":"path""#))
            let noRoute = try await client.execute(uri: "/v2/anything", method: .get) { $0 }
            #expect(noRoute.status == .notFound)
            #expect(String(buffer: noRoute.body).hasPrefix("{\"error\""))
            let huge = Fixtures.bearer(.canonical, String(repeating: " ", count: (1 << 20) + 1))
            #expect(try await client.post(base + "events", huge).status == 413)
        }
        #expect(sink.events.isEmpty)
    }

    @Test("Kafka unavailable: 503 with Retry-After, and /health/ready says so")
    func unavailable() async throws {
        let sink = RecordingSink()
        let readiness = BrokerReadiness(logger: Fixtures.logger) { true }
        readiness.record(reachable: true)
        let app = try IngestHarness.service(sink: sink, readiness: readiness).application(configuration: .init())
        try await app.test(.router) { client in
            #expect(try await client.execute(uri: "/health/ready", method: .get) { $0.status } == .ok)
            sink.fail(true)
            let refused = try await client.post("/v1/pipelines/\(Fixtures.pipelineID)/zoom", Fixtures.zoomRequest(Fixtures.zoomBody()))
            #expect(refused.status == 503)
            #expect(refused.headers[.retryAfter] == "2")
            #expect(refused.body.contains(#""where":"kafka""#))
            let ready = try await client.execute(uri: "/health/ready", method: .get) { $0 }
            #expect(ready.status == .serviceUnavailable, "a failed produce makes the service unready at once")
            #expect(try await client.execute(uri: "/health/live", method: .get) { $0.status } == .ok)
            sink.fail(false)
            await readiness.probeNow()
            #expect(try await client.post("/v1/pipelines/\(Fixtures.pipelineID)/zoom", Fixtures.zoomRequest(Fixtures.zoomBody())).status == 200)
        }
        #expect(sink.events.count == 1)
    }

    @Test("a retry of an acknowledged delivery is answered 200 without producing again")
    func retryNotProducedTwice() async throws {
        let sink = RecordingSink()
        let app = try IngestHarness.service(sink: sink).application(configuration: .init())
        try await app.test(.router) { client in
            for _ in 0..<3 {
                let answer = try await client.post("/v1/pipelines/\(Fixtures.pipelineID)/zoom", Fixtures.zoomRequest(Fixtures.zoomBody()))
                #expect(answer.status == 200)
            }
        }
        #expect(sink.events.count == 1)
    }

    @Test("the Zoom URL validation handshake over the route")
    func zoomHandshake() async throws {
        let app = try IngestHarness.service(sink: RecordingSink()).application(configuration: .init())
        let body = #"{"payload":{"plainToken":"abc"},"event":"endpoint.url_validation"}"#
        try await app.test(.router) { client in
            let answer = try await client.post("/v1/pipelines/\(Fixtures.pipelineID)/zoom", Fixtures.zoomRequest(body))
            #expect(answer.status == 200)
            #expect(answer.body.hasPrefix(#"{"plainToken":"abc","encryptedToken":""#))
        }
    }
}
