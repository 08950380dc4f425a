import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HeadcountCore
import HeadcountPipeline
import HeadcountStore
import HeadcountTestSupport
import HeadcountWorker
import Kafka
import Logging
import ServiceLifecycle
import Testing

/// Outages in the middle of a run: PostgreSQL crashing and coming back, brokers going away
/// and coming back. The worker waits them out and, once they are over, has stored every
/// event exactly once.
@Suite("Worker: PostgreSQL and broker outages", .serialized, .timeLimit(.minutes(5)))
struct WorkerOutageTests {
    typealias Support = WorkerIntegrationTests

    @Test("PostgreSQL killed and restarted mid-run: the worker backs off, resumes, and stores what a clean run stores")
    func postgresRestart() async throws {
        let cluster = try KafkaDevCluster(brokerCount: 1, logger: Support.logger)
        // The mock cluster lives as long as its object: keep it until the end of the test.
        defer { withExtendedLifetime(cluster) {} }
        let pipeline = try Support.pipeline(topic: "postgres-outage-test", partitions: 6)
        try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
        let events = Support.events(participants: 23_000, pipeline: pipeline)
        try await Support.publish(events, pipeline: pipeline, cluster: cluster)

        let clean = try await TestDatabase.withStore { store, _ in
            var configuration = Support.configuration(pipeline, cluster, batch: 2_000)
            configuration.groupID = "clean-run"
            try await Worker(configuration: configuration, store: store, logger: Support.logger).run()
            return try await WorkerCrashTests.rows(store, pipeline)
        }
        #expect(clean.numbers == BatchCount(events: events, rules: pipeline.rules).buckets, "the clean run sums to the batch count")

        let log = LogRecorder()
        let restarted = try await PrivatePostgres.with { server in
            let url = try DatabaseURL(try await server.start())
            let store = EventStore(url: url, maximumConnections: 4, logger: Support.logger)
            return try await withThrowingTaskGroup(of: Void.self) { pool in
                pool.addTask { await store.run() }
                defer { pool.cancelAll() }
                try await store.migrate()
                // Small batches keep the run going long enough for the outage to land inside it.
                var configuration = Self.configuration(pipeline, cluster, batch: 200)
                configuration.concurrency = 2
                configuration.initialRetryDelay = .milliseconds(50)
                configuration.maximumRetryDelay = .seconds(1)
                let worker = Worker(configuration: configuration, store: store, logger: log.logger(label: "test.worker", level: .warning))
                // Done when the store says so: a commit whose answer the crash swallowed may have
                // committed, and then the worker's own tally never counts it.
                try await Self.runUntil(worker, reaches: events.count, progress: {
                    (try? await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic))
                        .map { Int($0.values.reduce(0, +)) } ?? 0
                }) {
                    while worker.statistics.snapshot.batches < 10 { try await Task.sleep(for: .milliseconds(10)) }
                    try await Self.outage(server, url: url, worker: worker, expected: events.count, log: log)
                }
                #expect(Support.processed(worker.statistics.snapshot) <= events.count, "no message counted twice")
                return try await WorkerCrashTests.rows(store, pipeline)
            }
        }
        #expect(WorkerCrashTests.firstDifference(restarted.events, clean.events) == nil, "the same events from the same offsets")
        #expect(WorkerCrashTests.firstDifference(restarted.presence, clean.presence) == nil, "the same presence, participant by participant")
        #expect(restarted.numbers == clean.numbers, "the same contributions summed")
        Self.expectBackoff(in: log, initial: .milliseconds(50), cap: .seconds(1))
    }

    /// Kills the server while the worker stores, keeps it down for 3 s, restarts it on the same
    /// port; again (up to 3 outages in all) while the worker has not had a commit fail, which
    /// happens when every kill lands between its transactions.
    static func outage(_ server: PrivatePostgres, url: DatabaseURL, worker: Worker, expected: Int, log: LogRecorder) async throws {
        for outage in 1...3 {
            try await server.kill()
            try await Task.sleep(for: .seconds(3))
            #expect(Support.processed(worker.statistics.snapshot) < expected, "the outage landed mid-run")
            let restarted = try DatabaseURL(try await server.start())
            #expect(restarted.port == url.port, "the restarted server kept its port")
            guard retries(in: log).isEmpty, outage < 3 else { return }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// The worker's retry messages: (attempt, delay) of each.
    static func retries(in log: LogRecorder) -> [(attempt: Int, delay: String)] {
        log.recorded.filter { $0.message == "storing a batch failed; retrying" }.map {
            (Int($0.metadata["attempt"] ?? "") ?? 0, $0.metadata["retryIn"] ?? "")
        }
    }

    /// The worker logged its retries, each after `initial` doubled per attempt up to `cap`,
    /// and said when it got past the failed batch: stored at last, or fenced because the
    /// attempt whose answer the crash swallowed had committed it.
    static func expectBackoff(in log: LogRecorder, initial: Duration, cap: Duration) {
        for entry in log.recorded where entry.level >= .warning {
            print("worker log: \(entry.level) \(entry.message) \(entry.metadata.sorted { $0.key < $1.key })")
        }
        let retries = retries(in: log)
        #expect(!retries.isEmpty, "the worker logged a retry")
        for (attempt, delay) in retries {
            let expected = min(initial * (1 << min(attempt - 1, 30)), cap)
            #expect(attempt >= 1 && delay == "\(expected)", "attempt \(attempt) waits \(expected), not \(delay)")
        }
        let resumed = log.recorded.filter {
            $0.message.hasPrefix("stored the batch after failed attempts") || $0.message.hasPrefix("batch fenced: an earlier attempt")
        }
        #expect(resumed.count >= Set(log.recorded.filter { $0.message == "storing a batch failed; retrying" }.map { $0.metadata["consumer"] }).count,
                "every consumer that retried said how it got past the batch")
    }

    @Test("brokers taken down and brought back mid-run: nothing lost, nothing twice")
    func brokerOutage() async throws {
        try await TestDatabase.withStore { store, _ in
            let cluster = try KafkaDevCluster(brokerCount: 3, logger: Support.logger)
            // The mock cluster lives as long as its object: keep it until the end of the test.
            defer { withExtendedLifetime(cluster) {} }
            let pipeline = try Support.pipeline(topic: "broker-outage-test", partitions: 6)
            try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
            let events = Support.events(participants: 23_000, pipeline: pipeline)
            try await Support.publish(events, pipeline: pipeline, cluster: cluster)

            var configuration = Self.configuration(pipeline, cluster, batch: 200)
            configuration.concurrency = 2
            let worker = Worker(configuration: configuration, store: store, logger: Support.logger)
            try await Self.runUntilProcessed(worker, expected: events.count) {
                while worker.statistics.snapshot.batches < 10 { try await Task.sleep(for: .milliseconds(10)) }
                // One broker: the leader of some partitions (and maybe the group coordinator).
                try await cluster.setBrokerDown(1)
                try await Task.sleep(for: .seconds(3))
                try await cluster.setBrokerUp(1)
                try await Task.sleep(for: .seconds(1))
                // Then the whole cluster at once.
                for broker in 1...Int32(cluster.brokerCount) { try await cluster.setBrokerDown(broker) }
                try await Task.sleep(for: .seconds(3))
                #expect(Support.processed(worker.statistics.snapshot) < events.count, "the outage landed mid-run")
                for broker in 1...Int32(cluster.brokerCount) { try await cluster.setBrokerUp(broker) }
            }
            #expect(Support.processed(worker.statistics.snapshot) == events.count, "every message processed exactly once")
            #expect(Set(try await store.events(pipeline: pipeline.id)) == Set(events), "nothing lost")
            let offsets = try await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic)
            #expect(offsets.values.reduce(0, +) == Int64(events.count), "stored offsets cover every message")
            #expect(try await store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules)
                == BatchCount(events: events, rules: pipeline.rules).buckets, "presence contributions match the batch count")
        }
    }

    /// The integration tests' settings, without the idle stop: an outage looks idle to a
    /// consumer, and these runs must end because the work is done, not because it stalled.
    static func configuration(_ pipeline: Pipeline, _ cluster: KafkaDevCluster, batch: Int) -> WorkerConfiguration {
        var configuration = Support.configuration(pipeline, cluster, batch: batch)
        configuration.stopWhenIdleFor = nil
        return configuration
    }

    /// Runs the worker, performs `outage` while it works, waits until it has processed
    /// `expected` messages (or fails after two minutes, saying where it got stuck), then
    /// lets it linger a moment, so that a message processed twice would show, and stops it.
    ///
    /// A worker stuck on a batch it cannot store would never finish a graceful shutdown:
    /// after 20 s the group cancels it, so the test fails instead of hanging.
    static func runUntilProcessed(
        _ worker: Worker, expected: Int, store: EventStore? = nil, outage: @Sendable () async throws -> Void
    ) async throws {
        try await runUntil(
            worker, reaches: expected, progress: { Support.processed(worker.statistics.snapshot) }, store: store, outage: outage)
    }

    /// `runUntilProcessed`, done when `progress` reaches `expected`.
    static func runUntil(
        _ worker: Worker, reaches expected: Int, progress: @Sendable () async -> Int, store: EventStore? = nil,
        outage: @Sendable () async throws -> Void
    ) async throws {
        var configuration = ServiceGroupConfiguration(services: [.init(service: worker)], logger: Support.logger)
        configuration.maximumGracefulShutdownDuration = .seconds(20)
        let group = ServiceGroup(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await outage()
                let deadline = ContinuousClock.now + .seconds(120)
                while await progress() < expected {
                    guard ContinuousClock.now < deadline else {
                        // Tell a stuck worker from an unreachable store: the same pool answering a
                        // query while the worker makes no progress points at the worker.
                        var reachable = "the store does not answer"
                        if let stored = try? await store?.eventCount(pipeline: "worker-test") {
                            reachable = "the store answers (\(stored) events stored)"
                        }
                        Issue.record("the worker is stuck at \(await progress()) of \(expected) messages after the outage; \(reachable)")
                        break
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await Task.sleep(for: .seconds(2))
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

/// A PostgreSQL cluster of the test's own, started with the project's `scripts/postgres.sh`
/// in a temporary folder, so the test can crash and restart it without disturbing anybody.
struct PrivatePostgres: Sendable {
    let folder: String

    /// The project's script, found from this file's place in the checkout.
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/postgres.sh").path

    /// Runs `body` with a new private cluster folder; stops the server and deletes the
    /// folder afterwards, whether `body` succeeded or not.
    static func with<T: Sendable>(_ body: (PrivatePostgres) async throws -> T) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-pg-\(UUID().uuidString)").path
        // The script starts from the port remembered in the folder: a random one away from the
        // project's clusters (54329 up), so that no cluster started during an outage takes it.
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "\(Int.random(in: 20_000..<30_000))\n".write(toFile: folder + "/port", atomically: true, encoding: .utf8)
        let server = PrivatePostgres(folder: folder)
        do {
            let result = try await body(server)
            try await server.remove()
            return result
        } catch {
            try? await server.remove()
            throw error
        }
    }

    /// Initialises the cluster on first use, starts it and returns its URL; the port stays
    /// the same across restarts (the script remembers it).
    @discardableResult
    func start() async throws -> String {
        try await run("start").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server immediately, without a shutdown checkpoint, as a crash would.
    func kill() async throws { _ = try await run("kill") }

    private func remove() async throws {
        _ = try await run("stop")
        try FileManager.default.removeItem(atPath: folder)
    }

    /// Runs the script with `command` and returns its standard output; a failure carries its
    /// standard error.
    ///
    /// Spawned by hand rather than with Foundation's `Process`: `start` leaves the server
    /// running as a daemon, and on Linux `Process` learns of its child's exit through a
    /// descriptor the daemon inherits, so it would wait for the server to stop instead.
    private func run(_ command: String) async throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-pg-\(UUID().uuidString)").path
        let outputPath = base + ".out", errorPath = base + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            try? FileManager.default.removeItem(atPath: errorPath)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["HEADCOUNT_PG_DIR"] = folder
        let pid = try Self.spawn(
            ["/bin/bash", Self.script, command], environment: environment, output: outputPath, errors: errorPath)
        // Polled, so no thread of the cooperative pool blocks on the child; initdb and a
        // start take a few seconds.
        let deadline = ContinuousClock.now + .seconds(120)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard ContinuousClock.now < deadline else {
                Glibc.kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw ScriptFailure(description: "scripts/postgres.sh \(command) did not finish within 120 s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        // The wait status: exit code in bits 8-15 when the low 7 bits (the signal) are 0.
        let exitCode = status & 0x7f == 0 ? (status >> 8) & 0xff : -1
        guard exitCode == 0 else {
            let message = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw ScriptFailure(description: "scripts/postgres.sh \(command) failed (wait status \(status)): \(message)")
        }
        return try String(contentsOfFile: outputPath, encoding: .utf8)
    }

    /// Starts `arguments` with standard input from /dev/null and its output in two files.
    private static func spawn(_ arguments: [String], environment: [String: String], output: String, errors: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard result == 0 else {
            throw ScriptFailure(description: "cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }
}

/// `scripts/postgres.sh` failed or hung; the description carries its standard error.
struct ScriptFailure: Error, CustomStringConvertible {
    var description: String
}
