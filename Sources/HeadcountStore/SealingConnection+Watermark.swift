import HeadcountCore
import Logging
import PostgresNIO

/// The reporter's watermark as stored (`headcount.watermarks`, migration 6).
public struct StoredWatermark: Sendable, Hashable {
    /// Nil while some partition has held sealing from the start.
    public var watermark: Instant?
    /// Each partition that keeps the watermark below processing time − L, in plain words,
    /// the one holding it furthest back first.
    public var holding: [String]
    /// The reporter's processing clock at that round.
    public var processingTime: Instant

    public init(watermark: Instant?, holding: [String], processingTime: Instant) {
        self.watermark = watermark
        self.holding = holding
        self.processingTime = processingTime
    }
}

extension SealingRound {
    /// The watermark the pipeline's reporters have reached so far: the floor of the next one.
    public func storedWatermark(pipeline: String) async throws -> StoredWatermark? {
        try await WatermarkQueries.watermark(pipeline: pipeline, on: connection, logger: logger)
    }

    /// Records this round's watermark and what holds it, in the round's transaction. The
    /// stored watermark only ever rises (GREATEST ignores a NULL, and a trigger refuses a
    /// lower one).
    public func record(_ watermark: StoredWatermark, pipeline: String) async throws {
        try await connection.query(
            """
            INSERT INTO headcount.watermarks (pipeline, watermark, holding, processing_time)
            VALUES (\(pipeline), \(watermark.watermark?.rfc3339)::timestamptz, \(watermark.holding)::text[],
                    \(watermark.processingTime.rfc3339)::timestamptz)
            ON CONFLICT (pipeline) DO UPDATE SET
                watermark = GREATEST(watermarks.watermark, EXCLUDED.watermark), holding = EXCLUDED.holding,
                processing_time = EXCLUDED.processing_time, updated_at = now()
            """, logger: logger)
    }
}

extension SealingRound {
    /// Records the numbers of the bucket sealed next as this round counted them (after
    /// `record`, which makes the row): provisional, for the dashboard.
    public func recordProvisional(_ numbers: BucketNumbers, pipeline: String) async throws {
        try await connection.query(
            """
            UPDATE headcount.watermarks SET provisional_bucket = \(Int32(numbers.bucket)), provisional_active = \(numbers.active),
                provisional_peak = \(numbers.peak), provisional_sustained_peak = \(numbers.sustainedPeak),
                provisional_unique = \(numbers.unique), provisional_qualified = \(numbers.qualified)
            WHERE pipeline = \(pipeline)
            """, logger: logger)
    }
}

enum WatermarkQueries {
    static func watermark(pipeline: String, on connection: PostgresConnection, logger: Logger) async throws -> StoredWatermark? {
        let rows = try await connection.query(
            """
            SELECT (extract(epoch FROM watermark) * 1000)::bigint, holding, (extract(epoch FROM processing_time) * 1000)::bigint
            FROM headcount.watermarks WHERE pipeline = \(pipeline)
            """, logger: logger)
        for try await (watermark, holding, processing) in rows.decode((Int64?, [String], Int64).self) {
            return StoredWatermark(
                watermark: watermark.map(Instant.init(milliseconds:)), holding: holding,
                processingTime: Instant(milliseconds: processing))
        }
        return nil
    }
}
