import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// Settings of the live dashboard.
public struct DashboardConfiguration: Sendable {
    /// Where the page listens; default 127.0.0.1.
    public var host = "127.0.0.1"
    /// The port; default 8080; 0 picks a free one (reported through `onListening`).
    public var port = 8080
    /// How often the status is read from the store and pushed to every viewer; default 1 s.
    public var refreshInterval: Duration = .seconds(1)
    /// How often stored events and dead letters are counted; default 10 s (each count
    /// scans a large table).
    public var totalsInterval: Duration = .seconds(10)
    /// The processing clock the watermark is computed with; default the system's UTC
    /// time (the demo passes the clock its reporter runs on).
    public var clock: @Sendable () -> Instant = ReporterConfiguration.systemClock
    /// Each partition's high watermark (the offset Kafka gives the next message), for the
    /// lag per partition; default nil (no lag shown: the dashboard need not reach Kafka).
    public var highWatermarks: (any HighWatermarkSource)?
    /// Ingest's counts (events accepted, refusals by reason), from its `/metrics`; default
    /// nil (not shown).
    public var ingestCounts: (@Sendable () async throws -> IngestCounts)?
    /// What `/health/ready` checks besides the dashboard's own first read of the store;
    /// default nothing (`headcount dashboard` adds PostgreSQL).
    public var health = HealthRoutes(checks: [])
    /// Served at `/metrics` when set; default nil (no `/metrics`).
    public var metrics: PrometheusCollectorRegistry?

    public init() {}
}

/// The live dashboard of one pipeline: a Hummingbird `Application` (`GET /` the page,
/// `GET /api/events` the status pushed as server-sent events, `GET /api/status` the latest
/// as JSON, `/health/live`, `/health/ready`, `/metrics` when configured) and the
/// `DashboardFeed` that reads the store once for every viewer.
///
/// Run `services` in the process's `ServiceGroup`: the application first, the feed after it,
/// so that on shutdown the feed ends the viewers' streams before the server waits for them.
public struct DashboardServer: Sendable {
    public let feed: DashboardFeed
    public let application: Application<RouterResponder<BasicRequestContext>>

    public init(
        pipeline: Pipeline, store: EventStore, configuration: DashboardConfiguration = .init(), logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        let feed = DashboardFeed(pipeline: pipeline, store: store, configuration: configuration, logger: logger)
        self.feed = feed
        application = Application(
            router: Self.router(feed: feed, configuration: configuration),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "headcount"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// The application, then the feed (see the type's documentation).
    public var services: [any Service] { [application, feed] }

    static func router(feed: DashboardFeed, configuration: DashboardConfiguration) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: DashboardPage.headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: DashboardPage.html)))
        }
        router.get("api/status") { _, _ -> Response in
            guard let body = feed.currentBody else { return Self.starting }
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("api/events") { _, _ -> Response in
            let updates = feed.subscribe()
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store", .init("X-Accel-Buffering")!: "no"],
                body: ResponseBody { writer in
                    // The browser reconnects after this long when the stream breaks.
                    try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                    for await body in updates {
                        var event = ByteBuffer(string: "event: status\ndata: ")
                        event.writeBytes(body)
                        event.writeString("\n\n")
                        try await writer.write(event)
                    }
                    try await writer.finish(nil)
                })
        }
        var health = configuration.health
        health.checks.append(ReadinessCheck("status") {
            feed.currentBody == nil ? .notReady("the first read of the store is not done yet") : .ready("serving the status read from the store")
        })
        health.add(to: router)
        if let registry = configuration.metrics { MetricsServer.addMetrics(to: router, registry: registry) }
        return router
    }

    private static var starting: Response {
        Response(
            status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "1"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"error":"starting: the first read of the store is not done yet"}"#)))
    }
}

/// What ingest counted, read from its `/metrics`.
public struct IngestCounts: Sendable, Hashable, Encodable {
    /// Events acknowledged by Kafka and answered 2xx.
    public var eventsAccepted: Int
    /// Refused requests by reason (`unauthorized`, `bad_signature`, …).
    public var refusalsByReason: [String: Int]

    public init(eventsAccepted: Int, refusalsByReason: [String: Int]) {
        self.eventsAccepted = eventsAccepted
        self.refusalsByReason = refusalsByReason
    }

    /// From Prometheus text: `headcount_ingest_events_total` and
    /// `headcount_ingest_refusals_total{…reason="…"…}` of `pipeline`, summed over routes.
    public init(prometheusText text: String, pipeline: String) {
        var accepted = 0
        var refusals: [String: Int] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]),
                  line.contains("pipeline=\"\(pipeline)\"") else { continue }
            if line.hasPrefix("headcount_ingest_events_total") {
                accepted += Int(value)
            } else if line.hasPrefix("headcount_ingest_refusals_total"), let reason = Self.label("reason", in: line) {
                refusals[reason, default: 0] += Int(value)
            }
        }
        self.init(eventsAccepted: accepted, refusalsByReason: refusals)
    }

    private static func label(_ name: String, in line: Substring) -> String? {
        guard let start = line.range(of: name + "=\"") else { return nil }
        let rest = line[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}
