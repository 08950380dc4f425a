import Foundation
import HeadcountAdapters
import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import HeadcountReporter
import HeadcountSimulation
import HeadcountStore
import HeadcountTestSupport
import HeadcountWorker
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Testing

/// What the reporter tests share: a pipeline, a dev cluster fed through the real worker,
/// a clock the test moves, and plain SQL on the test database.
enum ReporterSupport {
    static let logger: Logger = {
        var logger = Logger(label: "test.reporter")
        logger.logLevel = ProcessInfo.processInfo.environment["REPORTER_TEST_DEBUG"] == nil ? .warning : .debug
        return logger
    }()

    /// A one-hour window of 60 buckets, Q = 10 min, H = 90 s.
    static func pipeline(topic: String, partitions: Int = 4) throws -> Pipeline {
        try Pipeline.parse(yaml: yaml(topic: topic, partitions: partitions), file: "reporter-test.yaml")
    }

    static func yaml(topic: String, partitions: Int = 4) -> String {
        """
            id: reporter-test
            title: Reporter test webinar
            window:
              start: 2025-09-20T09:00:00+07:00
              end: 2025-09-20T10:00:00+07:00
            rules:
              minimumPresence: 10m
              heartbeatTimeout: 90s
            kafka:
              topic: \(topic)
              partitions: \(partitions)
            """
    }

    /// The pipeline file and the signing key as files, for running the `headcount` executable.
    static func files(topic: String) throws -> (pipeline: String, key: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pipeline = folder.appendingPathComponent("pipeline.yaml").path
        try yaml(topic: topic).write(toFile: pipeline, atomically: true, encoding: .utf8)
        let key = folder.appendingPathComponent("key.pem").path
        try signingKey.save(to: key)
        return (pipeline, key)
    }

    /// A fixed key: tests compare signatures across runs.
    static let signingKey: SigningKey = try! SigningKey(seed: Array(repeating: 7, count: 32))

    static func simulated(_ pipeline: Pipeline, participants: Int, seed: UInt64 = 11) -> [Event] {
        AttendeeSimulator(rules: pipeline.rules, pipelineID: pipeline.id, participants: participants, seed: seed).events()
    }

    static func publish(_ events: [Event], pipeline: Pipeline, cluster: KafkaDevCluster) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            let published = try await CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger).publish(events)
            #expect(published == events.count)
        }
    }

    /// Runs the real worker until the topic has been idle for a few seconds.
    static func work(_ pipeline: Pipeline, cluster: KafkaDevCluster, store: EventStore, idle: Duration = .seconds(4)) async throws {
        var configuration = WorkerConfiguration(pipeline: pipeline, bootstrapServers: cluster.bootstrapServers)
        configuration.maximumBatchSize = 500
        configuration.pollTimeout = .milliseconds(100)
        configuration.stopWhenIdleFor = idle
        configuration.sessionTimeout = .seconds(6)
        try await Worker(configuration: configuration, store: store, logger: logger).run()
    }

    /// A cluster with the pipeline's topic, the events published and consumed into the store.
    static func ingest(_ events: [Event], pipeline: Pipeline, store: EventStore) async throws -> KafkaDevCluster {
        let cluster = try KafkaDevCluster(brokerCount: 1, logger: logger)
        try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
        try await publish(events, pipeline: pipeline, cluster: cluster)
        try await work(pipeline, cluster: cluster, store: store)
        return cluster
    }

    static func configuration(_ pipeline: Pipeline, clock: TestClock) -> ReporterConfiguration {
        var configuration = ReporterConfiguration(pipeline: pipeline, signingKey: signingKey)
        configuration.roundInterval = .milliseconds(100)
        configuration.standbyInterval = .milliseconds(200)
        configuration.retryDelay = .milliseconds(200)
        configuration.clock = clock.now
        return configuration
    }

    /// A reporter of the test's pipeline. With a cluster, each round asks its brokers for the
    /// high watermarks, as `headcount report` does; without one, Kafka is empty.
    static func reporter(
        _ configuration: ReporterConfiguration, url: DatabaseURL, cluster: KafkaDevCluster? = nil
    ) throws -> Reporter {
        let source: any HighWatermarkSource = try cluster.map { cluster in
            try KafkaHighWatermarkSource(
                configuration: KafkaAdminConfiguration(bootstrapServers: cluster.bootstrapServers),
                topic: configuration.pipeline.kafka.topic, timeout: .seconds(5), logger: logger)
        } ?? FixedHighWatermarks.nothingInKafka(configuration.pipeline)
        return Reporter(configuration: configuration, url: url, highWatermarks: source, logger: logger)
    }

    /// Runs reporters as a service group until `done` holds, then shuts them down gracefully.
    /// The deadline only turns a hang into a failure: generous, because the whole suite shares
    /// two cores (a loaded machine took over 60 s here).
    static func runReporters(
        _ reporters: [Reporter], until done: @Sendable () async throws -> Bool, timeout: Duration = .seconds(180)
    ) async throws {
        let group = ServiceGroup(services: reporters, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + timeout
            while try await !done() {
                guard ContinuousClock.now < deadline else {
                    await group.triggerGracefulShutdown()
                    throw TimedOut(description: "reporters did not get there within \(timeout)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Seals every bucket with one reporter: partitions idle, processing time past the window end + L.
    static func sealEverything(
        _ pipeline: Pipeline, url: DatabaseURL, clock: TestClock, cluster: KafkaDevCluster? = nil
    ) async throws -> Reporter {
        try await makePartitionsIdle(url)
        clock.set(pipeline.rules.windowEnd + pipeline.rules.allowedLateness)
        let reporter = try reporter(configuration(pipeline, clock: clock), url: url, cluster: cluster)
        let buckets = pipeline.rules.bucketCount
        try await runReporters([reporter]) { reporter.status.sealedBuckets == buckets }
        return reporter
    }

    /// The workers just committed, so by the real clock every partition is active; ageing
    /// their last commit lets the test's clock alone place the watermark (now − L).
    static func makePartitionsIdle(_ url: DatabaseURL) async throws {
        try await sql(url, "UPDATE headcount.partition_progress SET updated_at = '2000-01-01Z'")
    }

    /// Runs statements on their own connection; returns the rows of the last, as text.
    @discardableResult
    static func sql(_ url: DatabaseURL, _ statements: String...) async throws -> [String] {
        try await DirectSQL.rows(url, statements, logger: logger)
    }

    /// Every stored snapshot row, all columns, as text: compared before and after.
    static func snapshotRows(_ url: DatabaseURL) async throws -> [String] {
        try await sql(url, "SELECT row_to_json(s)::text FROM headcount.snapshots s ORDER BY pipeline, bucket")
    }

    static func recount(_ pipeline: Pipeline, store: EventStore) async throws -> RecountReport {
        Recount.check(
            pipeline: pipeline, events: try await store.events(pipeline: pipeline.id),
            snapshots: try await store.storedSnapshots(pipeline: pipeline.id),
            amendments: try await store.storedAmendments(pipeline: pipeline.id), publicKey: signingKey.publicKey)
    }

    static func writeCertificate(_ pipeline: Pipeline, store: EventStore) async throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-cert-\(UUID().uuidString)").path
        let certificate = try await CertificateAssembly.load(store: store, pipeline: pipeline, publicKey: signingKey.publicKey)
        try CertificateWriter(directory: directory).write(certificate, signingKey: signingKey)
        return directory
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// A processing clock the test sets.
final class TestClock: Sendable {
    private let milliseconds = Atomic<Int64>(0)

    func set(_ instant: Instant) { milliseconds.store(instant.milliseconds, ordering: .relaxed) }

    var now: @Sendable () -> Instant {
        { Instant(milliseconds: self.milliseconds.load(ordering: .relaxed)) }
    }
}
