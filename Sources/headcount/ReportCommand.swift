import ArgumentParser
import HeadcountCommandLine
import HeadcountCore
import HeadcountHTTP
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import Kafka
import Logging
import ServiceLifecycle
import UnixSignals

/// `headcount report`: the reporter, sealing buckets as the watermark passes them.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Seal a pipeline's buckets into the signed hash chain and record amendments (run several for failover).",
        discussion: """
            Only one reporter seals a pipeline at a time (a PostgreSQL advisory lock); the others stand by and take over \
            within seconds when the active one stops or loses its connection. Each round first asks the brokers \
            for the topic's high watermarks: a partition Kafka holds unstored messages for holds the watermark \
            (COUNTING.md section 4), and with the brokers unreachable no partition counts as caught up.
            """)

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var brokers: BrokersOption
    @OptionGroup var database: DatabaseOption
    @OptionGroup var key: SigningKeyOption
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var clock: ClockOption

    @Option(help: ArgumentHelp("Seconds between sealing rounds.", valueName: "seconds"))
    var interval: Double = 1

    @Option(help: ArgumentHelp("Seconds that graceful shutdown may take before the round in flight is cancelled.", valueName: "seconds"))
    var shutdownGrace: Double = 10

    @Option(help: ArgumentHelp("Port of the /metrics, /health/live and /health/ready endpoints (0: any free port; default: none).", valueName: "port"))
    var httpPort: Int?

    @Option(help: ArgumentHelp("Address the --http-port endpoints listen on.", valueName: "host"))
    var httpHost = "127.0.0.1"

    func validate() throws {
        if let httpPort, !(0...65_535).contains(httpPort) { throw ValidationError("--http-port must be from 0 to 65535") }
        guard interval >= 0.05, interval <= 3600 else { throw ValidationError("--interval must be from 0.05 to 3600 seconds") }
    }

    func run() async throws {
        let logger = logging.bootstrap("headcount.report")
        // Both load before anything starts: a missing key is a start-up error, not a
        // reporter that runs and never seals.
        let pipeline = try self.pipeline.load()
        var configuration = ReporterConfiguration(pipeline: pipeline, signingKey: try key.load(for: pipeline))
        configuration.roundInterval = .milliseconds(Int64(interval * 1000))
        configuration.watchdog = .exitingForRestart
        configuration.useClock(try clock.load())
        let url = try database.url()
        let store = EventStore(url: url, maximumConnections: 2, logger: logger, watchdog: .exitingForRestart)
        let reporter = Reporter(
            configuration: configuration, url: url,
            highWatermarks: try brokers.highWatermarkSource(for: pipeline, logger: logger), logger: logger)
        logger.info("reporter starting", metadata: [
            "pipeline": "\(configuration.pipeline.id)", "publicKey": "\(configuration.signingKey.publicKey.base64)",
        ])
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: store),
            .init(service: MigratedReporter(store: store, reporter: reporter), successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let httpPort {
            // Ready: PostgreSQL answers and the reporter holds or waits for the sealing lock.
            let host = httpHost
            services.append(.init(service: MetricsServer.application(
                host: host, port: httpPort, registry: MetricsServer.bootstrapMetrics(),
                health: HealthRoutes(checks: [.postgreSQL(store), .reporter(reporter)]), logger: logger,
                onListening: { port in logger.info("metrics and health at http://\(host):\(port)/metrics, /health/ready") })))
        }
        var group = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        group.maximumGracefulShutdownDuration = .milliseconds(Int64(shutdownGrace * 1000))
        try await ServiceGroup(configuration: group).run()
        let status = reporter.status
        print("reporter stopped: \(status.sealedBuckets) buckets sealed (\(status.sealedByThisReporter) by this process), \(status.amendments) amendments")
    }
}

/// Applies migrations, then runs the reporter: the snapshot tables must exist first.
struct MigratedReporter: Service {
    let store: EventStore
    let reporter: Reporter

    func run() async throws {
        try await store.migrate()
        try await reporter.run()
    }
}

extension BrokersOption {
    /// What the reporter reads each partition's high watermark from: the brokers, with the
    /// same `--kafka-property` settings (SASL, TLS) as the workers, outside their group.
    func highWatermarkSource(for pipeline: Pipeline, timeout: Duration = .seconds(5), logger: Logger) throws -> KafkaHighWatermarkSource {
        var configuration = KafkaAdminConfiguration(bootstrapServers: try bootstrapServers())
        configuration.clientID = "headcount-reporter"
        configuration.additionalProperties = try properties()
        return try KafkaHighWatermarkSource(configuration: configuration, topic: pipeline.kafka.topic, timeout: timeout, logger: logger)
    }
}
