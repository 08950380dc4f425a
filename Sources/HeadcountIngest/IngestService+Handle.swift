import HeadcountAdapters
import HeadcountCore
import Hummingbird
import NIOCore

extension IngestService {
    /// One delivery: find the pipeline, read the body within its limit, let the adapter
    /// verify and normalise it, produce every event, answer. Never throws: every outcome is
    /// an answer, and only Kafka's absence is a 5xx (503, so the platform retries).
    func handle(_ adapter: IngestAdapter, name route: String, request: Request, context: some RequestContext) async -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let target = pipelines[id] else {
            let refusal = IngestRefusal(.notFound, "no pipeline \"\(id.prefix(100))\" is served here", where: "path")
            metrics.recordRefusal(pipeline: "unknown", route: route, refusal)
            metrics.recordRequest(pipeline: "unknown", route: route, status: refusal.kind.status, events: 0)
            return IngestResponse.refusal(refusal)
        }
        do {
            let accepted = try await accept(adapter, request: request, target: target)
            metrics.recordRequest(pipeline: id, route: route, status: 200, events: accepted.count)
            return accepted.reply
        } catch {
            metrics.recordRefusal(pipeline: id, route: route, error)
            metrics.recordRequest(pipeline: id, route: route, status: error.kind.status, events: 0)
            if error.kind == .unavailable { logger.warning("ingest refused with 503", metadata: ["pipeline": "\(id)", "error": "\(error.error)"]) }
            return IngestResponse.refusal(error)
        }
    }

    private func accept(_ adapter: IngestAdapter, request: Request, target: IngestPipeline) async throws(IngestRefusal) -> Accepted {
        let limit = target.ingest.maximumBodySize
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw IngestRefusal(.tooLarge, "body of \(length) bytes is over the limit of \(limit)", where: "body")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw IngestRefusal(.tooLarge, "body is over the limit of \(limit) bytes", where: "body")
        } catch {
            throw IngestRefusal(.malformed, "the body could not be read", where: "body")
        }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters where query[String(key)] == nil { query[String(key)] = String(value) }
        let delivery = WebhookRequest(
            headers: request.headers.map { ($0.name.rawName, $0.value) }, body: Array(buffer.readableBytesView), query: query)
        let adapterContext = AdapterContext(pipeline: target.pipeline, ingest: target.ingest, credentials: target.credentials, now: clock())
        switch try adapter.receive(delivery, context: adapterContext) {
        case .reply(let status, let json):
            return Accepted(count: 0, reply: IngestResponse.json(status, json))
        case .events(let events) where events.isEmpty:
            return Accepted(count: 0, reply: IngestResponse.json(200, "{\"accepted\":0}"))
        case .events(let events):
            try await produce(events, target: target)
            return Accepted(count: events.count, reply: IngestResponse.json(200, "{\"accepted\":\(events.count)}"))
        }
    }

    /// Every event acknowledged, or a 503: a request is never half-accepted (a retry after a
    /// partial failure repeats the same event ids, which the worker keeps once).
    private func produce(_ events: [Event], target: IngestPipeline) async throws(IngestRefusal) {
        guard readiness.isReady else {
            throw IngestRefusal(.unavailable, "Kafka brokers are not reachable; retry later", where: "kafka")
        }
        let remembered = acknowledged[target.pipeline.id]
        let fresh = remembered?.unacknowledged(events, id: \.id) ?? events
        guard !fresh.isEmpty else { return }
        let clock = ContinuousClock(), started = clock.now
        do {
            try await sink.produce(fresh, for: target.pipeline)
            remembered?.insert(fresh.lazy.map(\.id))
            metrics.recordProduce(pipeline: target.pipeline.id, duration: clock.now - started, succeeded: true)
            readiness.record(reachable: true)
        } catch {
            metrics.recordProduce(pipeline: target.pipeline.id, duration: clock.now - started, succeeded: false)
            readiness.record(reachable: false)
            throw IngestRefusal(.unavailable, "Kafka did not acknowledge every event in time; retry later", where: "kafka")
        }
    }
}

/// A successful answer and how many events it stands for.
struct Accepted {
    let count: Int
    let reply: Response
}
