import ArgumentParser
import AsyncHTTPClient
import HeadcountCommandLine
import HeadcountHTTP
import HeadcountStore
import Logging
import ServiceLifecycle
import Foundation
import UnixSignals

/// `headcount dashboard`: the live dashboard of a pipeline, read from PostgreSQL.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve a live dashboard of a pipeline (GET / the page, GET /api/events server-sent events, GET /api/status the JSON, /health/ready, /metrics).",
        discussion: """
            Reads only: run as many as needed, anywhere the database is reachable. The store is read once a second \
            whatever the number of viewers, and the status pushed to every page. With --brokers (or \
            $HEADCOUNT_BROKERS) it shows each partition's lag; with --ingest-metrics, ingest's refusals by reason.
            """)

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var clock: ClockOption

    @Option(help: ArgumentHelp("Port of the dashboard (0: any free port).", valueName: "port"))
    var port = 8080

    @Option(help: ArgumentHelp("Address the dashboard listens on (0.0.0.0 for everyone).", valueName: "host"))
    var host = "127.0.0.1"

    /// For the lag per partition; without brokers the dashboard shows no lag.
    @OptionGroup var brokers: BrokersOption

    @Option(help: ArgumentHelp("URL of `headcount ingest`'s /metrics, for events accepted and refusals by reason.", valueName: "url"))
    var ingestMetrics: String?

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
        // The dashboard works without Kafka: with no brokers to ask it shows no lag.
        configuration.highWatermarks = try? brokers.highWatermarkSource(for: pipeline, timeout: .seconds(2), logger: logger)
        if let ingestMetrics {
            configuration.ingestCounts = { try await Self.ingestCounts(url: ingestMetrics, pipeline: pipeline.id) }
        }
        let host = self.host
        let dashboard = DashboardServer(
            pipeline: pipeline, store: store, configuration: configuration, logger: logger,
            onListening: { port in logger.info("dashboard of \(pipeline.id) at http://\(host):\(port)/") })
        // The pool first: services stop in reverse order, so it outlives the last read; the
        // feed last, so it ends the viewers' streams before the server waits for them.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: store), .init(service: dashboard.application),
                       .init(service: MigratedFeed(store: store, feed: dashboard.feed))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    static func ingestCounts(url: String, pipeline: String) async throws -> IngestCounts {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(2))
        let body = try await response.body.collect(upTo: 8 << 20)
        guard response.status == .ok else { throw DashboardSourceError(description: "\(url) answered \(response.status.code)") }
        return IngestCounts(prometheusText: String(buffer: body), pipeline: pipeline)
    }
}

struct DashboardSourceError: Error, CustomStringConvertible {
    var description: String
}

/// Applies migrations, then reads: the status reads tables a fresh database lacks.
struct MigratedFeed: Service {
    let store: EventStore
    let feed: DashboardFeed

    func run() async throws {
        try await store.migrate()
        try await feed.run()
    }
}
