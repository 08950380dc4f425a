import Foundation
import HTTPTypes
import HeadcountAdapters
import HeadcountCore
import HeadcountIngest
import HeadcountPipeline
import Hummingbird
import HummingbirdTesting
import Synchronization

/// A sink that records what it was given, or fails while `failing` is set.
final class RecordingSink: IngestSink {
    struct Unavailable: Error {}
    private let state = Mutex<(events: [Event], failing: Bool, failures: Int)>(([], false, 0))

    var events: [Event] { state.withLock { $0.events } }
    func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }
    /// Fails the next `count` produces, then succeeds.
    func failNext(_ count: Int) { state.withLock { $0.failures = count } }

    func produce(_ events: [Event], for pipeline: Pipeline) async throws {
        try state.withLock { state in
            guard !state.failing else { throw Unavailable() }
            if state.failures > 0 {
                state.failures -= 1
                throw Unavailable()
            }
            state.events += events
        }
    }
}

enum IngestHarness {
    static func service(sink: any IngestSink, ready: Bool = true, readiness: BrokerReadiness? = nil, topic: String = "headcount.ingest-test.events") throws -> IngestService {
        let pipeline = try Fixtures.pipeline(topic: topic)
        let served = try IngestPipeline(pipeline: pipeline, environment: Fixtures.environment)
        let probe = readiness ?? BrokerReadiness(logger: Fixtures.logger) { ready }
        if readiness == nil { probe.record(reachable: ready) }
        return IngestService(pipelines: [served], sink: sink, readiness: probe, clock: { Fixtures.now }, logger: Fixtures.logger)
    }

    static func headers(_ request: WebhookRequest) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in request.headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    static func query(_ request: WebhookRequest) -> String {
        guard !request.query.isEmpty else { return "" }
        return "?" + request.query.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
    }

    /// Every route with a valid delivery: path and request.
    static var validDeliveries: [(path: String, request: WebhookRequest)] {
        let base = "/v1/pipelines/\(Fixtures.pipelineID)/"
        return [
            (base + "events", Fixtures.bearer(.canonical, Fixtures.canonicalEvent())),
            (base + "zoom", Fixtures.zoomRequest(Fixtures.zoomBody())),
            (base + "webex", Fixtures.webexRequest(Fixtures.webexBody())),
            (base + "bbb", Fixtures.bbbRequest(events: Fixtures.bbbEvents())),
            (base + "jitsi/events/occupant/joined", Fixtures.bearer(.jitsi, Fixtures.jitsiBody())),
            (base + "jitsi/events/occupant/left", Fixtures.bearer(.jitsi, Fixtures.jitsiBody(left: true))),
            (base + "cloudevents", Fixtures.bearer(.cloudevents, Fixtures.cloudEvent(), contentType: "application/cloudevents+json")),
        ]
    }
}

extension TestClientProtocol {
    /// POSTs a delivery; returns status, body text and headers.
    func post(_ path: String, _ request: WebhookRequest) async throws -> (status: Int, body: String, headers: HTTPFields) {
        try await execute(
            uri: path + IngestHarness.query(request), method: .post, headers: IngestHarness.headers(request),
            body: ByteBuffer(bytes: request.body)
        ) { response in (Int(response.status.code), String(buffer: response.body), response.headers) }
    }
}
