import ArgumentParser
import Foundation
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import HeadcountStore
import Kafka
import Logging
import Synchronization

/// `headcount bench rebalance`: how long partitions pause when workers join, leave and die,
/// under a steady live load, the dev cluster's rounds told apart from Headcount's own part.
struct BenchRebalanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebalance",
        abstract: "Partition pauses when a worker joins, leaves gracefully and is killed, under a steady live load.",
        discussion: """
            Starts an embedded development cluster and two `headcount work` processes (one consumer \
            each) into a new group on a scratch database, publishes events at a steady rate, then: a \
            third worker joins, it leaves with SIGTERM, and one of the first two is killed with SIGKILL. \
            For each change it reports the cluster's rebalance rounds (from the change to the last \
            assignment), Headcount's own part (rebalance callback to resume: offsets read, seek, resume), \
            and the pause of the partitions that kept their owner and of those that moved, from the \
            stored offsets sampled every 50 ms.
            """)

    @Option(help: "Partitions of the topic.")
    var partitions = 12

    @Option(help: "Events published per second, spread over every partition.")
    var rate = 1_000

    @Option(help: ArgumentHelp("Consumer group session timeout of the workers.", valueName: "seconds"))
    var sessionTimeout: Double = 6

    @Option(help: ArgumentHelp("An argument added to every `headcount work` the bench starts (repeatable), e.g. --worker-argument=--kafka-property=fetch.wait.max.ms=100.", valueName: "argument"))
    var workerArgument: [String] = []

    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard partitions >= 3 else { throw ValidationError("--partitions must be at least 3 (three workers share them)") }
        guard (50...100_000).contains(rate) else { throw ValidationError("--rate must be from 50 to 100000 events/s") }
        guard sessionTimeout >= 3 else { throw ValidationError("--session-timeout must be at least 3 seconds") }
    }

    func run() async throws {
        let logger = logging.bootstrap("headcount.bench")
        let url = try database.url()
        let cluster = try KafkaDevCluster(brokerCount: 3, logger: logger)
        defer { withExtendedLifetime(cluster) {} }
        let (pipeline, file) = try Self.livePipeline(partitions: partitions)
        try await cluster.createTopic(pipeline.kafka.topic, partitions: partitions)
        say("load: \(rate) events/s over \(partitions) partitions; workers with one consumer each, session timeout \(sessionTimeout) s, heartbeat \(sessionTimeout / 3 >= 2 ? 2 : sessionTimeout / 3) s; \(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(Self.loadAverage())")
        try await ScratchDatabase.with(server: url, logger: logger) { scratch in
            try await EventStore.withRunning(url: scratch, maximumConnections: 2, logger: logger) { store in
                try await store.migrate()
                let progress = ProgressSampler()
                let stop = Moment()
                try await KafkaProducer.withRunning(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger) { producer in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await Self.publishSteadily(producer, pipeline: pipeline, rate: rate, logger: logger, until: stop) }
                        group.addTask { try await progress.sample(store, pipeline: pipeline, until: stop) }
                        defer { stop.mark() }
                        try await scenario(pipeline: pipeline, file: file, cluster: cluster, database: scratch, progress: progress)
                    }
                }
            }
        }
    }

    /// Two workers form a new group; then a join, a graceful leave and a kill -9, each measured.
    private func scenario(pipeline: Pipeline, file: String, cluster: KafkaDevCluster, database: DatabaseURL, progress: ProgressSampler) async throws {
        let group = "bench-rebalance-\(UUID().uuidString.prefix(8))"
        let arguments = [
            "work", "--pipeline", file, "--brokers", cluster.bootstrapServers, "--database", database.description,
            "--group", group, "--concurrency", "1", "--session-timeout", "\(sessionTimeout)", "--no-metrics", "--log-level", "info",
        ] + workerArgument
        let all = Set(0..<Int32(partitions))
        let formed = ContinuousClock.now
        var workers = ["a": try BenchWorkerProcess(name: "a", arguments: arguments), "b": try BenchWorkerProcess(name: "b", arguments: arguments)]
        try await benchWait("every partition stores", timeout: .seconds(60)) { progress.progressing(all, since: formed) }
        let first = progress.firstProgress(after: formed).map { $0 - formed }
        say("new group: first batch stored \(seconds(first)) after the two workers were started (target ≤ 5 s) \(verdict(first, .seconds(5)))")
        try await Task.sleep(for: .seconds(5))
        let steady = progress.longestGap(of: all, in: ContinuousClock.now - .seconds(4), ContinuousClock.now)
        say("steady state: longest gap between stored batches of any partition \(seconds(steady)) (the worker's batch interval)")

        try await measure("join", target: .seconds(11), workers: { Array(workers.values) }, progress: progress) {
            workers["c"] = try BenchWorkerProcess(name: "c", arguments: arguments)
        }
        try await measure("graceful leave", target: .seconds(6), workers: { Array(workers.values) }, progress: progress) {
            workers["c"]?.signal(SIGTERM)
        }
        guard try await workers["c"]?.wait(timeout: .seconds(30)) == 0 else { throw BenchFailure(description: "the leaving worker did not exit 0") }
        try await measure("kill -9", target: .seconds(12), workers: { Array(workers.values) }, progress: progress) {
            workers["b"]?.signal(SIGKILL)
        }
        for worker in workers.values where worker.isRunning { worker.signal(SIGTERM) }
        for worker in workers.values { _ = try await worker.wait(timeout: .seconds(30)) }
    }

    /// Performs `change`, waits until the group has settled and every partition stores again,
    /// and reports the rounds, Headcount's part and the pauses.
    private func measure(
        _ name: String, target: Duration, workers: () -> [BenchWorkerProcess], progress: ProgressSampler,
        change: () throws -> Void
    ) async throws {
        let all = Set(0..<Int32(partitions))
        let changed = ContinuousClock.now
        try change()
        // Settled: an assignment after the change, every partition stored since the last one,
        // and no new assignment for a session timeout (no round still to come).
        let quiet = Duration.milliseconds(Int64(sessionTimeout * 1000))
        try await benchWait("the group to settle after the \(name)", timeout: .seconds(90), every: .milliseconds(100)) {
            let events = workers().flatMap { WorkerLogEvent.parse($0.lines, worker: $0.name) }.filter { $0.at > changed }
            guard let last = events.filter({ $0.kind == .assigned }).map(\.at).max() else { return false }
            return ContinuousClock.now - last > quiet && progress.progressing(all, since: last)
        }
        let events = workers().flatMap { WorkerLogEvent.parse($0.lines, worker: $0.name) }.filter { $0.at > changed }
        let report = RebalanceReport(changed: changed, events: events, partitions: all, progress: progress)
        say("\(name): \(report.summary(target: target))")
        // HEADCOUNT_BENCH_TRACE=1: every worker line since the change, in ms after it, to see
        // where a move's time goes.
        if ProcessInfo.processInfo.environment["HEADCOUNT_BENCH_TRACE"] == "1" {
            for worker in workers() {
                for line in worker.lines where line.at > changed {
                    say("  trace \(name) +\(Int((line.at - changed) / .milliseconds(1))) ms \(worker.name): \(line.text.prefix(400))")
                }
            }
        }
    }

    /// A pipeline whose window is now, written to a file for the workers.
    static func livePipeline(partitions: Int) throws -> (Pipeline, String) {
        let now = Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        let yaml = """
            id: bench-rebalance
            window:
              start: \(Instant(milliseconds: now.milliseconds - 3_600_000).rfc3339)
              end: \(Instant(milliseconds: now.milliseconds + 3 * 3_600_000).rfc3339)
            kafka:
              topic: headcount.bench-rebalance.\(UUID().uuidString.prefix(8))
              partitions: \(partitions)
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bench-rebalance-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        return (try Pipeline.parse(yaml: yaml, file: file), file)
    }

    /// Joins of new participants, `rate` a second in ticks of 20 ms, until `stop`.
    static func publishSteadily(_ producer: KafkaProducer, pipeline: Pipeline, rate: Int, logger: Logger, until stop: Moment) async throws {
        let publisher = CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger)
        var sent = 0
        let began = ContinuousClock.now
        while stop.instant == nil {
            let due = Int((ContinuousClock.now - began).inSeconds * Double(rate))
            let at = Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
            let events = (sent..<max(sent, due)).map {
                Event(id: "j\($0)", pipeline: pipeline.id, type: .join, participant: "p\($0)", session: "s\($0)", at: at, source: "bench")
            }
            if !events.isEmpty { _ = try await publisher.publish(events) }
            sent = max(sent, due)
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    private func say(_ text: String) {
        print("bench rebalance: " + text)
        fflush(nil)
    }
}

func seconds(_ duration: Duration?) -> String {
    duration.map { String(format: "%.2f s", $0.inSeconds) } ?? "n/a"
}

func verdict(_ measured: Duration?, _ target: Duration) -> String {
    guard let measured else { return "[no figure]" }
    return measured <= target ? "[met]" : "[MISSED]"
}
