import Crypto
import Foundation
import HeadcountAdapters
import HeadcountIngest
import Hummingbird
import HummingbirdTesting
import PropertyBased
import Testing

@Suite("Ingest routes under random and truncated bodies")
struct IngestFuzzTests {
    /// The delivery of route `index` with `body` in place of its own, signed as the platform
    /// would sign it, so the bytes get past authentication into the parsers.
    static func signed(_ index: Int, body: [UInt8]) -> WebhookRequest {
        var request = IngestHarness.validDeliveries[index].request
        request.body = body
        let path = IngestHarness.validDeliveries[index].path
        if path.hasSuffix("/zoom") {
            let timestamp = request.header("x-zm-request-timestamp")!
            let code = HMAC<SHA256>.authenticationCode(
                for: Array("v0:\(timestamp):".utf8) + body, using: SymmetricKey(data: Fixtures.secrets[.zoom]!))
            request.headers = request.headers.map { $0.name == "x-zm-signature" ? ($0.name, "v0=" + Fixtures.hex(code)) : $0 }
        } else if path.hasSuffix("/webex") {
            let code = HMAC<Insecure.SHA1>.authenticationCode(for: body, using: SymmetricKey(data: Fixtures.secrets[.webex]!))
            request.headers = [("X-Spark-Signature", Fixtures.hex(code))]
        } else if path.hasSuffix("/bbb") {
            request.query["checksum"] = Fixtures.hex(Insecure.SHA1.hash(data: Array(Fixtures.callbackURL.utf8) + body + Fixtures.secrets[.bbb]!))
        }
        return request
    }

    /// A valid body cut short, a valid body with one byte changed, or random bytes.
    static func body(route: Int, mode: Int, position: Int, noise: [UInt8]) -> [UInt8] {
        let valid = IngestHarness.validDeliveries[route].request.body
        switch mode {
        case 0: return Array(valid.prefix(position % (valid.count + 1)))
        case 1:
            var mutated = valid
            mutated[position % valid.count] = noise.first ?? 0
            return mutated
        default: return noise
        }
    }

    @Test("never a crash, never a 5xx, never an event from a refused request", .timeLimit(.minutes(3)))
    func fuzzEveryRoute() async throws {
        let sink = RecordingSink()
        let app = try IngestHarness.service(sink: sink).application(configuration: .init())
        let routes = IngestHarness.validDeliveries.count
        try await app.test(.router) { client in
            await propertyCheck(
                count: 400, input: Gen.int(in: 0...(routes - 1)), Gen.int(in: 0...2), Gen.int(in: 0...100_000), Gen.uint8().array(of: 0...80)
            ) { route, mode, position, noise in
                let bytes = Self.body(route: route, mode: mode, position: position, noise: noise)
                let before = sink.events.count
                let request = Self.signed(route, body: bytes)
                do {
                    let answer = try await client.post(IngestHarness.validDeliveries[route].path, request)
                    #expect([200, 400, 401, 404, 413, 422].contains(answer.status), "\(answer.status) \(answer.body)")
                    #expect(answer.body.hasPrefix("{"), "every answer is JSON")
                    if answer.status != 200 { #expect(sink.events.count == before, "a refused request produced events") }
                } catch {
                    Issue.record("request failed: \(error)")
                }
            }
        }
    }
}
