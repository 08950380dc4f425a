import HeadcountCore
import Logging
import PostgresNIO

extension EventStore {
    /// The dashboard's numbers, read in one read-only REPEATABLE READ transaction so the
    /// chain head, the snapshots and the amendments agree with each other.
    ///
    /// Polled every second: every statement but the totals reads by the pipeline's primary
    /// key or a small table. `includingTotals` adds the count of stored events and dead
    /// letters, which scans those tables (no index by pipeline: it would slow ingestion),
    /// so callers ask for it less often.
    public func pipelineStatus(pipeline: String, includingTotals: Bool) async throws(StoreError) -> PipelineStatus {
        let options = TransactionOptions(
            purpose: "reading the pipeline's status", pipeline: pipeline, isolation: .repeatableRead, readOnly: true)
        do {
            return try await withTransaction(options) { connection in
                try await StatusQueries.status(pipeline: pipeline, includingTotals: includingTotals, on: connection, logger: self.logger)
            }
        } catch {
            throw StoreError.wrapping(error, while: options.purpose, pipeline: pipeline)
        }
    }
}

enum StatusQueries {
    static func status(
        pipeline: String, includingTotals: Bool, on connection: PostgresConnection, logger: Logger
    ) async throws -> PipelineStatus {
        var status = PipelineStatus()
        var amended: [Int: Int] = [:]
        let amendments = try await connection.query(
            "SELECT bucket, count(*)::bigint FROM headcount.amendments WHERE pipeline = \(pipeline) GROUP BY bucket",
            logger: logger)
        for try await (bucket, count) in amendments.decode((Int, Int).self) { amended[bucket] = count }
        status.amendments = amended.values.reduce(0, +)

        let snapshots = try await connection.query(
            """
            SELECT bucket, (extract(epoch FROM bucket_start) * 1000)::bigint, active, peak, "unique", qualified, incomplete,
                   hash, (extract(epoch FROM sealed_at) * 1000)::bigint
            FROM headcount.snapshots WHERE pipeline = \(pipeline) ORDER BY bucket
            """, logger: logger)
        for try await row in snapshots.decode((Int, Int64, Int, Int, Int, Int, String?, String, Int64).self) {
            let numbers = BucketNumbers(
                bucket: row.0, bucketStart: Instant(milliseconds: row.1), active: row.2, peak: row.3, unique: row.4, qualified: row.5)
            status.sealed.append(.init(numbers: numbers, incomplete: row.6, amendments: amended[row.0] ?? 0))
            status.headHash = row.7
            status.lastSealedAt = Instant(milliseconds: row.8)
        }
        status.retentionGaps = try await CertificationQueries.retentionGaps(pipeline: pipeline, on: connection, logger: logger)
        status.partitions = try await CertificationQueries.partitionActivity(pipeline: pipeline, on: connection, logger: logger)
        status.watermark = try await WatermarkQueries.watermark(pipeline: pipeline, on: connection, logger: logger)
        status.publicKey = try await PipelineKeyQueries.publicKey(pipeline: pipeline, on: connection, logger: logger)
        if includingTotals { status.totals = try await totals(pipeline: pipeline, on: connection, logger: logger) }
        return status
    }

    private static func totals(pipeline: String, on connection: PostgresConnection, logger: Logger) async throws -> PipelineStatus.Totals {
        var events = 0
        for try await count in try await connection.query(
            "SELECT count(*)::bigint FROM headcount.events WHERE pipeline = \(pipeline)", logger: logger
        ).decode(Int.self) {
            events = count
        }
        var deadLetters: [String: Int] = [:]
        let rows = try await connection.query(
            "SELECT reason, count(*)::bigint FROM headcount.dead_letters WHERE pipeline = \(pipeline) GROUP BY reason",
            logger: logger)
        for try await (reason, count) in rows.decode((String, Int).self) { deadLetters[reason] = count }
        return PipelineStatus.Totals(eventsStored: events, deadLetters: deadLetters)
    }
}
