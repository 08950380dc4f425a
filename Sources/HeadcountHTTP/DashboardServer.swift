import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// Settings of the live dashboard.
public struct DashboardConfiguration: Sendable {
    /// Where the page listens; default 127.0.0.1.
    public var host = "127.0.0.1"
    /// The port; default 8080; 0 picks a free one (reported through `onListening`).
    public var port = 8080
    /// How often the status is read from the store; default 1 s, the page's polling period.
    public var refreshInterval: Duration = .seconds(1)
    /// How often stored events and dead letters are counted; default 10 s (each count
    /// scans a large table).
    public var totalsInterval: Duration = .seconds(10)
    /// The processing clock the watermark is computed with; default the system's UTC
    /// time (the demo passes the clock its reporter runs on).
    public var clock: @Sendable () -> Instant = ReporterConfiguration.systemClock
    /// What `/health/ready` checks besides the dashboard's own first read of the store;
    /// default nothing (`headcount dashboard` adds PostgreSQL).
    public var health = HealthRoutes(checks: [])
    /// Served at `/metrics` when set; default nil (no `/metrics`).
    public var metrics: PrometheusCollectorRegistry?

    public init() {}
}

/// Serves the live dashboard of one pipeline: `GET /` the page, `GET /api/status` its
/// numbers as JSON, `GET /health/live` and `/health/ready` (ready once the first read of the
/// store is done and the configured checks pass), `GET /metrics` when configured.
///
/// However many people watch, the store is read once per `refreshInterval` by a child task
/// of `run()`; requests get the latest encoded status from memory. So a crowd watching a
/// record attempt costs the database nothing more than one viewer.
public final class DashboardServer: Service, Sendable {
    let pipeline: Pipeline
    let store: EventStore
    let configuration: DashboardConfiguration
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void
    private let state = Mutex(State())

    /// The latest status, encoded, and the totals carried over between their reads.
    struct State {
        var body: [UInt8]?
        var last: DashboardStatus?
        var totals: PipelineStatus.Totals?
        var totalsReadAt: (instant: Instant, clock: ContinuousClock.Instant)?
    }

    public init(
        pipeline: Pipeline, store: EventStore, configuration: DashboardConfiguration = .init(), logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.pipeline = pipeline
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let onListening = onListening
        let application = Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "headcount"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The server ends on graceful shutdown (or fails to bind); the refresher has
            // nothing left to serve then.
            group.addTask { try await application.run() }
            group.addTask { await self.refreshUntilCancelled() }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: DashboardPage.headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: DashboardPage.html)))
        }
        router.get("api/status") { _, _ -> Response in
            guard let body = self.currentBody else {
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "1"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"error":"starting: the first read of the store is not done yet"}"#)))
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        var health = configuration.health
        health.checks.append(ReadinessCheck("status") {
            self.currentBody == nil ? .notReady("the first read of the store is not done yet") : .ready("serving the status read from the store")
        })
        health.add(to: router)
        if let registry = configuration.metrics { MetricsServer.addMetrics(to: router, registry: registry) }
        return router
    }

    /// The body `/api/status` serves now.
    var currentBody: [UInt8]? { state.withLock { $0.body } }

    private func refreshUntilCancelled() async {
        while !Task.isCancelled {
            await refresh()
            try? await Task.sleep(for: configuration.refreshInterval)
        }
    }

    /// One read of the store; on failure the last good status is served with the error.
    func refresh() async {
        let due = state.withLock { state in
            state.totalsReadAt.map { ContinuousClock.now - $0.clock >= configuration.totalsInterval } ?? true
        }
        do {
            var status = try await store.pipelineStatus(pipeline: pipeline.id, includingTotals: due)
            let now = configuration.clock()
            let readAt: Instant? = state.withLock { state in
                if let totals = status.totals {
                    state.totals = totals
                    state.totalsReadAt = (now, .now)
                }
                return state.totalsReadAt?.instant
            }
            status.totals = status.totals ?? state.withLock { $0.totals }
            let dashboard = DashboardStatus(pipeline: pipeline, status: status, now: now, totalsReadAt: readAt)
            let body = dashboard.encoded()
            state.withLock { state in
                state.last = dashboard
                state.body = body
            }
        } catch {
            // Shutting down cancels the read in flight: nothing went wrong.
            guard !Task.isCancelled else { return }
            logger.warning("dashboard cannot read the store", metadata: ["error": "\(error)"])
            state.withLock { state in
                guard var last = state.last else {
                    state.body = DashboardStatus.encodedError("the database cannot be read (\(error.code.rawValue)): nothing to show yet")
                    return
                }
                last.error = "the database cannot be read (\(error.code.rawValue)); showing the numbers as of \(last.readAt)"
                state.body = last.encoded()
            }
        }
    }
}
