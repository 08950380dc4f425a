import ArgumentParser
import HeadcountAdapters
import HeadcountCertificate
import HeadcountCommandLine
import HeadcountCore
import HeadcountHTTP
import HeadcountPipeline
import HeadcountPublisher
import HeadcountReporter
import HeadcountSimulation
import HeadcountStore
import HeadcountWorker
import Kafka
import Logging
import ServiceLifecycle

/// `headcount demo`: the seed event end to end on an embedded development broker.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the seed event end to end: simulated teachers → adapter → Kafka → workers → PostgreSQL.",
        discussion: """
            Starts an embedded development Kafka cluster, generates the simulated attendees of the \
            pipeline, publishes them through the canonical adapter, consumes them with a worker pool \
            into PostgreSQL and prints what was stored next to the offline count of the same events.
            """)

    @Option(help: ArgumentHelp("The pipeline file.", valueName: "file"))
    var pipeline = "Pipelines/sumsel-ai-webinar-2025.yaml"

    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions

    @Option(help: "Simulated participants (teachers).")
    var participants = 25_000

    @Option(help: "Seed of the simulation (the same seed gives the same events).")
    var seed: UInt64 = 20_250_920

    @Option(help: "Consumers in the worker pool.")
    var concurrency = 2

    @Option(help: "Brokers in the development cluster.")
    var brokers = 3

    @Option(help: ArgumentHelp("Where the certificate folder is written.", valueName: "dir"))
    var out = "out/certificate"

    @Option(help: ArgumentHelp("Port of the live dashboard served while the demo runs (0: any free port).", valueName: "port"))
    var dashboardPort = 0

    @Flag(help: "Serve no live dashboard.")
    var noDashboard = false

    func run() async throws {
        let logger = logging.bootstrap("headcount.demo")
        let pipeline = try PipelineOption.load(path: self.pipeline)
        let url = try database.url()
        let events = AttendeeSimulator(
            rules: pipeline.rules, pipelineID: pipeline.id, participants: participants, seed: seed, profile: .standard
        ).events()
        let distinctIDs = Set(events.map(\.id)).count
        say("simulated \(participants) teachers: \(events.count) events, \(distinctIDs) distinct ids (the rest are retried webhooks)")

        // The development cluster keeps about 5 MB per partition (about 130,000 canonical
        // events after compression) and silently drops older ones: give the topic enough
        // partitions for the volume, with room to spare.
        let partitions = max(pipeline.kafka.partitions, (events.count + Self.eventsPerPartition - 1) / Self.eventsPerPartition)
        let cluster = try KafkaDevCluster(brokerCount: brokers, logger: logger)
        try await cluster.createTopic(pipeline.kafka.topic, partitions: partitions)
        say("Kafka development cluster: \(brokers) brokers at \(cluster.bootstrapServers), topic \(pipeline.kafka.topic) with \(partitions) partitions"
            + (partitions > pipeline.kafka.partitions ? " (the pipeline asks for \(pipeline.kafka.partitions); more keep the mock's 5 MB per partition from dropping events)" : ""))

        // The mock cluster lives as long as its object: keep it until the demo is over.
        defer { withExtendedLifetime(cluster) {} }
        try await EventStore.withRunning(url: url, maximumConnections: concurrency + 2, logger: logger) { store in
            try await store.migrate()
            // The development broker starts empty, so offsets stored by an earlier run would
            // point past its log: the demo wants a database of its own (scripts/demo.sh
            // creates a fresh one each time).
            guard try await store.eventCount(pipeline: pipeline.id) == 0 else {
                throw ValidationError("the database \(url) already holds events of \(pipeline.id): the demo needs a fresh database (scripts/demo.sh creates one)")
            }
            try await withDashboard(store: store, pipeline: pipeline, logger: logger) {
                let published = try await publish(events, pipeline: pipeline, brokers: cluster.bootstrapServers, logger: logger)
                say("published \(published) events through the canonical adapter (acknowledged by the brokers)")

                var configuration = WorkerConfiguration(pipeline: pipeline, bootstrapServers: cluster.bootstrapServers)
                configuration.concurrency = concurrency
                configuration.stopWhenIdleFor = .seconds(3)
                let worker = Worker(configuration: configuration, store: store, logger: logger)
                try await worker.run()
                try await report(store: store, pipeline: pipeline, distinctIDs: distinctIDs, events: events)
                try await certify(store: store, pipeline: pipeline, url: url, brokers: cluster.bootstrapServers, logger: logger)
            }
        }
    }

    /// Runs `body` while the live dashboard serves; the dashboard stops when it returns,
    /// so the demo still ends by itself. A dashboard that cannot start (port taken) is
    /// logged and does not stop the demo.
    private func withDashboard(store: EventStore, pipeline: Pipeline, logger: Logger, _ body: () async throws -> Void) async throws {
        guard !noDashboard else { return try await body() }
        var configuration = DashboardConfiguration()
        configuration.port = dashboardPort
        configuration.clock = Self.replayClock(pipeline)
        let dashboard = DashboardServer(
            pipeline: pipeline, store: store, configuration: configuration, logger: logger,
            onListening: { port in print("demo: live dashboard at http://127.0.0.1:\(port)/ (served until the demo ends)") })
        // In a service group of its own so that it ends by graceful shutdown, as under
        // SIGTERM, rather than by cancellation.
        let services = ServiceGroup(services: [dashboard], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            do {
                try await body()
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
        }
    }

    /// The seed event is replayed after the fact: the processing clock runs one allowed
    /// lateness ahead, so every partition counts as idle and the watermark passes the
    /// window's end as soon as the workers are done, instead of after L of waiting.
    static func replayClock(_ pipeline: Pipeline) -> @Sendable () -> Instant {
        let lateness = pipeline.rules.allowedLateness
        return { ReporterConfiguration.systemClock() + lateness + .seconds(1) }
    }

    private func publish(_ events: [Event], pipeline: Pipeline, brokers: String, logger: Logger) async throws -> Int {
        var configuration = KafkaProducerConfiguration(bootstrapServers: brokers)
        configuration.clientID = "headcount-demo"
        return try await KafkaProducer.withRunning(configuration: configuration, logger: logger) { producer in
            try await CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger).publish(events)
        }
    }

    private func report(store: EventStore, pipeline: Pipeline, distinctIDs: Int, events: [Event]) async throws {
        let stored = try await store.eventCount(pipeline: pipeline.id)
        let deadLetters = try await store.deadLettersByReason(pipeline: pipeline.id)
        say("stored events: \(stored) (distinct ids published: \(distinctIDs))")
        say("dead letters: \(deadLetters.isEmpty ? "none" : deadLetters.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        // The workers' presence contributions, summed as the reporter will, against the
        // counting engine's batch form over the stored events: one truth.
        let streamed = try await store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules)
        let batch = BatchCount(events: try await store.events(pipeline: pipeline.id), rules: pipeline.rules)
        let result = CountOutcome(buckets: streamed)
        say("result: \(result.qualified) qualified teachers (≥ \(pipeline.rules.minimumPresence.wholeMilliseconds / 60_000) min present), peak \(result.peak) at once, sustained peak \(result.sustainedPeak) (best \(pipeline.rules.sustainedPeak.wholeMilliseconds / 1000) s), \(streamed.last?.unique ?? 0) unique")
        guard stored == distinctIDs else {
            let gaps = try await store.retentionGaps(pipeline: pipeline.id)
            throw DemoFailure(description: "stored \(stored) events but published \(distinctIDs) distinct ids"
                + (gaps.isEmpty ? "" : "; the broker dropped \(gaps.reduce(0) { $0 + $1.count }) messages before they were read (retention gaps recorded)"))
        }
        guard streamed == batch.buckets else {
            throw DemoFailure(description: "the workers' presence contributions disagree with the batch count of the stored events")
        }
        say("OK: every distinct event stored once; the streaming numbers equal the batch recount in all \(streamed.count) buckets")
    }

    /// Seals every bucket with a fresh demo key, writes the certificate and verifies it offline.
    private func certify(store: EventStore, pipeline: Pipeline, url: DatabaseURL, brokers: String, logger: Logger) async throws {
        let signingKey = SigningKey.generate()
        var configuration = ReporterConfiguration(pipeline: pipeline, signingKey: signingKey)
        configuration.roundInterval = .milliseconds(200)
        configuration.clock = Self.replayClock(pipeline)
        let reporter = Reporter(
            configuration: configuration, url: url,
            highWatermarks: try KafkaHighWatermarkSource(
                configuration: KafkaAdminConfiguration(bootstrapServers: brokers), topic: pipeline.kafka.topic, logger: logger),
            logger: logger)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await reporter.run() }
            defer { group.cancelAll() }
            while reporter.status.sealedBuckets < pipeline.rules.bucketCount {
                guard ContinuousClock.now - started < .seconds(300) else {
                    throw DemoFailure(description: "the reporter sealed \(reporter.status.sealedBuckets) of \(pipeline.rules.bucketCount) buckets in 5 minutes")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        say("sealed \(pipeline.rules.bucketCount) signed, hash-chained snapshots in \(ContinuousClock.now - started)")
        let certificate = try await CertificateAssembly.load(store: store, pipeline: pipeline, publicKey: signingKey.publicKey)
        try CertificateWriter(directory: out).write(certificate, signingKey: signingKey)
        let verification = CertificateVerifier.verify(directory: out)
        say("certificate: \(out)/certificate.html (result \(certificate.result.qualified) qualified, peak \(certificate.result.peak), sustained peak \(certificate.result.sustainedPeak); chain head \(certificate.headHash.prefix(16))…)")
        guard verification.isValid else {
            throw DemoFailure(description: "the certificate does not verify:\n\(verification.summary)")
        }
        say("verified offline (`headcount verify \(out)`): chain, \(certificate.snapshots.count) signatures and Merkle roots OK")
    }

    /// Canonical events per development-cluster partition: well below the ~130,000 that fit.
    static let eventsPerPartition = 80_000

    private func say(_ text: String) { print("demo: " + text) }
}

/// The demo ran but its check failed: the run is not a success.
struct DemoFailure: Error, CustomStringConvertible {
    var description: String
}
