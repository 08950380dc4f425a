import HeadcountCore
import Logging
import NIOSSL
import PostgresNIO

/// The reporter's own PostgreSQL session: it holds the pipeline's sealing lock and runs
/// every read and write of a sealing round.
///
/// The lock is a session-level advisory lock, so it lives exactly as long as this
/// connection: when the reporter dies or its connection drops, PostgreSQL releases it and
/// a standby takes over. Writing through the same session is the fence: a reporter whose
/// connection (hence lock) is gone cannot write a seal either.
public final class SealingConnection: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    let watchdog: TransactionWatchdog

    private init(connection: PostgresConnection, watchdog: TransactionWatchdog, logger: Logger) {
        self.connection = connection
        self.watchdog = watchdog
        self.logger = logger
    }

    /// Opens a connection outside any pool; `watchdog` bounds its sealing rounds.
    public static func open(
        url: DatabaseURL, watchdog: TransactionWatchdog = TransactionWatchdog(), logger: Logger
    ) async throws(StoreError) -> SealingConnection {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try url.connectionConfiguration(), id: Int.random(in: 1..<Int(Int32.max)), logger: logger)
            return SealingConnection(connection: connection, watchdog: watchdog, logger: logger)
        } catch {
            throw StoreError.wrapping(error, while: "opening the reporter's connection")
        }
    }

    /// Closes the session, which releases its lock.
    public func close() async {
        try? await connection.close()
    }

    /// Whether the connection is closed (it broke or was closed).
    public var isClosed: Bool { connection.isClosed }

    /// Takes the pipeline's sealing lock if nobody holds it; true when this session holds it.
    public func tryLock(pipeline: String) async throws(StoreError) -> Bool {
        guard !connection.isClosed else { throw StoreError(.unavailable, "the reporter's connection was closed") }
        do {
            // Two-key form: the first key names the purpose, so other advisory locks of the
            // application (the migration lock) can never collide with a pipeline's.
            let rows = try await connection.query(
                "SELECT pg_try_advisory_lock(hashtext('headcount.seal'), hashtext(\(pipeline)))", logger: logger)
            for try await held in rows.decode(Bool.self) { return held }
            return false
        } catch {
            throw StoreError.wrapping(error, while: "taking the sealing lock")
        }
    }

    /// Runs `body` in one REPEATABLE READ transaction: every read of a round sees the same
    /// committed state (events, contributions, presence and offsets were committed together
    /// by the workers), and the round's writes commit or vanish together.
    ///
    /// Through the store's one transaction primitive (`StoreTransaction`). The body's error
    /// comes out unchanged (a `ReporterError` stays one); the caller classifies the rest
    /// with `StoreError.wrapping`.
    nonisolated(nonsending) public func withRound<T: Sendable>(
        pipeline: String, _ body: (SealingRound) async throws -> T
    ) async throws -> T {
        let options = TransactionOptions(purpose: "sealing", pipeline: pipeline, isolation: .repeatableRead)
        return try await StoreTransaction.run(on: connection, options, watchdog: watchdog, logger: logger) { connection in
            try await body(SealingRound(connection: connection, logger: self.logger))
        }
    }
}

/// The statements of one sealing round, inside its transaction.
public struct SealingRound: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    public func snapshots(pipeline: String) async throws -> [StoredSnapshot] {
        try await CertificationQueries.snapshots(pipeline: pipeline, on: connection, logger: logger)
    }

    public func amendments(pipeline: String) async throws -> [StoredAmendment] {
        try await CertificationQueries.amendments(pipeline: pipeline, on: connection, logger: logger)
    }

    public func partitionActivity(pipeline: String) async throws -> [PartitionActivity] {
        try await CertificationQueries.partitionActivity(pipeline: pipeline, on: connection, logger: logger)
    }

    public func contributedNumbers(pipeline: String, rules: CountingRules) async throws -> [BucketNumbers] {
        try await CertificationQueries.contributedNumbers(pipeline: pipeline, rules: rules, on: connection, logger: logger)
    }

    /// The retention gaps recorded for the pipeline.
    public func retentionGaps(pipeline: String) async throws -> [RetentionGap] {
        try await CertificationQueries.retentionGaps(pipeline: pipeline, on: connection, logger: logger)
    }

    /// The participants qualified at the end of `bucket` by the stored presence, bytewise sorted.
    ///
    /// A full scan of `presence`: the reporter keeps this set in memory instead
    /// (`QualifiedSet`); this is the from-scratch answer it is tested against.
    ///
    /// One array value rather than one row per participant: at a million participants the
    /// per-row decoding dominated the seal. The "C" collation compares bytes, the order of
    /// the Merkle leaves, so the tree's own sort finds the list already sorted.
    public func qualifiedParticipants(pipeline: String, atEndOf bucket: Int) async throws -> [String] {
        var keys: [String] = []
        let rows = try await connection.query(
            """
            SELECT coalesce(array_agg(participant ORDER BY participant COLLATE "C"), '{}') FROM headcount.presence
            WHERE pipeline = \(pipeline) AND qualified_bucket IS NOT NULL AND qualified_bucket <= \(bucket)
            """, logger: logger)
        for try await list in rows.decode([String].self) { keys = list }
        return keys
    }

    /// Every participant some sealed root covered, with its first bucket and later changes.
    public func certifiedParticipants(pipeline: String) async throws -> [CertifiedParticipant] {
        try await CertificationQueries.certifiedParticipants(pipeline: pipeline, on: connection, logger: logger)
    }

    /// Stores a sealed snapshot and records how its root's participants differ from the
    /// previous root's: `newcomers` were in no earlier root; `changed` left the previous
    /// root or re-enter after having left. The caller knows both (it holds the previous
    /// set), so a round does not re-insert every qualified participant at every seal.
    ///
    /// The primary keys refuse a second seal of the same bucket, or a second first bucket
    /// of a participant, whoever tries it.
    public func insert(_ snapshot: StoredSnapshot, newcomers: [String], changed: [String] = []) async throws {
        let n = snapshot.numbers
        try await connection.query(
            """
            INSERT INTO headcount.snapshots (pipeline, bucket, bucket_start, active, peak, "unique", qualified,
                participants_root, prev_hash, hash, signature, watermark, incomplete, seen_offsets)
            VALUES (\(snapshot.pipeline), \(n.bucket), \(n.bucketStart.rfc3339)::timestamptz, \(n.active), \(n.peak),
                \(n.unique), \(n.qualified), \(snapshot.participantsRoot), \(snapshot.prevHash), \(snapshot.hash),
                \(snapshot.signature), \(snapshot.watermark.rfc3339)::timestamptz, \(snapshot.incomplete),
                \(OffsetMap.encode(snapshot.seenOffsets))::jsonb)
            """, logger: logger)
        if !newcomers.isEmpty {
            try await connection.query(
                """
                INSERT INTO headcount.certified_participants (pipeline, participant, bucket)
                SELECT \(snapshot.pipeline), p, \(n.bucket) FROM unnest(\(newcomers)::text[]) AS u(p)
                """, logger: logger)
        }
        if !changed.isEmpty {
            try await connection.query(
                """
                INSERT INTO headcount.certified_participant_changes (pipeline, participant, bucket)
                SELECT \(snapshot.pipeline), p, \(n.bucket) FROM unnest(\(changed)::text[]) AS u(p)
                """, logger: logger)
        }
    }

    public func insert(_ amendment: StoredAmendment) async throws {
        let a = amendment.certified, c = amendment.corrected
        try await connection.query(
            """
            INSERT INTO headcount.amendments (pipeline, bucket,
                certified_active, certified_peak, certified_unique, certified_qualified,
                corrected_active, corrected_peak, corrected_unique, corrected_qualified, reason, events, seen_offsets)
            VALUES (\(amendment.pipeline), \(a.bucket), \(a.active), \(a.peak), \(a.unique), \(a.qualified),
                \(c.active), \(c.peak), \(c.unique), \(c.qualified), \(amendment.reason), \(amendment.events),
                \(OffsetMap.encode(amendment.seenOffsets))::jsonb)
            """, logger: logger)
    }

    /// Ids of events stored after `since` (by Kafka position) with `at` before `before`,
    /// oldest event time first, at most `limit`; and how many there are in all.
    public func eventsAfter(
        pipeline: String, since: [Int32: Int64], before: Instant, limit: Int
    ) async throws -> (ids: [String], total: Int) {
        let partitions = since.keys.sorted()
        let offsets = partitions.map { since[$0]! }
        var ids: [String] = []
        var total = 0
        let rows = try await connection.query(
            """
            SELECT e.id, count(*) OVER ()::bigint
            FROM headcount.events e
            LEFT JOIN unnest(\(partitions)::int[], \(offsets)::bigint[]) AS s(k, o) ON s.k = e.kafka_partition
            WHERE e.pipeline = \(pipeline) AND e.at < \(before.rfc3339)::timestamptz AND e.kafka_offset >= coalesce(s.o, 0)
            ORDER BY e.at, e.id LIMIT \(limit)
            """, logger: logger)
        for try await (id, count) in rows.decode((String, Int).self) {
            ids.append(id)
            total = count
        }
        return (ids, total)
    }
}

extension DatabaseURL {
    /// The configuration of a single connection outside the pool, same settings as the pool's.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let directory = unixSocketDirectory {
            configuration = .init(unixSocketPath: directory + "/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            let tls: PostgresConnection.Configuration.TLS = switch sslMode {
            case "require": .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case "prefer": .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            default: .disable
            }
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
