import Foundation
import HeadcountAdapters
import HeadcountCertificate
import HeadcountCore
import HeadcountOperations
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
import Testing

/// `headcount status` against a running pipeline: the dev cluster, PostgreSQL, a worker with
/// its heartbeats and a reporter in-process, `status --json` as a real process; its numbers
/// are checked against the database's own.
@Suite("headcount status", .serialized, .timeLimit(.minutes(4)))
struct StatusTests {
    static let logger: Logger = {
        var logger = Logger(label: "test.status")
        logger.logLevel = .warning
        return logger
    }()

    static let yaml = """
        id: status-test
        title: Status test webinar
        window:
          start: 2025-09-20T09:00:00+07:00
          end: 2025-09-20T10:00:00+07:00
        rules:
          minimumPresence: 10m
        kafka:
          topic: status-test
          partitions: 4
        """

    @Test("lag, watermark reasons, sealing, dead letters and the live workers match the database; unstored messages show as lag")
    func againstARunningPipeline() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Pipeline.parse(yaml: Self.yaml, file: "status-test.yaml")
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("status-\(UUID().uuidString).yaml").path
            try Self.yaml.write(toFile: file, atomically: true, encoding: .utf8)
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: Self.logger)
            defer { withExtendedLifetime(cluster) {} }
            try await cluster.createTopic(pipeline.kafka.topic, partitions: 4)
            let events = AttendeeSimulator(rules: pipeline.rules, pipelineID: pipeline.id, participants: 40, seed: 5).events()
            try await Self.publish(events, raw: ["not json at all"], pipeline: pipeline, cluster: cluster)
            // Retried webhooks repeat ids: each is stored once (or kept as a dead letter when its content differs).
            let distinct = Set(events.map(\.id)).count

            var configuration = WorkerConfiguration(pipeline: pipeline, bootstrapServers: cluster.bootstrapServers)
            configuration.concurrency = 2
            configuration.pollTimeout = .milliseconds(100)
            configuration.sessionTimeout = .seconds(6)
            let worker = Worker(configuration: configuration, store: store, logger: Self.logger)
            let heartbeats = WorkerHeartbeatWriter(worker: worker, store: store, interval: .seconds(1), checkInterval: .milliseconds(100), logger: Self.logger)
            var reporterConfiguration = ReporterConfiguration(pipeline: pipeline, signingKey: try SigningKey(seed: Array(repeating: 3, count: 32)))
            reporterConfiguration.roundInterval = .milliseconds(200)
            let reporter = Reporter(
                configuration: reporterConfiguration, url: url,
                highWatermarks: try KafkaHighWatermarkSource(
                    configuration: KafkaAdminConfiguration(bootstrapServers: cluster.bootstrapServers), topic: pipeline.kafka.topic,
                    logger: Self.logger),
                logger: Self.logger)
            let group = ServiceGroup(services: [heartbeats, reporter, worker], logger: Self.logger)
            var progress = ""
            // The reporter runs on while `status` reads: its watermark is only steady once a whole
            // round began after the last event was stored, so wait for two more rounds than then.
            var roundsWhenStored: Int?
            let arguments = ["status", "--pipeline", file, "--brokers", cluster.bootstrapServers, "--database", Self.text(url), "--json"]
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // On a failed expectation below, the services must stop too, or the group waits forever.
                defer { tasks.cancelAll() }
                do { try await Eventually.until("every event and the dead letter stored, each partition owned", timeout: .seconds(90), interval: .milliseconds(100)) {
                    let stored = try await store.eventCount(pipeline: pipeline.id)
                    let dead = try await store.deadLetterCount(pipeline: pipeline.id)
                    let owned = try await store.workerHeartbeats(pipeline: pipeline.id).flatMap(\.partitions)
                    let status = reporter.status
                    progress = "\(stored) of \(distinct) stored, \(dead) dead letters, partitions owned \(owned.sorted()), \(status.rounds) rounds, watermark \(status.watermark?.rfc3339 ?? "none")"
                    guard stored == distinct && dead >= 1 && Set(owned) == [0, 1, 2, 3] else { return false }
                    let since = roundsWhenStored ?? status.rounds
                    roundsWhenStored = since
                    return status.rounds >= since + 2 && status.watermark != nil
                } } catch {
                    Issue.record("\(error); at the end: \(progress)")
                    throw error
                }
                let json = try await Self.status(arguments, expecting: 0)
                try await Self.checkAgainstDatabase(json, url: url, pipeline: pipeline)
                let workers = try #require(json["workers"] as? [[String: Any]])
                #expect(workers.count == 2, "two consumers")
                #expect(workers.allSatisfy { $0["stale"] as? Bool == false })
                #expect(workers.flatMap { $0["partitions"] as? [Int] ?? [] }.sorted() == [0, 1, 2, 3])
                #expect(json["unowned_partitions"] as? [Int] == [])
                #expect(json["total_lag"] as? Int == 0)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }

            // Stopped gracefully: the rows are gone. Three more messages that nobody stores are lag.
            #expect(try await store.workerHeartbeats(pipeline: pipeline.id).isEmpty)
            try await Self.publish([], raw: ["late 1", "late 2", "late 3"], pipeline: pipeline, cluster: cluster)
            let json = try await Self.status(arguments, expecting: 0)
            try await Self.checkAgainstDatabase(json, url: url, pipeline: pipeline)
            #expect(json["total_lag"] as? Int == 3)
            #expect(json["unowned_partitions"] as? [Int] == [0, 1, 2, 3])
            let partitions = try #require(json["partitions"] as? [[String: Any]])
            let behind = partitions.filter { $0["watermark_reason"] as? String == "behind" }
            #expect(behind.reduce(0) { $0 + ($1["lag"] as? Int ?? 0) } == 3, "the partitions with unstored messages hold the watermark")
            #expect(behind.allSatisfy { $0["holds_watermark"] as? Bool == true })
            #expect((json["problems"] as? [String])?.contains { $0.contains("no live worker owns") } == true)

            // Kafka unreachable: the store's part is still printed, and the exit status says so.
            let closed = try Self.closedPort()
            let partial = try await Self.status(
                ["status", "--pipeline", file, "--brokers", "127.0.0.1:\(closed)", "--database", Self.text(url), "--json", "--timeout", "2"],
                expecting: 69)
            #expect((partial["kafka"] as? [String: Any])?["reachable"] as? Bool == false)
            #expect((partial["database"] as? [String: Any])?["reachable"] as? Bool == true)
            #expect(partial["events_stored"] as? Int == distinct)
            #expect(partial["total_lag"] == nil)
        }
    }

    /// Every number `status` took from the store, against plain SQL.
    static func checkAgainstDatabase(_ json: [String: Any], url: DatabaseURL, pipeline: Pipeline) async throws {
        let progress = try await sql(url, "SELECT kafka_partition || ':' || next_offset FROM headcount.partition_progress WHERE pipeline = 'status-test'")
        let partitions = try #require(json["partitions"] as? [[String: Any]])
        #expect(partitions.map { $0["partition"] as? Int } == [0, 1, 2, 3])
        let reported = partitions.compactMap { p in (p["stored_next_offset"] as? Int).map { "\(p["partition"] as? Int ?? -1):\($0)" } }
        #expect(Set(reported) == Set(progress))
        for partition in partitions {
            let high = try #require(partition["high_watermark"] as? Int)
            #expect(partition["lag"] as? Int == high - (partition["stored_next_offset"] as? Int ?? 0))
        }
        #expect(json["events_stored"] as? Int == Int(try await sql(url, "SELECT count(*)::text FROM headcount.events").first ?? ""))
        #expect(json["sealed_buckets"] as? Int == Int(try await sql(url, "SELECT count(*)::text FROM headcount.snapshots").first ?? ""))
        let lastBucket = try await sql(url, "SELECT max(bucket)::text FROM headcount.snapshots").first
        #expect((json["last_sealed"] as? [String: Any])?["bucket"] as? Int == lastBucket.flatMap { Int($0) })
        let reasons = try await sql(url, "SELECT reason || '=' || count(*) FROM headcount.dead_letters GROUP BY reason")
        let dead = try #require(json["dead_letters"] as? [String: Any])
        let byReason = try #require(dead["by_reason"] as? [String: Int])
        #expect(Set(byReason.map { "\($0.key)=\($0.value)" }) == Set(reasons))
        #expect(byReason["malformed_json"] == 1, "the one message that is not JSON")
        let stored = try await sql(url, "SELECT (extract(epoch FROM watermark) * 1000)::bigint::text FROM headcount.watermarks").first
        let reporter = (json["watermark"] as? [String: Any])?["reporter"] as? String
        #expect(reporter.flatMap { Instant(rfc3339: $0) }?.milliseconds == stored.flatMap { Int64($0) })
        #expect((json["retention_gaps"] as? [Any])?.isEmpty == true)
    }

    static func status(_ arguments: [String], expecting expected: Int32) async throws -> [String: Any] {
        let process = try HeadcountProcess(arguments, capturingStandardError: true)
        let (status, output) = try await process.wait(timeout: .seconds(60))
        #expect(status == expected, "status exited \(status): \(process.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "not JSON: \(output)")
    }

    static func publish(_ events: [Event], raw: [String], pipeline: Pipeline, cluster: KafkaDevCluster) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            if !events.isEmpty {
                _ = try await CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger).publish(events)
            }
            for (index, text) in raw.enumerated() {
                _ = try await producer.send(KafkaProducerMessage(
                    topic: pipeline.kafka.topic, partition: Int32(index % 4), key: nil as [UInt8]?, value: Array(text.utf8)))
            }
        }
    }

    static func text(_ url: DatabaseURL) -> String {
        "postgres://\(url.username)\(url.password.map { ":\($0)" } ?? "")@\(url.host):\(url.port)/\(url.database)"
    }

    @discardableResult
    static func sql(_ url: DatabaseURL, _ statement: String) async throws -> [String] {
        try await DirectSQL.rows(url, [statement], logger: logger)
    }

    /// A loopback port nothing listens on.
    static func closedPort() throws -> Int { try closedLoopbackPort() }
}
