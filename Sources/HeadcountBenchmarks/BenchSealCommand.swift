import ArgumentParser
import Foundation
import HeadcountCertificate
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountSimulation
import HeadcountStore
import Logging
import PostgresNIO
import Synchronization

/// `headcount bench seal`: how long after the watermark passes a bucket's end its signed
/// snapshot is committed, with the contributions of N simulated participants stored.
struct BenchSealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal latency: watermark passing a bucket end → snapshot row committed (p50/p99).",
        discussion: """
            Publishes the simulated events of --participants teachers into an embedded development cluster and stores \
            them with a real worker (presence, contributions, qualification changes) into a scratch database on the \
            server of --database, marks every partition idle, then \
            drives a real reporter with an injected clock: the watermark passes one bucket end at a time and the \
            benchmark waits for the bucket's row to be committed. Latency includes the wait for the next round \
            (--interval), so it is also reported without it: the round that sealed the bucket.
            """)

    @Option(help: "Simulated participants.")
    var participants = 25_000

    @Option(help: "Buckets to seal and measure (from bucket 0).")
    var buckets = 60

    @Option(help: ArgumentHelp("The reporter's round interval in milliseconds.", valueName: "ms"))
    var interval = 1_000

    @Option(help: ArgumentHelp("The pipeline file whose rules shape the simulated events.", valueName: "file"))
    var pipeline = "Pipelines/sumsel-ai-webinar-2025.yaml"

    @Option(help: "Simulator seed.")
    var seed: UInt64 = 20_250_920

    @Option(help: "Consumers of the worker that stores the load.")
    var consumers = 2

    @Option(help: "Partitions of the load's topic (default: enough for the mock's ≈ 5 MB, ≈ 130,000 events, per partition).")
    var partitions: Int?

    @Option(help: "Participants generated and published at a time (bounds the load's memory).")
    var chunk = 100_000

    @Flag(help: "Load without heartbeat sessions (about 6 events per participant instead of 75), so that a million load quickly.")
    var withoutHeartbeats = false

    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap("headcount.bench")
        var pipeline = try PipelineOption.load(path: self.pipeline)
        pipeline.kafka.topic = "headcount.\(pipeline.id).bench-seal"
        // ≈ 6 events per participant without heartbeat sessions, ≈ 75 with them; 100,000 a partition leaves a margin.
        let estimated = participants * (withoutHeartbeats ? 7 : 80)
        pipeline.kafka.partitions = partitions ?? max(pipeline.kafka.partitions, (estimated + 99_999) / 100_000)
        let rules = pipeline.rules
        let loaded = pipeline
        let count = min(buckets, rules.bucketCount)
        try await ScratchDatabase.with(server: try database.url(), logger: logger) { url in
            try await EventStore.withRunning(url: url, maximumConnections: consumers + 2, logger: logger) { store in
                try await store.migrate()
                let started = ContinuousClock.now
                var profile = AttendeeProfile.standard
                if withoutHeartbeats { profile.heartbeatSessionShare = 0 }
                let simulator = AttendeeSimulator(rules: rules, pipelineID: loaded.id, participants: participants, seed: seed, profile: profile)
                let load = KafkaLoad(pipeline: loaded, logger: logger, chunk: chunk, consumers: consumers)
                let processed = try await load.store(simulator, into: store)
                print("published \(processed) events of \(participants) participants to \(loaded.kafka.partitions) partitions; a worker stored them with presence and contributions; \(started.duration(to: .now))")
                print(try await Self.storedRows(url: url, logger: logger))
                try await Self.markIdle(url: url, logger: logger)
                let figures = try await measure(pipeline: loaded, url: url, buckets: count, logger: logger)
                print(figures)
            }
        }
    }

    /// Ages every partition's last commit so that all count as idle: the watermark is then
    /// the injected processing time minus L, which the benchmark moves bucket by bucket.
    static func markIdle(url: DatabaseURL, logger: Logger) async throws {
        let connection = try await ScratchDatabase.connect(url, logger: logger)
        try await connection.query("UPDATE headcount.partition_progress SET updated_at = '2000-01-01Z'", logger: logger)
        try await connection.close()
    }

    /// What the rounds work on, for the record.
    static func storedRows(url: DatabaseURL, logger: Logger) async throws -> String {
        let connection = try await ScratchDatabase.connect(url, logger: logger)
        var text = ""
        let rows = try await connection.query(
            """
            SELECT (SELECT count(*) FROM headcount.bucket_contributions)::bigint, (SELECT count(*) FROM headcount.peak_changes)::bigint,
                   (SELECT count(*) FROM headcount.presence)::bigint, (SELECT count(*) FROM headcount.qualification_changes)::bigint
            """, logger: logger)
        for try await (buckets, peaks, presences, qualifications) in rows.decode((Int, Int, Int, Int).self) {
            text = "stored rows: \(buckets) bucket contributions, \(peaks) peak changes, \(presences) presences, \(qualifications) qualification changes"
        }
        try await connection.close()
        return text
    }

    private func measure(pipeline: Pipeline, url: DatabaseURL, buckets: Int, logger: Logger) async throws -> String {
        let rules = pipeline.rules
        let now = Atomic<Int64>(rules.windowStart.milliseconds)
        var configuration = ReporterConfiguration(pipeline: pipeline, signingKey: SigningKey.generate())
        configuration.roundInterval = .milliseconds(Int64(interval))
        configuration.clock = { Instant(milliseconds: now.load(ordering: .relaxed)) }
        // Stored directly, without Kafka: the store holds everything there is.
        let reporter = Reporter(
            configuration: configuration, url: url, highWatermarks: FixedHighWatermarks.nothingInKafka(pipeline), logger: logger)
        var latencies: [Duration] = []
        var rounds: [Duration] = []
        var takeover = Duration.zero
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await reporter.run() }
            defer { group.cancelAll() }
            while reporter.status.role != .active { try await Task.sleep(for: .milliseconds(5)) }
            // The first round after taking the lock loads the tally and the qualified set
            // from the store (what a standby taking over pays once): timed on its own, and
            // the buckets are measured in the steady state after it.
            while reporter.status.rounds < 1 { try await Task.sleep(for: .milliseconds(5)) }
            takeover = reporter.status.lastRound ?? .zero
            for m in 0..<buckets {
                // The watermark passes at a random moment of the reporter's cycle, as the
                // workers' progress would; right after a seal would always wait a full interval.
                try await Task.sleep(for: .milliseconds(Int.random(in: 0..<max(1, interval))))
                // The watermark reaches the moment bucket m becomes sealable exactly, min(E_m + S, end)
                // (COUNTING.md v2, sustained peak): processing time that plus L.
                let sealable = min(rules.bucketEnd(m) + rules.sustainedPeak, rules.windowEnd)
                now.store((sealable + rules.allowedLateness).milliseconds, ordering: .relaxed)
                let passed = ContinuousClock.now
                while reporter.status.sealedBuckets <= m { try await Task.sleep(for: .milliseconds(1)) }
                latencies.append(passed.duration(to: .now))
                rounds.append(reporter.status.lastRound ?? .zero)
            }
        }
        return """
            participants \(participants), buckets sealed \(buckets), round interval \(interval) ms
            first round after taking the lock (loads tally and qualified set, seals nothing): \(takeover)
            watermark → committed:  p50 \(Self.percentile(latencies, 0.50))  p99 \(Self.percentile(latencies, 0.99))  max \(latencies.max() ?? .zero)
            sealing round alone:    p50 \(Self.percentile(rounds, 0.50))  p99 \(Self.percentile(rounds, 0.99))  max \(rounds.max() ?? .zero)
            per bucket, ms (watermark → committed / round): \(zip(latencies, rounds).map { "\(Self.ms($0))/\(Self.ms($1))" }.joined(separator: " "))
            """
    }

    static func ms(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    static func percentile(_ values: [Duration], _ p: Double) -> Duration {
        guard !values.isEmpty else { return .zero }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded(.up)))]
    }
}
