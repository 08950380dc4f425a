import HeadcountCore
import HeadcountPipeline
@testable import HeadcountReporter
import HeadcountStore
import HeadcountTestSupport
import Logging
import PostgresNIO
import Synchronization
import Testing

/// The reporter's in-memory tally reads only new contribution rows, although `seq` is not
/// commit order.
@Suite("Reporter: contributions read incrementally, exactly once", .serialized, .timeLimit(.minutes(2)))
struct ContributionFeedTests {
    typealias Support = ReporterSupport

    @Test("rows committed out of seq order, and rows committed between fence and snapshot, are each counted exactly once")
    func outOfOrderCommits() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "feed")
            let writer = Writer(pipeline: pipeline)
            let early = try await Self.connect(url, id: 21), late = try await Self.connect(url, id: 22)
            let reporter = try await SealingConnection.open(url: url, logger: Support.logger)
            var feed = ContributionFeed(rules: pipeline.rules)

            // Round 1. `early` draws the lower seqs and stays open while `late` commits higher ones.
            try await early.query("BEGIN", logger: Support.logger)
            try await writer.insert(bucket: 0, at: 1_000, on: early)
            try await writer.insert(bucket: 1, at: 61_000, on: late)
            let fence = try await Self.fenceCommitting(early, observer: late, reporter: reporter)
            // Committed after the fence, before the round's snapshot: seen now, and must not be seen again.
            try await writer.insert(bucket: 2, at: 121_000, on: late)
            try await Self.round(reporter) { try await feed.advance($0, pipeline: pipeline.id, to: fence) }
            #expect(feed.fence == fence)
            let afterFirst = feed.numbers()
            #expect(try await afterFirst == store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules))

            // Round 2: the same again on top, then a round with nothing new.
            try await early.query("BEGIN", logger: Support.logger)
            try await writer.insert(bucket: 3, at: 181_000, on: early)
            try await writer.insert(bucket: 4, at: 241_000, on: late)
            let second = try await Self.fenceCommitting(early, observer: late, reporter: reporter)
            try await Self.round(reporter) { try await feed.advance($0, pipeline: pipeline.id, to: second) }
            let third = try await reporter.contributionFence()
            try await Self.round(reporter) { try await feed.advance($0, pipeline: pipeline.id, to: third) }

            let expected = try await store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules)
            let tallied = feed.numbers()
            #expect(tallied == expected, "the tally equals summing every row")
            #expect(expected.prefix(5).map(\.active) == [1, 1, 1, 1, 1])
            #expect(expected[4].unique == 5 && expected[4].peak == 5, "each row counted once")
            for connection in [early, late] { try await connection.close() }
            await reporter.close()
        }
    }

    /// Takes a fence while `open` holds an uncommitted write; the fence must wait for it.
    /// `observer` (outside any transaction, so its view of the sessions is current) sees it wait.
    static func fenceCommitting(
        _ open: PostgresConnection, observer: PostgresConnection, reporter: SealingConnection
    ) async throws -> ContributionFence {
        let done = Flag()
        return try await withThrowingTaskGroup(of: ContributionFence?.self) { group in
            group.addTask {
                let fence = try await reporter.contributionFence()
                done.value.store(true, ordering: .relaxed)
                return fence
            }
            group.addTask {
                // The fence has seen the open writer once it polls for that transaction's end
                // (`waitUntilEnded`); it cannot return before the writer commits.
                try await Eventually.until("the fence to wait for the open transaction", timeout: .seconds(30)) {
                    try await Self.fenceIsWaiting(on: observer)
                }
                let returned = done.value.load(ordering: .relaxed)
                #expect(!returned, "the fence waits for the transaction holding lower seqs")
                try await open.query("COMMIT", logger: Support.logger)
                return nil
            }
            var fence: ContributionFence?
            for try await result in group { fence = fence ?? result }
            return try #require(fence)
        }
    }

    /// Whether some other session's last statement is the fence's poll for ended transactions.
    static func fenceIsWaiting(on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT count(*)::bigint FROM pg_stat_activity
            WHERE pid <> pg_backend_pid() AND datname = current_database()
              AND query LIKE '%locktype = ''virtualxid''%' AND query NOT LIKE '%pg_stat_activity%'
            """, logger: Support.logger)
        for try await count in rows.decode(Int.self) { return count > 0 }
        return false
    }

    /// A flag child tasks share.
    final class Flag: Sendable {
        let value = Atomic(false)
    }

    static func round(_ reporter: SealingConnection, _ body: (SealingRound) async throws -> Void) async throws {
        try await reporter.withRound(pipeline: "feed-test") { round in try await body(round) }
    }

    static func connect(_ url: DatabaseURL, id: Int) async throws -> PostgresConnection {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        return try await PostgresConnection.connect(configuration: configuration, id: id, logger: Support.logger)
    }

    /// Writes one participant's worth of contribution, as a worker's batch would.
    struct Writer {
        let pipeline: Pipeline

        /// +1 active, unique and qualified in `bucket`, and a presence from `at` (ms after the window start) on.
        func insert(bucket: Int, at offset: Int64, on connection: PostgresConnection) async throws {
            let at = pipeline.rules.windowStart.milliseconds + offset
            try await connection.query(
                """
                INSERT INTO headcount.bucket_contributions (pipeline, bucket, active_delta, unique_delta, qualified_delta)
                VALUES (\(pipeline.id), \(bucket), 1, 1, 1)
                """, logger: Support.logger)
            try await connection.query(
                "INSERT INTO headcount.peak_changes (pipeline, at_ms, delta) VALUES (\(pipeline.id), \(at), 1)", logger: Support.logger)
        }
    }
}
