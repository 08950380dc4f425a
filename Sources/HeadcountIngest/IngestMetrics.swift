import HeadcountAdapters
import Metrics

/// The ingest service's swift-metrics instruments, exported at `/metrics` by the Prometheus
/// backend `headcount ingest` bootstraps.
///
/// Every instrument of the served pipelines and routes is made once, at start: making one per
/// request means a registry lookup under its lock, label arrays and strings, for every
/// request (and the series are then listed from the start, at 0).
struct IngestMetrics: Sendable {
    private struct Route: Hashable {
        let pipeline: String
        let route: String
    }

    private struct Instruments: Sendable {
        let requests: [Int: Counter]
        let events: Counter
        let refusals: [IngestRefusal.Kind: Counter]
    }

    private let routes: [Route: Instruments]
    private let produce: [String: (acknowledged: Metrics.Timer, failed: Metrics.Timer)]

    /// Instruments for `pipelines` × `routes`, and for "unknown" (ids that are not served, so
    /// random paths cannot grow the label set).
    init(pipelines: [String], routes: [String]) {
        let statuses = [200] + IngestRefusal.Kind.allCases.map(\.status)
        var made: [Route: Instruments] = [:]
        for pipeline in pipelines + ["unknown"] {
            for route in routes {
                made[Route(pipeline: pipeline, route: route)] = Instruments(
                    requests: Dictionary(uniqueKeysWithValues: statuses.map { ($0, Self.requestCounter(pipeline, route, $0)) }),
                    events: Counter(label: "headcount_ingest_events_total", dimensions: [("pipeline", pipeline), ("route", route)]),
                    refusals: Dictionary(uniqueKeysWithValues: IngestRefusal.Kind.allCases.map { ($0, Self.refusalCounter(pipeline, route, $0)) }))
            }
        }
        self.routes = made
        produce = Dictionary(uniqueKeysWithValues: pipelines.map { pipeline in
            (pipeline, (Self.produceTimer(pipeline, "acknowledged"), Self.produceTimer(pipeline, "failed")))
        })
    }

    /// After every answered request.
    func recordRequest(pipeline: String, route: String, status: Int, events: Int) {
        let instruments = routes[Route(pipeline: pipeline, route: route)]
        (instruments?.requests[status] ?? Self.requestCounter(pipeline, route, status)).increment()
        if events > 0 { instruments?.events.increment(by: events) }
    }

    func recordRefusal(pipeline: String, route: String, _ refusal: IngestRefusal) {
        (routes[Route(pipeline: pipeline, route: route)]?.refusals[refusal.kind] ?? Self.refusalCounter(pipeline, route, refusal.kind))
            .increment()
    }

    func recordProduce(pipeline: String, duration: Duration, succeeded: Bool) {
        guard let timers = produce[pipeline] else { return }
        (succeeded ? timers.acknowledged : timers.failed).recordMicroseconds(duration / .microseconds(1))
    }

    private static func requestCounter(_ pipeline: String, _ route: String, _ status: Int) -> Counter {
        Counter(label: "headcount_ingest_requests_total", dimensions: [("pipeline", pipeline), ("route", route), ("status", String(status))])
    }

    private static func refusalCounter(_ pipeline: String, _ route: String, _ kind: IngestRefusal.Kind) -> Counter {
        Counter(label: "headcount_ingest_refusals_total", dimensions: [("pipeline", pipeline), ("route", route), ("reason", kind.rawValue)])
    }

    private static func produceTimer(_ pipeline: String, _ outcome: String) -> Metrics.Timer {
        Metrics.Timer(label: "headcount_ingest_produce_seconds", dimensions: [("pipeline", pipeline), ("outcome", outcome)])
    }
}
