import ArgumentParser
import HeadcountCommandLine
import HeadcountHTTP
import HeadcountStore
import Logging
import ServiceLifecycle
import UnixSignals

/// `headcount dashboard`: the live dashboard of a pipeline, read from PostgreSQL.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve a live dashboard of a pipeline's sealed snapshots (GET / the page, GET /api/status the JSON, /health/ready, /metrics).",
        discussion: """
            Reads only: run as many as needed, anywhere the database is reachable. The store is read once a second \
            whatever the number of viewers.
            """)

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var clock: ClockOption

    @Option(help: ArgumentHelp("Port of the dashboard (0: any free port).", valueName: "port"))
    var port = 8080

    @Option(help: ArgumentHelp("Address the dashboard listens on (0.0.0.0 for everyone).", valueName: "host"))
    var host = "127.0.0.1"

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
    }

    func run() async throws {
        let logger = logging.bootstrap("headcount.dashboard")
        let pipeline = try self.pipeline.load()
        let store = EventStore(url: try database.url(), maximumConnections: 2, logger: logger, watchdog: .exitingForRestart)
        var configuration = DashboardConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.clock = try clock.load().reader
        configuration.health = HealthRoutes(checks: [.postgreSQL(store)])
        configuration.metrics = MetricsServer.bootstrapMetrics()
        let host = self.host
        let dashboard = DashboardServer(
            pipeline: pipeline, store: store, configuration: configuration, logger: logger,
            onListening: { port in logger.info("dashboard of \(pipeline.id) at http://\(host):\(port)/") })
        // The pool first: services stop in reverse order, so it outlives the last read.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: store), .init(service: MigratedDashboard(store: store, dashboard: dashboard))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}

/// Applies migrations, then serves: the status reads tables a fresh database lacks.
struct MigratedDashboard: Service {
    let store: EventStore
    let dashboard: DashboardServer

    func run() async throws {
        try await store.migrate()
        try await dashboard.run()
    }
}
