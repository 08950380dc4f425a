import Foundation
import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountStore
import HeadcountTestSupport
import Logging
import PostgresNIO
import ServiceLifecycle
import Testing

@testable import HeadcountHTTP

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The dashboard on a real loopback port over a real PostgreSQL: seeded snapshots,
/// amendments, gaps and dead letters come back as the numbers of `/api/status`.
@Suite("Dashboard", .serialized, .timeLimit(.minutes(2)))
struct DashboardTests {
    static let logger = Logger(label: "test.dashboard")
    static let pipeline = try! Pipeline.parse(yaml: """
        id: dashboard-test
        title: Dashboard test webinar
        window:
          start: 2025-09-20T09:00:00+07:00
          end: 2025-09-20T10:00:00+07:00
        rules:
          minimumPresence: 10m
        """, file: "dashboard-test.yaml")
    static let key = try! SigningKey(seed: Array(repeating: 7, count: 32))

    /// Three buckets: unique and qualified grow, bucket 2 was sealed with a gap reason.
    static let numbers: [(active: Int, peak: Int, sustained: Int, unique: Int, qualified: Int)] = [
        (3, 2, 2, 3, 0), (5, 4, 3, 6, 1), (4, 4, 4, 7, 3),
    ]

    @Test("/api/status gives the sealed numbers, the chain head, amendments, gaps and dead letters; / is the page")
    func status() async throws {
        try await TestDatabase.withStore { store, url in
            let head = try await Self.seed(url)
            let rules = Self.pipeline.rules
            let now = rules.windowStart + .seconds(600)
            // As the reporter's last round recorded it: the dashboard shows the reporter's
            // watermark and why it waits, it does not compute one of its own.
            try await Self.sql(url, """
                INSERT INTO headcount.watermarks (pipeline, watermark, holding, processing_time)
                VALUES ('dashboard-test', '\((rules.bucketEnd(2) - rules.allowedLateness).rfc3339)',
                        ARRAY['partition 3: 1,204 messages not stored yet; offers 2025-09-20T02:01:00.000Z'], '\(now.rfc3339)')
                """)
            var configuration = DashboardConfiguration()
            configuration.port = 0
            configuration.refreshInterval = .milliseconds(50)
            configuration.clock = { now }
            let (ports, listening) = AsyncStream<Int>.makeStream()
            let dashboard = DashboardServer(
                pipeline: Self.pipeline, store: store, configuration: configuration, logger: Self.logger,
                onListening: { port in listening.yield(port) })
            // In a service group, stopped by graceful shutdown as SIGTERM would.
            let services = ServiceGroup(services: [dashboard], logger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await services.run() }
                defer { group.cancelAll() }
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                let base = "http://127.0.0.1:\(port)"

                let json = try await Self.status(base)
                let last = try #require(json["last"] as? [String: Any])
                #expect(last["bucket"] as? Int == 2)
                #expect(last["active"] as? Int == 4 && last["peak"] as? Int == 4 && last["sustained_peak"] as? Int == 4)
                #expect(last["unique"] as? Int == 7 && last["qualified"] as? Int == 3)
                #expect(last["incomplete"] as? String == "the test's own reason", "a bucket's stored reason is shown")
                #expect(json["sealed_buckets"] as? Int == 3)
                #expect(json["watermark"] as? String == (rules.bucketEnd(2) - rules.allowedLateness).rfc3339)
                #expect(json["watermark_round_at"] as? String == now.rfc3339)
                #expect((json["sealing_waits_for"] as? [String])?.first?.hasPrefix("partition 3: 1,204 messages not stored yet") == true)
                let chart = try #require(json["chart"] as? [String: Any])
                #expect(chart["unique"] as? [Int] == [3, 6, 7])
                #expect(chart["qualified"] as? [Int] == [0, 1, 3])
                #expect(chart["sustained_peak"] as? [Int] == [2, 3, 4])
                #expect(chart["amended"] as? [Int] == [1])
                // One retention gap flags every bucket, including those sealed before it.
                #expect(chart["incomplete"] as? [Int] == [0, 1, 2])
                let integrity = try #require(json["integrity"] as? [String: Any])
                #expect(integrity["head_hash"] as? String == head)
                #expect(integrity["public_key"] as? String == Self.key.publicKey.base64)
                #expect(integrity["amendments"] as? Int == 2 && integrity["amended_buckets"] as? Int == 1)
                #expect(integrity["messages_lost"] as? Int == 5)
                #expect((integrity["retention_gaps"] as? String)?.contains("events may be missing") == true)
                let result = try #require(json["result"] as? [String: Any])
                #expect(result["qualified"] as? Int == 3 && result["peak"] as? Int == 4 && result["sustained_peak"] as? Int == 4)
                #expect(result["final"] as? Bool == false && result["incomplete"] as? Bool == true)
                let totals = try #require(json["totals"] as? [String: Any])
                #expect(totals["events_stored"] as? Int == 2)
                #expect(totals["dead_letters"] as? Int == 3)
                #expect(totals["dead_letters_by_reason"] as? [String: Int] == ["malformed_json": 2, "too_large": 1])
                #expect(json["error"] == nil)

                let (page, response) = try await URLSession.shared.data(from: URL(string: base + "/")!)
                let html = String(decoding: page, as: UTF8.self)
                #expect((response as? HTTPURLResponse)?.statusCode == 200)
                #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/html") == true)
                #expect(html.contains("api/status") && html.contains("<svg") && html.contains("Sustained peak"))
                // Self-contained: nothing fetched from anywhere else.
                #expect(!html.contains("https://") && !html.contains("<link") && !html.contains("src=\""))
                await services.triggerGracefulShutdown()
                try await group.next()
            }
        }
    }

    @Test("a database with nothing sealed yet is shown as such, not as zeros")
    func empty() async throws {
        try await TestDatabase.withStore { store, _ in
            let dashboard = DashboardServer(pipeline: Self.pipeline, store: store, logger: Self.logger)
            await dashboard.refresh()
            let body = try #require(dashboard.currentBody)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            #expect(json["last"] == nil && json["result"] == nil)
            #expect(json["sealed_buckets"] as? Int == 0)
            #expect((json["pipeline"] as? [String: Any])?["buckets_total"] as? Int == 60)
        }
    }

    /// The status once the first read of the store is done (503 until then).
    static func status(_ base: String) async throws -> [String: Any] {
        for _ in 0..<100 {
            let (data, response) = try await URLSession.shared.data(from: URL(string: base + "/api/status")!)
            if (response as? HTTPURLResponse)?.statusCode == 503 {
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        throw NeverReady()
    }

    /// Seals the three buckets through the reporter's own statements, records two
    /// amendments of bucket 1, a retention gap, events and dead letters; returns the head hash.
    static func seed(_ url: DatabaseURL) async throws -> String {
        let rules = pipeline.rules
        var chain = try SnapshotChain(
            pipeline: PipelineCanonicalForm(id: pipeline.id, title: pipeline.title, rules: rules), signingKey: key)
        let connection = try await SealingConnection.open(url: url, logger: logger)
        try await connection.withRound(pipeline: "dashboard-test") { round in
            for (m, n) in numbers.enumerated() {
                let bucket = BucketNumbers(
                    bucket: m, bucketStart: rules.bucketStart(m), active: n.active, peak: n.peak, sustainedPeak: n.sustained,
                    unique: n.unique, qualified: n.qualified)
                let sealed = try chain.seal(bucket, qualifiedParticipants: (0..<n.qualified).map { "t-\($0)" })
                try await round.insert(StoredSnapshot(
                    pipeline: pipeline.id, numbers: bucket, participantsRoot: sealed.payload.participantsRoot,
                    prevHash: sealed.payload.prevHash, hash: sealed.hash, signature: sealed.signature,
                    watermark: rules.bucketEnd(m), sealedAt: rules.bucketEnd(m), incomplete: m == 2 ? "the test's own reason" : nil,
                    seenOffsets: [0: 10]),
                    // Qualified sets only grow here: each bucket's newcomers are t-(previous count) on.
                    newcomers: ((m == 0 ? 0 : numbers[m - 1].qualified)..<n.qualified).map { "t-\($0)" })
            }
            let certified = BucketNumbers(
                bucket: 1, bucketStart: rules.bucketStart(1), active: 5, peak: 4, sustainedPeak: 3, unique: 6, qualified: 1)
            for active in [6, 7] {
                var corrected = certified
                corrected.active = active
                try await round.insert(StoredAmendment(
                    sequence: 0, pipeline: pipeline.id, certified: certified, corrected: corrected,
                    detectedAt: Instant(milliseconds: 0), reason: "late", events: [], seenOffsets: [0: 12]))
            }
            try await round.storePublicKey(pipeline: pipeline.id, publicKey: key.publicKey.base64)
        }
        await connection.close()
        try await sql(url,
            """
            INSERT INTO headcount.events (id, pipeline, type, participant, session, at, source, kafka_partition, kafka_offset)
            VALUES ('e1', 'dashboard-test', 'join', 't-0', 's', '2025-09-20T02:00:01Z', 'test', 0, 0),
                   ('e2', 'dashboard-test', 'leave', 't-0', 's', '2025-09-20T02:01:01Z', 'test', 0, 1)
            """,
            """
            INSERT INTO headcount.dead_letters (pipeline, topic, kafka_partition, kafka_offset, reason, message, raw)
            VALUES ('dashboard-test', 't', 0, 2, 'malformed_json', 'x', '\\x00'::bytea),
                   ('dashboard-test', 't', 0, 3, 'malformed_json', 'x', '\\x00'::bytea),
                   ('dashboard-test', 't', 0, 4, 'too_large', 'x', '\\x00'::bytea)
            """,
            """
            INSERT INTO headcount.retention_gaps (pipeline, topic, kafka_partition, first_missing_offset, last_missing_offset)
            VALUES ('dashboard-test', 't', 1, 10, 14)
            """)
        return chain.headHash
    }

    static func sql(_ url: DatabaseURL, _ statements: String...) async throws {
        try await DirectSQL.rows(url, statements, logger: logger)
    }
}

struct NeverReady: Error, CustomStringConvertible {
    var description: String { "the dashboard never finished its first read of the store" }
}
