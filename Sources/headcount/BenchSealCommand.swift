import ArgumentParser
import Foundation
import HeadcountCertificate
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

    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap("headcount.bench")
        let pipeline = try PipelineOption(pipeline: self.pipeline).load()
        let rules = pipeline.rules
        let count = min(buckets, rules.bucketCount)
        try await ScratchDatabase.with(server: try database.url(), logger: logger) { url in
            try await EventStore.withRunning(url: url, maximumConnections: 4, logger: logger) { store in
                try await store.migrate()
                let started = ContinuousClock.now
                let stored = try await DirectIngest.store(
                    AttendeeSimulator(rules: rules, pipelineID: pipeline.id, participants: participants, seed: seed).events(),
                    pipeline: pipeline, store: store)
                print("stored \(stored) events of \(participants) participants with presence and contributions in \(started.duration(to: .now))")
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

    private func measure(pipeline: Pipeline, url: DatabaseURL, buckets: Int, logger: Logger) async throws -> String {
        let rules = pipeline.rules
        let now = Atomic<Int64>(rules.windowStart.milliseconds)
        var configuration = ReporterConfiguration(pipeline: pipeline, signingKey: SigningKey.generate())
        configuration.roundInterval = .milliseconds(Int64(interval))
        configuration.clock = { Instant(milliseconds: now.load(ordering: .relaxed)) }
        let reporter = Reporter(configuration: configuration, url: url, logger: logger)
        var latencies: [Duration] = []
        var rounds: [Duration] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await reporter.run() }
            defer { group.cancelAll() }
            while reporter.status.role != .active { try await Task.sleep(for: .milliseconds(5)) }
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
            watermark → committed:  p50 \(Self.percentile(latencies, 0.50))  p99 \(Self.percentile(latencies, 0.99))  max \(latencies.max() ?? .zero)
            sealing round alone:    p50 \(Self.percentile(rounds, 0.50))  p99 \(Self.percentile(rounds, 0.99))  max \(rounds.max() ?? .zero)
            """
    }

    static func percentile(_ values: [Duration], _ p: Double) -> Duration {
        guard !values.isEmpty else { return .zero }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded(.up)))]
    }
}

/// Stores events as the workers would, without Kafka: keyed to partitions by participant,
/// in batches with their presence and contributions, through the store's own commit.
enum DirectIngest {
    static func store(_ events: [Event], pipeline: Pipeline, store: EventStore, batchSize: Int = 5_000) async throws -> Int {
        var engine = IncrementalCount(rules: pipeline.rules, deduplication: .upstream)
        var next = [Int64](repeating: 0, count: pipeline.kafka.partitions)
        var stored = 0
        for start in stride(from: 0, to: events.count, by: batchSize) {
            var positioned: [PositionedEvent] = []
            var progress: [Int32: (from: Int64, maxAt: Instant?)] = [:]
            for event in events[start..<min(events.count, start + batchSize)] {
                let partition = Int32(partitionOf(event.participant, count: next.count))
                let offset = next[Int(partition)]
                next[Int(partition)] += 1
                positioned.append(PositionedEvent(event: event, partition: partition, offset: offset))
                let seen = progress[partition] ?? (offset, nil)
                progress[partition] = (seen.from, max(seen.maxAt ?? event.at, event.at))
            }
            let batch = EventBatch(
                pipeline: pipeline.id, topic: pipeline.kafka.topic, events: positioned, deadLetters: [],
                progress: progress.map { partition, seen in
                    PartitionProgress(
                        partition: partition, expectedNextOffset: seen.from == 0 ? nil : seen.from,
                        nextOffset: next[Int(partition)], maxEventAt: seen.maxAt)
                })
            let outcome = try await store.commit(batch) { fresh in
                var partitionOf: [String: Int32] = [:]
                for item in fresh { partitionOf[item.event.participant] = item.partition }
                var derived = DerivedPresence()
                for change in engine.ingest(fresh.map(\.event)).changes {
                    let contribution = PresenceContribution(presence: change.new, rules: pipeline.rules)
                    derived.add(
                        PresenceUpdate(
                            participant: change.participant, partition: partitionOf[change.participant] ?? -1, presence: change.new,
                            uniqueBucket: contribution.uniqueBucket, qualifiedBucket: contribution.qualifiedBucket),
                        delta: change.delta)
                }
                return derived
            }
            stored += outcome.inserted
        }
        return stored
    }

    /// FNV-1a of the key: a stable partition per participant, as keyed Kafka messages have.
    static func partitionOf(_ participant: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in participant.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(hash % UInt64(count))
    }
}
