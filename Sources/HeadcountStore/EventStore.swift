import HeadcountCore
import Logging
import PostgresNIO
import ServiceLifecycle

/// Headcount's PostgreSQL: a pool of connections and the statements every stage needs.
///
/// A ServiceLifecycle `Service`: its `run()` runs the connection pool, and every other
/// method needs `run()` to be running in some task.
public final class EventStore: Service, Sendable {
    let client: PostgresClient
    let logger: Logger
    /// Bounds every transaction, so that a broken connection cannot hang its caller.
    let watchdog: TransactionWatchdog
    /// The URL without its password, for messages.
    public let url: DatabaseURL

    /// - Parameters:
    ///   - maximumConnections: pool size; default 8, enough for a worker process with
    ///     several consumers and the reporter.
    ///   - watchdog: deadlines of transactions; default `TransactionWatchdog()`.
    public init(url: DatabaseURL, maximumConnections: Int = 8, logger: Logger, watchdog: TransactionWatchdog = TransactionWatchdog()) {
        self.url = url
        self.logger = logger
        self.watchdog = watchdog
        self.client = PostgresClient(
            configuration: url.clientConfiguration(maximumConnections: maximumConnections),
            backgroundLogger: logger)
    }

    public func run() async {
        await client.run()
    }

    /// Applies every migration not yet applied, safely when several processes start at once.
    public func migrate() async throws(StoreError) {
        // A schema change may rewrite a large table: far longer bounds than a batch's.
        var options = TransactionOptions(purpose: "applying migrations")
        options.statementTimeout = .seconds(3600)
        options.idleTimeout = .seconds(60)
        do {
            try await withTransaction(options) { connection in
                // A transaction-scoped advisory lock serialises concurrent starters; the
                // loser sees the finished schema once the winner commits.
                for try await _ in try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtext('headcount.migrations'))", logger: self.logger) {}
                try await connection.query("CREATE SCHEMA IF NOT EXISTS headcount", logger: self.logger)
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS headcount.schema_migrations (
                        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: self.logger)
                var applied = Set<Int>()
                for try await version in try await connection.query(
                    "SELECT version FROM headcount.schema_migrations", logger: self.logger
                ).decode(Int.self) {
                    applied.insert(version)
                }
                if let newest = applied.max(), newest > (Migrations.all.last?.version ?? 0) {
                    throw StoreError(.schemaTooNew, "the database has schema version \(newest), this program knows up to \(Migrations.all.last?.version ?? 0)")
                }
                for migration in Migrations.all where !applied.contains(migration.version) {
                    for statement in migration.sql {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                    }
                    try await connection.query(
                        "INSERT INTO headcount.schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: self.logger)
                    self.logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                }
            }
        } catch {
            throw StoreError.wrapping(error, while: "applying migrations")
        }
    }

    /// The next offset stored for each partition of the pipeline's topic.
    ///
    /// Workers seek here on assignment: these, not Kafka's committed offsets, say what has
    /// been processed, because they were written in the same transaction as the events.
    public func storedOffsets(pipeline: String, topic: String) async throws(StoreError) -> [Int32: Int64] {
        do {
            var offsets: [Int32: Int64] = [:]
            let rows = try await client.query(
                """
                SELECT kafka_partition, next_offset FROM headcount.partition_progress
                WHERE pipeline = \(pipeline) AND topic = \(topic)
                """, logger: logger)
            for try await (partition, offset) in rows.decode((Int32, Int64).self) {
                offsets[partition] = offset
            }
            return offsets
        } catch {
            throw StoreError.wrapping(error, while: "reading stored offsets")
        }
    }

    /// Number of distinct events stored for a pipeline.
    public func eventCount(pipeline: String) async throws(StoreError) -> Int {
        try await count("SELECT count(*) FROM headcount.events WHERE pipeline = \(pipeline)", while: "counting events")
    }

    /// Number of dead letters recorded for a pipeline.
    public func deadLetterCount(pipeline: String) async throws(StoreError) -> Int {
        try await count("SELECT count(*) FROM headcount.dead_letters WHERE pipeline = \(pipeline)", while: "counting dead letters")
    }

    /// Dead letters per reason code, for reports.
    public func deadLettersByReason(pipeline: String) async throws(StoreError) -> [String: Int] {
        do {
            var result: [String: Int] = [:]
            let rows = try await client.query(
                "SELECT reason, count(*) FROM headcount.dead_letters WHERE pipeline = \(pipeline) GROUP BY reason",
                logger: logger)
            for try await (reason, count) in rows.decode((String, Int).self) { result[reason] = count }
            return result
        } catch {
            throw StoreError.wrapping(error, while: "counting dead letters")
        }
    }

    /// Every stored event of a pipeline, for the recount and for checks.
    public func events(pipeline: String) async throws(StoreError) -> [Event] {
        do {
            var events: [Event] = []
            let rows = try await client.query(
                """
                SELECT id, type, participant, session, (extract(epoch FROM at) * 1000)::bigint, source
                FROM headcount.events WHERE pipeline = \(pipeline)
                """, logger: logger)
            for try await (id, type, participant, session, at, source) in rows.decode((String, String, String, String, Int64, String).self) {
                // The table's CHECK allows only the three types; a row with another one means
                // the schema was changed under this program: counting it as anything would
                // certify a guess.
                guard let known = EventType(rawValue: type) else {
                    throw StoreError(
                        .invalidData,
                        "stored event \(id) has type \"\(type.prefix(40))\", which this program does not know (join, leave, heartbeat)",
                        pipeline: pipeline)
                }
                events.append(Event(
                    id: id, pipeline: pipeline, type: known, participant: participant, session: session,
                    at: Instant(milliseconds: at), source: source))
            }
            return events
        } catch {
            throw StoreError.wrapping(error, while: "reading events", pipeline: pipeline)
        }
    }

    private func count(_ query: PostgresQuery, while doing: String) async throws(StoreError) -> Int {
        do {
            for try await value in try await client.query(query, logger: logger).decode(Int.self) { return value }
            return 0
        } catch {
            throw StoreError.wrapping(error, while: doing)
        }
    }
}

extension EventStore {
    /// Retention gaps recorded for a pipeline, oldest offsets first.
    public func retentionGaps(pipeline: String) async throws(StoreError) -> [RetentionGap] {
        do {
            return try await client.withConnection { connection in
                try await CertificationQueries.retentionGaps(pipeline: pipeline, on: connection, logger: self.logger)
            }
        } catch {
            throw StoreError.wrapping(error, while: "reading retention gaps")
        }
    }
}

extension EventStore {
    /// Every stored event of a pipeline as one text line with its Kafka position, ordered
    /// by id: two stores hold the same data exactly when these lists are equal.
    public func eventRows(pipeline: String) async throws(StoreError) -> [String] {
        do {
            var rows: [String] = []
            let result = try await client.query(
                """
                SELECT concat_ws('|', id, type, participant, session, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS'),
                                 source, kafka_partition, kafka_offset)
                FROM headcount.events WHERE pipeline = \(pipeline) ORDER BY id
                """, logger: logger)
            for try await row in result.decode(String.self) { rows.append(row) }
            return rows
        } catch {
            throw StoreError.wrapping(error, while: "reading event rows")
        }
    }
}
