import HeadcountAdapters
import Metrics

/// The ingest service's swift-metrics instruments, exported at `/metrics` by the Prometheus
/// backend `headcount ingest` bootstraps.
struct IngestMetrics: Sendable {
    /// After every answered request; `pipeline` is "unknown" for ids that are not served, so
    /// random paths cannot grow the label set.
    func recordRequest(pipeline: String, route: String, status: Int, events: Int) {
        let dimensions = [("pipeline", pipeline), ("route", route)]
        Counter(label: "headcount_ingest_requests_total", dimensions: dimensions + [("status", String(status))]).increment()
        if events > 0 { Counter(label: "headcount_ingest_events_total", dimensions: dimensions).increment(by: events) }
    }

    func recordRefusal(pipeline: String, route: String, _ refusal: IngestRefusal) {
        Counter(label: "headcount_ingest_refusals_total", dimensions: [("pipeline", pipeline), ("route", route), ("reason", refusal.kind.rawValue)])
            .increment()
    }

    func recordProduce(pipeline: String, duration: Duration, succeeded: Bool) {
        Metrics.Timer(label: "headcount_ingest_produce_seconds", dimensions: [("pipeline", pipeline), ("outcome", succeeded ? "acknowledged" : "failed")])
            .recordMicroseconds(duration / .microseconds(1))
    }
}
