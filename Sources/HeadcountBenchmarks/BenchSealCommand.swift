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
            Stores the simulated events of --participants teachers with their presence and contributions (as workers \
            do, without Kafka) into a scratch database on the server of --database, marks every partition idle, then \
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

    @Option(help: "Parallel loaders, each with its own connection and its own share of the partitions.")
    var loaders = 1

    @Option(help: "Participants generated and stored at a time per loader (bounds the load's memory).")
    var chunk = 100_000

    @Flag(help: "Load without heartbeat sessions (about 6 events per participant instead of 75), so that a million load quickly.")
    var withoutHeartbeats = false

    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap("headcount.bench")
        let pipeline = try PipelineOption.load(path: self.pipeline)
        let rules = pipeline.rules
        let count = min(buckets, rules.bucketCount)
        try await ScratchDatabase.with(server: try database.url(), logger: logger) { url in
            try await EventStore.withRunning(url: url, maximumConnections: max(4, loaders + 1), logger: logger) { store in
                try await store.migrate()
                let started = ContinuousClock.now
                var profile = AttendeeProfile.standard
                if withoutHeartbeats { profile.heartbeatSessionShare = 0 }
                let simulator = AttendeeSimulator(rules: rules, pipelineID: pipeline.id, participants: participants, seed: seed, profile: profile)
                let stored = try await DirectIngest(pipeline: pipeline, store: store, loaders: loaders, chunk: chunk).store(simulator)
                print("stored \(stored) events of \(participants) participants with presence and contributions in \(started.duration(to: .now))")
                print(try await Self.storedRows(url: url, logger: logger))
                try await Self.markIdle(url: url, logger: logger)
                let figures = try await measure(pipeline: pipeline, url: url, buckets: count, logger: logger)
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
                // The watermark reaches E_m exactly: processing time E_m + L.
                now.store((rules.bucketEnd(m) + rules.allowedLateness).milliseconds, ordering: .relaxed)
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
