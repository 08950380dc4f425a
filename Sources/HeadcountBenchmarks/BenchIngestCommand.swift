import ArgumentParser
import Foundation
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import HeadcountSimulation
import HeadcountStore
import HeadcountWorker
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// `headcount bench ingest`: the worker's Kafka → PostgreSQL rate against the two limits it
/// sits between, a plain consumer and a plain COPY, all measured in one run on the same events.
struct BenchIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Worker ingest events/s (Kafka → PostgreSQL) against raw consume and raw COPY in the same run.",
        discussion: """
            Preloads a topic of an embedded development cluster with simulated canonical events, then \
            measures: a plain consumer reading and discarding them; a COPY of the rows they become into \
            an empty headcount.events; the real worker with each consumer count, from offset 0 into a \
            fresh database, until every event is stored with its offsets. Scratch databases are created \
            and dropped on the server of --database, so its role must be allowed to create databases.
            """)

    @Option(help: "Canonical events to preload.")
    var events = 2_000_000

    @Option(help: "Partitions of the topic (default: enough for the mock's 5 MB per partition, measured by a probe).")
    var partitions: Int?

    @Option(help: "Consumer counts of the end-to-end runs, comma-separated.", transform: Self.counts)
    var concurrency: [Int] = [1, 2, 4]

    @Option(help: "Largest batch the worker stores in one transaction (and the raw consumer polls).")
    var batchSize = 5_000

    @Option(help: ArgumentHelp("The pipeline file whose rules shape the simulated events.", valueName: "file"))
    var pipeline = "Pipelines/sumsel-ai-webinar-2025.yaml"

    @Option(help: "Simulator seed.")
    var seed: UInt64 = 20_250_920

    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions

    static func counts(_ text: String) throws -> [Int] {
        let counts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--concurrency must be positive counts separated by commas, like 1,2,4")
        }
        return counts.compactMap { $0 }
    }

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--events must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let partitions, partitions < 1 { throw ValidationError("--partitions must be at least 1") }
    }

    func run() async throws {
        do {
            try await measureAll()
        } catch let error as PSQLError {
            // PSQLError's description hides everything; a benchmark's operator needs the details.
            throw BenchFailure(description: String(reflecting: error))
        }
    }

    private func measureAll() async throws {
        let logger = logging.bootstrap("headcount.bench")
        let url = try database.url()
        var pipeline = try PipelineOption.load(path: self.pipeline)
        pipeline.kafka.topic = "headcount.\(pipeline.id).bench"
        let load = generate(pipeline)
        let rows = Self.firstOccurrences(load)
        let bytes = load.reduce(0) { $0 + CanonicalEvent.encode($1).utf8.count }
        say("load: \(thousands(load.count)) canonical events of \(pipeline.id), \(thousands(rows.count)) distinct ids, \(bytes / load.count) bytes each on average")

        let cluster = try KafkaDevCluster(brokerCount: 3, logger: logger)
        // The mock cluster lives as long as its object: keep it until the benchmark is over.
        defer { withExtendedLifetime(cluster) {} }
        if let partitions {
            pipeline.kafka.partitions = partitions
        } else {
            pipeline.kafka.partitions = try await probePartitions(load, pipeline, cluster, logger)
        }
        try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
        let published = try await measure(count: load.count) { [pipeline] in
            try await KafkaProducer.withRunning(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger) {
                _ = try await CanonicalPublisher(pipeline: pipeline, producer: $0, logger: logger).publish(load)
            }
        }
        say("preloaded \(pipeline.kafka.topic): \(pipeline.kafka.partitions) partitions on 3 mock brokers, published at \(thousands(published.rate)) events/s (not a figure of this benchmark)")
        try await checkRetained(pipeline, cluster, logger)

        let consume = try await rawConsume(pipeline, cluster, logger, copying: false)
        say("raw consume (librdkafka itself: 1 consumer, messages destroyed unread): \(consume.summary) events/s")
        let wrapper = try await rawConsume(pipeline, cluster, logger, copying: true)
        let wrapperRatio = String(format: "%.2f", wrapper.steadyRate / consume.steadyRate)
        say("wrapper consume (1 KafkaConsumer configured as the worker's, messages copied into Swift and discarded): \(wrapper.summary) events/s, \(wrapperRatio) of raw")
        let copy = try await rawCopy(rows, pipeline, url, logger)
        say("raw COPY (1 connection, \(thousands(rows.count)) rows into an empty headcount.events): \(copy.summary) rows/s")
        let limit = min(consume.steadyRate, copy.steadyRate)
        say("limit = min(raw consume, raw COPY) = \(thousands(limit)) events/s")
        for consumers in concurrency {
            let run = try await endToEnd(consumers: consumers, pipeline, cluster, distinct: rows.count, url, logger)
            let ratio = String(format: "%.2f", run.steadyRate / limit)
            say("worker, \(consumers) consumer\(consumers == 1 ? "" : "s"): \(run.summary) events/s, end to end / limit = \(ratio)")
        }
    }

    /// `events` simulated events, participant after participant; the last participant's story may be cut.
    private func generate(_ pipeline: Pipeline) -> [Event] {
        let simulator = AttendeeSimulator(
            rules: pipeline.rules, pipelineID: pipeline.id, participants: events, seed: seed, profile: .standard)
        var load: [Event] = []
        load.reserveCapacity(events)
        for chunk in simulator.chunks(ofParticipants: 2_000) {
            load += chunk.prefix(events - load.count)
            if load.count == events { break }
        }
        return load
    }

    /// The rows the store ends up with: the first event of each id in publishing order.
    static func firstOccurrences(_ load: [Event]) -> [Event] {
        var seen = Set<String>(minimumCapacity: load.count)
        return load.filter { seen.insert($0.id).inserted }
    }

    /// Enough partitions that none goes past 80 % of what the mock retains.
    ///
    /// The mock keeps about 5 MB of compressed message sets per partition: what that holds
    /// depends on how well lz4 packs these events, so it is measured by publishing into one
    /// partition until the mock starts deleting, and reading how many messages it kept.
    private func probePartitions(_ load: [Event], _ pipeline: Pipeline, _ cluster: KafkaDevCluster, _ logger: Logger) async throws -> Int {
        let probe = Pipeline(
            id: pipeline.id, title: pipeline.title, rules: pipeline.rules,
            kafka: .init(topic: pipeline.kafka.topic + ".probe", partitions: 1))
        try await cluster.createTopic(probe.kafka.topic, partitions: 1)
        let watcher = try KafkaConsumer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers, groupID: "bench-probe"), logger: logger)
        let partition = KafkaTopicPartition(topic: probe.kafka.topic, partition: 0)
        let step = 50_000
        let retained = try await KafkaProducer.withRunning(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger) { producer -> Int? in
            let publisher = CanonicalPublisher(pipeline: probe, producer: producer, logger: logger)
            for start in stride(from: 0, to: min(load.count, 1_000_000), by: step) {
                _ = try await publisher.publish(Array(load[start..<min(start + step, load.count)]))
                let marks = try await watcher.watermarks(for: partition)
                if marks.low > 0 { return Int(marks.high - marks.low) }
            }
            return nil
        }
        await watcher.close()
        guard let retained else {
            say("probe: one partition kept all \(thousands(min(load.count, 1_000_000))) events; using 1 partition per consumer")
            return max(1, concurrency.max() ?? 1)
        }
        let needed = (load.count * 5 + retained * 4 - 1) / (retained * 4)
        say("probe: one mock partition keeps \(thousands(retained)) of these events (≈ \(5 * 1_048_576 / retained) bytes each, lz4); \(needed) partitions keep them at ≤ 80 %")
        return max(needed, concurrency.max() ?? 1)
    }

    /// Fails unless every published event is still in the topic: the mock deletes silently.
    private func checkRetained(_ pipeline: Pipeline, _ cluster: KafkaDevCluster, _ logger: Logger) async throws {
        let watcher = try KafkaConsumer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers, groupID: "bench-check"), logger: logger)
        var total: Int64 = 0
        var dropped: Int64 = 0
        for partition in 0..<Int32(pipeline.kafka.partitions) {
            let marks = try await watcher.watermarks(for: KafkaTopicPartition(topic: pipeline.kafka.topic, partition: partition))
            total += marks.high
            dropped += marks.low
        }
        await watcher.close()
        guard dropped == 0, total == Int64(events) else {
            throw BenchFailure(description: "the development cluster kept \(total - dropped) of \(events) events (it holds about 5 MB per partition): pass a larger --partitions")
        }
    }

    /// A plain consumer of its own group, from the beginning, counting and discarding.
    ///
    /// - Parameter copying: whether each message is copied into a `KafkaConsumerMessage`
    ///   (the wrapper's cost) or destroyed unread (librdkafka's own rate).
    private func rawConsume(
        _ pipeline: Pipeline, _ cluster: KafkaDevCluster, _ logger: Logger, copying: Bool
    ) async throws -> IngestMeasurement {
        let assigned = Moment()
        let fromStart = KafkaRebalanceHandlers(assigned: { partitions in
            assigned.mark()
            return Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) })
        })
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "bench-raw-\(UUID().uuidString)")
        // As the worker reads: it needs no headers (reading them costs about 1 µs a message).
        configuration.copiesHeaders = false
        let consumer = try KafkaConsumer(configuration: configuration, rebalanceListener: fromStart, logger: logger)
        let started = ContinuousClock.now
        try await consumer.subscribe(topics: [pipeline.kafka.topic])
        var received = 0
        var progressed = started
        while received < events {
            let count = if copying {
                try await consumer.poll(maxMessages: batchSize, timeout: .milliseconds(100)).messages.count
            } else {
                try await consumer.pollDiscarding(maxMessages: batchSize, timeout: .milliseconds(100))
            }
            if count > 0 { progressed = .now }
            received += count
            guard ContinuousClock.now - progressed < .seconds(30) else {
                throw BenchFailure(description: "raw consume stalled at \(received) of \(events) events")
            }
        }
        let finished = ContinuousClock.now
        await consumer.close()
        return IngestMeasurement(count: received, started: started, joined: assigned.instant, finished: finished)
    }

    /// One COPY of `rows` into the real, empty events table of a scratch database.
    private func rawCopy(_ rows: [Event], _ pipeline: Pipeline, _ url: DatabaseURL, _ logger: Logger) async throws -> IngestMeasurement {
        let partitions = pipeline.kafka.partitions
        return try await ScratchDatabase.with(server: url, logger: logger) { scratch in
            try await EventStore.withRunning(url: scratch, maximumConnections: 1, logger: logger) { try await $0.migrate() }
            let connection = try await ScratchDatabase.connect(scratch, logger: logger)
            do {
                // copyFrom quotes the table name whole, so the schema comes from the search path.
                try await connection.query("SET search_path TO headcount", logger: logger)
                let measured = try await measure(count: rows.count) {
                    try await connection.copyFrom(table: "events", columns: CopyText.columns, logger: logger) { writer in
                        var buffer = ByteBuffer()
                        buffer.reserveCapacity(1 << 18)
                        for (index, event) in rows.enumerated() {
                            // Plausible positions: COPY's cost does not depend on their values.
                            CopyText.appendRow(PositionedEvent(event: event, partition: Int32(index % partitions), offset: Int64(index / partitions)), to: &buffer)
                            if buffer.readableBytes >= 1 << 18 {
                                try await writer.write(buffer)
                                buffer.clear()
                            }
                        }
                        if buffer.readableBytes > 0 { try await writer.write(buffer) }
                    }
                }
                try await connection.close()
                return measured
            } catch {
                try? await connection.close()
                throw error
            }
        }
    }

    /// The real worker from offset 0 into a scratch database, until every message is stored
    /// with its offsets; verified afterwards against the store.
    private func endToEnd(
        consumers: Int, _ pipeline: Pipeline, _ cluster: KafkaDevCluster, distinct: Int, _ url: DatabaseURL, _ logger: Logger
    ) async throws -> IngestMeasurement {
        let expected = events
        var configuration = WorkerConfiguration(
            pipeline: pipeline, bootstrapServers: cluster.bootstrapServers, groupID: "bench-\(consumers)-\(UUID().uuidString)")
        configuration.concurrency = consumers
        configuration.maximumBatchSize = batchSize
        // A safety net only: the run is stopped as soon as everything is stored. Long enough
        // for a member left without partitions while the group forms.
        configuration.stopWhenIdleFor = .seconds(10)
        return try await ScratchDatabase.with(server: url, logger: logger) { [configuration] scratch in
            try await EventStore.withRunning(url: scratch, maximumConnections: consumers + 2, logger: logger) { store in
                try await store.migrate()
                let worker = Worker(configuration: configuration, store: store, logger: logger)
                let measured = try await Self.watch(worker, expected: expected, partitions: pipeline.kafka.partitions, logger: logger)
                let offsets = try await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic)
                let stored = try await store.eventCount(pipeline: pipeline.id)
                guard measured.count == expected, offsets.values.reduce(0, +) == Int64(expected), stored == distinct else {
                    throw BenchFailure(description: "worker with \(consumers) consumers: processed \(measured.count) of \(expected) messages, stored \(stored) of \(distinct) distinct events")
                }
                return measured
            }
        }
    }

    /// Runs the worker until it has processed `expected` messages (or stopped by itself),
    /// noting when the group first gave out every partition.
    private static func watch(_ worker: Worker, expected: Int, partitions: Int, logger: Logger) async throws -> IngestMeasurement {
        let group = ServiceGroup(services: [worker], logger: logger)
        let stopped = Moment()
        let started = ContinuousClock.now
        var joined: ContinuousClock.Instant?
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                try await group.run()
                stopped.mark()
            }
            var processed = 0
            // A stall: messages wait (the topic is preloaded) while no batch is stored.
            var lastBatch: (count: Int, at: ContinuousClock.Instant)?
            var longestGap = Duration.zero
            while processed < expected, stopped.instant == nil {
                if joined == nil, worker.ownedPartitions.count == partitions { joined = .now }
                try await Task.sleep(for: .milliseconds(5))
                let totals = worker.statistics.snapshot
                processed = totals.inserted + totals.duplicates + totals.conflictingDuplicates + totals.deadLetters + totals.rejected
                if totals.batches != lastBatch?.count ?? 0 {
                    if let lastBatch { longestGap = max(longestGap, .now - lastBatch.at) }
                    lastBatch = (totals.batches, .now)
                }
            }
            let finished = ContinuousClock.now
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return IngestMeasurement(count: processed, started: started, joined: joined, finished: finished, longestGap: longestGap)
        }
    }

    private func measure(count: Int, _ body: () async throws -> Void) async throws -> IngestMeasurement {
        let started = ContinuousClock.now
        try await body()
        return IngestMeasurement(count: count, started: started, joined: nil, finished: .now, longestGap: nil)
    }

    private func say(_ text: String) {
        print("bench ingest: " + text)
        // Progress shows as it happens even when standard output is a file.
        fflush(nil)  // nil: every output stream, without touching the global `stdout`
    }
}

/// How long something took to handle `count` items, and when its consumer group had formed.
struct IngestMeasurement {
    var count: Int
    var started: ContinuousClock.Instant
    /// When every partition was first assigned, for consumers: the group join is a fixed
    /// cost of the mock's protocol, not a rate, so the steady rate leaves it out.
    var joined: ContinuousClock.Instant?
    var finished: ContinuousClock.Instant
    /// For worker runs: the longest time between two stored batches after the first; over
    /// 2 s is a stall (a rebalance that stopped the pipeline while messages waited).
    var longestGap: Duration? = nil

    var rate: Double { Double(count) / (finished - started).inSeconds }
    var steadyRate: Double { Double(count) / (finished - (joined ?? started)).inSeconds }

    var summary: String {
        let total = String(format: "%.2f s", (finished - started).inSeconds)
        guard let joined else { return "\(thousands(rate)) (\(thousands(count)) in \(total))" }
        let join = String(format: "%.2f s", (joined - started).inSeconds)
        let gap = longestGap.map { String(format: "; longest gap between stored batches %.2f s", $0.inSeconds) + ($0 > .seconds(2) ? " (STALL)" : "") } ?? ""
        return "\(thousands(steadyRate)) after the group join (\(thousands(count)) in \(total), join \(join); \(thousands(rate)) including it\(gap))"
    }
}

/// A measurement that went wrong: the events did not all arrive or were not all stored.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}

/// A moment marked from another thread (the consumer's, in a rebalance callback).
final class Moment: Sendable {
    private let value = Mutex<ContinuousClock.Instant?>(nil)

    func mark() { value.withLock { $0 = $0 ?? .now } }

    var instant: ContinuousClock.Instant? { value.withLock { $0 } }
}

extension Duration {
    var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

/// `1234567` as `1,234,567`.
func thousands(_ value: some BinaryInteger) -> String {
    let digits = String(value)
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return out
}

func thousands(_ value: Double) -> String { thousands(Int(value.rounded())) }
