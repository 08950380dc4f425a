import Foundation
import HeadcountCore
import HeadcountPipeline
import HeadcountStore
import HeadcountTestSupport
import HeadcountWorker
import Kafka
import Logging
import PostgresNIO
import Testing

/// `headcount work` as real processes: killed with SIGKILL at random moments, or stopped
/// with SIGTERM, it never loses an event and never stores one twice.
@Suite("Worker processes: kill -9 and SIGTERM", .serialized, .timeLimit(.minutes(20)))
struct WorkerCrashTests {
    typealias Support = WorkerIntegrationTests

    static func pipelineFile(_ pipeline: Pipeline) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString).yaml").path
        try """
            id: \(pipeline.id)
            window:
              start: \(pipeline.rules.windowStart.rfc3339)
              end: \(pipeline.rules.windowEnd.rfc3339)
            kafka:
              topic: \(pipeline.kafka.topic)
              partitions: \(pipeline.kafka.partitions)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func workArguments(_ file: String, _ cluster: KafkaDevCluster, _ url: DatabaseURL, idle: Int) -> [String] {
        [
            "work", "--pipeline", file, "--brokers", cluster.bootstrapServers, "--database", "\(url.description)",
            "--batch-size", "2000", "--stop-when-idle", "\(idle)", "--session-timeout", "6", "--no-metrics",
            "--log-level", ProcessInfo.processInfo.environment["HEADCOUNT_TEST_WORKER_LOG_LEVEL"] ?? "warning",
        ]
    }

    struct Stored: Sendable {
        var events: [String]
        var presence: [String]
        var numbers: [BucketNumbers]
    }

    /// Every stored event with where it came from, every presence and the summed
    /// contributions, in a fixed order: "row for row".
    static func rows(_ store: EventStore, _ pipeline: Pipeline) async throws -> Stored {
        Stored(
            events: try await store.eventRows(pipeline: pipeline.id),
            presence: try await store.presenceRows(pipeline: pipeline.id),
            numbers: try await store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules))
    }

    static func firstDifference(_ a: [String], _ b: [String]) -> String? {
        for (left, right) in zip(a, b) where left != right { return "\(left) ≠ \(right)" }
        return a.count == b.count ? nil : "\(a.count) rows ≠ \(b.count) rows"
    }

    @Test("kill -9 at random moments during 200,000 events: the store equals one clean run, row for row")
    func killNine() async throws {
        let cluster = try KafkaDevCluster(brokerCount: 3, logger: Support.logger)
        defer { withExtendedLifetime(cluster) {} }
        let pipeline = try Support.pipeline(topic: "crash-test", partitions: 12)
        try await cluster.createTopic(pipeline.kafka.topic, partitions: 12)
        let events = Support.events(participants: 92_000, pipeline: pipeline)
        #expect(events.count >= 200_000)
        try await Support.publish(events, pipeline: pipeline, cluster: cluster)
        let file = try Self.pipelineFile(pipeline)

        let clean = try await TestDatabase.withStore { store, url in
            var configuration = Support.configuration(pipeline, cluster, batch: 2_000)
            configuration.groupID = "clean-run"
            try await Worker(configuration: configuration, store: store, logger: Support.logger).run()
            return try await Self.rows(store, pipeline)
        }
        #expect(clean.events.count == Set(events.map(\.id)).count)
        #expect(clean.numbers == BatchCount(events: events, rules: pipeline.rules).buckets, "contributions sum to the batch count")

        let crashed = try await TestDatabase.withStore { store, url in
            var random = SystemRandomNumberGenerator()
            var seed = random.next() as UInt64
            print("kill -9 test seed: \(seed)")
            var kills = 0
            var stored = 0
            while kills < 5 {
                let worker = try HeadcountProcess(Self.workArguments(file, cluster, url, idle: 30))
                // Kill it at a random moment once it is storing: mid-batch, mid-commit, anywhere.
                try await waitUntil("worker \(kills + 1) to store events", timeout: .seconds(120)) {
                    try await store.eventCount(pipeline: pipeline.id) != stored || !worker.process.isRunning
                }
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                try await Task.sleep(for: .milliseconds(Int64((seed >> 33) % 2_500)))
                worker.signal(SIGKILL)
                _ = try await worker.wait(timeout: .seconds(10))
                kills += 1
                stored = try await store.eventCount(pipeline: pipeline.id)
                print("after kill \(kills): \(stored) events stored")
            }
            let last = try HeadcountProcess(Self.workArguments(file, cluster, url, idle: 8))
            let (status, _) = try await last.wait(timeout: .seconds(600))
            #expect(status == 0)
            return try await Self.rows(store, pipeline)
        }
        #expect(crashed.events.count == clean.events.count)
        // Compared whole, but reported by first difference: the lists hold 200,000 rows.
        #expect(Self.firstDifference(crashed.events, clean.events) == nil, "the same events from the same offsets")
        #expect(Self.firstDifference(crashed.presence, clean.presence) == nil, "the same presence, participant by participant")
        #expect(crashed.numbers == clean.numbers, "the same contributions summed")
    }

    @Test("SIGTERM: the batch in flight is stored, the worker leaves the group and exits 0 within the grace")
    func sigterm() async throws {
        let cluster = try KafkaDevCluster(brokerCount: 1, logger: Support.logger)
        defer { withExtendedLifetime(cluster) {} }
        let pipeline = try Support.pipeline(topic: "sigterm-test", partitions: 4)
        try await cluster.createTopic(pipeline.kafka.topic, partitions: 4)
        let events = Support.events(participants: 30_000, pipeline: pipeline)
        try await Support.publish(events, pipeline: pipeline, cluster: cluster)
        let file = try Self.pipelineFile(pipeline)
        try await TestDatabase.withStore { store, url in
            let first = try HeadcountProcess(Self.workArguments(file, cluster, url, idle: 30))
            try await waitUntil("the worker to store events", timeout: .seconds(60)) { try await store.eventCount(pipeline: pipeline.id) > 0 }
            first.signal(SIGTERM)
            let (status, output) = try await first.wait(timeout: .seconds(30))
            #expect(status == 0, "graceful shutdown exits 0")
            let firstProcessed = Self.processed(in: output)
            // Left cleanly: a new member gets the partitions at once, not after the session timeout.
            // The second runs until everything is stored, then leaves with SIGTERM too (not by
            // its idle stop, which a quiet spell on a loaded CI machine can end early).
            let second = try HeadcountProcess(Self.workArguments(file, cluster, url, idle: 600))
            try await waitUntil("the second worker to store every event", timeout: .seconds(120)) {
                try await store.eventCount(pipeline: pipeline.id) == Set(events.map(\.id)).count
            }
            second.signal(SIGTERM)
            let (secondStatus, secondOutput) = try await second.wait(timeout: .seconds(30))
            #expect(secondStatus == 0)
            #expect(
                firstProcessed + Self.processed(in: secondOutput) == events.count,
                "nothing lost, nothing twice; first worker: \(output.suffix(3000)); second worker: \(secondOutput.suffix(3000))")
            #expect(Set(try await store.events(pipeline: pipeline.id)) == Set(events))
        }
    }

    /// Messages a `headcount work` run processed, from its closing line.
    static func processed(in output: String) -> Int {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("stored ") }) else { return -1 }
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        // "stored N new events in B batches (D duplicates, L dead letters)"
        guard numbers.count == 4 else { return -1 }
        return numbers[0] + numbers[2] + numbers[3]
    }
}
