import ArgumentParser
import Foundation
import HeadcountCommandLine
import HeadcountCore
import HeadcountHTTP
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import HeadcountWorker
import Logging
import ServiceLifecycle
import UnixSignals

/// `headcount work`: consumer workers from Kafka into PostgreSQL, exactly once.
struct WorkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "work",
        abstract: "Consume a pipeline's events into PostgreSQL (one consumer group; run as many processes as needed).")

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var brokers: BrokersOption
    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var key: SigningKeyOption
    @OptionGroup var clock: ClockOption

    @Option(help: "Consumers in this process; the default is the number of cores.")
    var concurrency = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Largest batch stored in one transaction.")
    var batchSize = 5_000

    @Option(help: ArgumentHelp(
        "Stop the whole process (every consumer at once) after this many seconds without messages (default: run until SIGTERM).",
        valueName: "seconds"))
    var stopWhenIdle: Double?

    @Option(help: ArgumentHelp("Consumer group (default: headcount-<pipeline id>).", valueName: "group"))
    var group: String?

    @Option(help: ArgumentHelp("Seconds that graceful shutdown may take before in-flight work is cancelled.", valueName: "seconds"))
    var shutdownGrace: Double = 30

    @Option(help: ArgumentHelp("Consumer group session timeout: how long a dead worker keeps its partitions.", valueName: "seconds"))
    var sessionTimeout: Double = 6

    @Option(help: ArgumentHelp("Consumer group heartbeat interval (at most a third of the session timeout).", valueName: "seconds"))
    var heartbeatInterval: Double = 2

    @Option(help: ArgumentHelp("Port of the /metrics, /health/live and /health/ready endpoints (0: any free port).", valueName: "port"))
    var metricsPort = 9464

    @Flag(help: "Serve no /metrics and /health endpoints.")
    var noMetrics = false

    @Option(help: ArgumentHelp("Address the /metrics and /health endpoints listen on.", valueName: "host"))
    var metricsHost = "127.0.0.1"

    @Flag(help: ArgumentHelp(
        "Also run the reporter here, sealing buckets as the watermark passes them (the advisory lock still lets one process seal a pipeline at a time).",
        discussion: "The signing key comes from --key, the pipeline's signing: section or $HEADCOUNT_SIGNING_KEY."))
    var report = false

    @Option(help: ArgumentHelp("With --report: seconds between sealing rounds.", valueName: "seconds"))
    var reportInterval: Double = 1

    func validate() throws {
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be from 1 to 64") }
        guard (1...100_000).contains(batchSize) else { throw ValidationError("--batch-size must be from 1 to 100000") }
        guard report || key.key == nil else { throw ValidationError("--key is only used with --report") }
        guard sessionTimeout >= 1, sessionTimeout <= 3600 else { throw ValidationError("--session-timeout must be from 1 to 3600 seconds") }
        guard heartbeatInterval >= 0.1, heartbeatInterval * 3 <= sessionTimeout else {
            throw ValidationError("--heartbeat-interval must be at least 0.1 seconds and at most a third of --session-timeout")
        }
        guard reportInterval >= 0.05, reportInterval <= 3600 else { throw ValidationError("--report-interval must be from 0.05 to 3600 seconds") }
    }

    func run() async throws {
        let logger = logging.bootstrap("headcount.work")
        let metricsHost = self.metricsHost
        var configuration = WorkerConfiguration(
            pipeline: try pipeline.load(), bootstrapServers: try brokers.bootstrapServers(), groupID: group)
        configuration.concurrency = concurrency
        configuration.maximumBatchSize = batchSize
        configuration.stopWhenIdleFor = stopWhenIdle.map { .milliseconds(Int64($0 * 1000)) }
        configuration.kafkaProperties = try brokers.properties()
        configuration.sessionTimeout = .milliseconds(Int64(sessionTimeout * 1000))
        configuration.heartbeatInterval = .milliseconds(Int64(heartbeatInterval * 1000))
        let clock = try self.clock.load()
        let url = try database.url()
        // The key loads before anything starts: a missing key is a start-up error, not a
        // reporter that runs and never seals.
        let reporter = try report ? makeReporter(pipeline: configuration.pipeline, url: url, clock: clock, logger: logger) : nil
        let store = EventStore(url: url, maximumConnections: concurrency + 2, logger: logger, watchdog: .exitingForRestart)
        let worker = Worker(configuration: configuration, store: store, logger: logger, clock: clock.reader)
        let migrator = Migrator(store: store, worker: worker)
        // The store's pool first: services stop in reverse order, so the pool outlives the
        // worker's last commit.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: store)]
        if let reporter {
            // Its own session holds the sealing lock; it stops after the worker, letting the
            // round in flight commit. A refusal (another key) fails the whole process.
            services.append(.init(service: MigratedReporter(store: store, reporter: reporter), successTerminationBehavior: .ignore))
        }
        if !noMetrics {
            services.append(.init(service: MetricsServer.application(
                host: metricsHost, port: metricsPort, registry: MetricsServer.bootstrapMetrics(),
                health: Self.health(worker: worker, store: store, reporter: reporter), logger: logger,
                onListening: { port in logger.info("metrics and health at http://\(metricsHost):\(port)/metrics, /health/ready") })))
        }
        // Before the worker: it stops after the worker has left the group, then deletes its rows.
        services.append(.init(service: WorkerHeartbeatWriter(worker: worker, store: store, logger: logger)))
        services.append(.init(service: migrator, successTerminationBehavior: .gracefullyShutdownGroup))
        var group = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // Past the grace, in-flight work is cancelled: its transaction rolls back and the
        // next owner of the partition re-reads it from the stored offsets.
        group.maximumGracefulShutdownDuration = .milliseconds(Int64(shutdownGrace * 1000))
        try await ServiceGroup(configuration: group).run()
        let totals = worker.statistics.snapshot
        print("stored \(totals.inserted) new events in \(totals.batches) batches (\(totals.duplicates) duplicates, \(totals.deadLetters + totals.conflictingDuplicates + totals.rejected) dead letters)")
        if let status = reporter?.status {
            print("reporter stopped: \(status.sealedBuckets) buckets sealed (\(status.sealedByThisReporter) by this process), \(status.amendments) amendments")
        }
    }

    /// Ready: PostgreSQL answers, every consumer is in the group with partitions, and with
    /// `--report` the reporter holds or waits for the sealing lock.
    static func health(worker: Worker, store: EventStore, reporter: Reporter?) -> HealthRoutes {
        var checks: [ReadinessCheck] = [
            .postgreSQL(store),
            ReadinessCheck("consumers") {
                let readiness = worker.readiness
                return ReadinessCheck.Outcome(isReady: readiness.isReady, detail: readiness.detail)
            },
        ]
        if let reporter { checks.append(.reporter(reporter)) }
        return HealthRoutes(checks: checks)
    }

    private func makeReporter(pipeline: Pipeline, url: DatabaseURL, clock: ProcessingClock, logger: Logger) throws -> Reporter {
        var configuration = ReporterConfiguration(pipeline: pipeline, signingKey: try key.load(for: pipeline))
        configuration.useClock(clock)
        configuration.roundInterval = .milliseconds(Int64(reportInterval * 1000))
        configuration.watchdog = .exitingForRestart
        logger.info("reporter starting", metadata: [
            "pipeline": "\(pipeline.id)", "publicKey": "\(configuration.signingKey.publicKey.base64)",
        ])
        return Reporter(
            configuration: configuration, url: url,
            highWatermarks: try brokers.highWatermarkSource(for: pipeline, logger: logger), logger: logger)
    }
}

/// Applies migrations, then runs the worker: a service starts only after the schema exists.
struct Migrator: Service {
    let store: EventStore
    let worker: Worker

    func run() async throws {
        try await store.migrate()
        try await worker.run()
    }
}
