import HeadcountCore
import Logging
import PostgresNIO

/// The statements of the reporting stage, on one given connection.
///
/// The reporter runs them on its own dedicated connection (the one holding the sealing
/// lock, so a reporter whose lock is gone cannot write either); readers such as the
/// recount and the certificate run them on a pooled one.
enum CertificationQueries {
    /// The retention gaps recorded for a pipeline, oldest offsets first: one statement for
    /// the store, the reporter's round and the dashboard's status alike.
    static func retentionGaps(pipeline: String, on connection: PostgresConnection, logger: Logger) async throws -> [RetentionGap] {
        var gaps: [RetentionGap] = []
        let rows = try await connection.query(
            """
            SELECT kafka_partition, first_missing_offset, last_missing_offset FROM headcount.retention_gaps
            WHERE pipeline = \(pipeline) ORDER BY kafka_partition, first_missing_offset
            """, logger: logger)
        for try await (partition, first, last) in rows.decode((Int32, Int64, Int64).self) {
            gaps.append(RetentionGap(partition: partition, firstMissingOffset: first, lastMissingOffset: last))
        }
        return gaps
    }

    static func snapshots(pipeline: String, on connection: PostgresConnection, logger: Logger) async throws -> [StoredSnapshot] {
        var result: [StoredSnapshot] = []
        let rows = try await connection.query(
            """
            SELECT bucket, (extract(epoch FROM bucket_start) * 1000)::bigint, active, peak, sustained_peak, "unique", qualified,
                   participants_root, prev_hash, hash, signature,
                   (extract(epoch FROM watermark) * 1000)::bigint, (extract(epoch FROM sealed_at) * 1000)::bigint, incomplete,
                   ARRAY(SELECT key::int FROM jsonb_each_text(seen_offsets) ORDER BY key::int),
                   ARRAY(SELECT value::bigint FROM jsonb_each_text(seen_offsets) ORDER BY key::int), rehearsal
            FROM headcount.snapshots WHERE pipeline = \(pipeline) ORDER BY bucket
            """, logger: logger)
        for try await row in rows {
            let c = try row.decode(
                (Int, Int64, Int, Int, Int?, Int, Int, String, String, String, String, Int64, Int64, String?, [Int32], [Int64], Bool).self)
            result.append(StoredSnapshot(
                pipeline: pipeline,
                numbers: BucketNumbers(
                    bucket: c.0, bucketStart: Instant(milliseconds: c.1), active: c.2, peak: c.3,
                    sustainedPeak: c.4 ?? 0, unique: c.5, qualified: c.6),
                participantsRoot: c.7, prevHash: c.8, hash: c.9, signature: c.10,
                watermark: Instant(milliseconds: c.11), sealedAt: Instant(milliseconds: c.12),
                incomplete: c.13, seenOffsets: Dictionary(uniqueKeysWithValues: zip(c.14, c.15)),
                certifiesSustainedPeak: c.4 != nil, rehearsal: c.16))
        }
        return result
    }

    static func amendments(pipeline: String, on connection: PostgresConnection, logger: Logger) async throws -> [StoredAmendment] {
        var result: [StoredAmendment] = []
        let rows = try await connection.query(
            """
            SELECT a.seq, a.bucket, (extract(epoch FROM s.bucket_start) * 1000)::bigint,
                   a.certified_active, a.certified_peak, a.certified_unique, a.certified_qualified,
                   a.corrected_active, a.corrected_peak, a.corrected_unique, a.corrected_qualified,
                   coalesce(a.certified_sustained_peak, 0), coalesce(a.corrected_sustained_peak, 0),
                   (extract(epoch FROM a.detected_at) * 1000)::bigint, a.reason, a.events,
                   ARRAY(SELECT key::int FROM jsonb_each_text(a.seen_offsets) ORDER BY key::int),
                   ARRAY(SELECT value::bigint FROM jsonb_each_text(a.seen_offsets) ORDER BY key::int)
            FROM headcount.amendments a JOIN headcount.snapshots s USING (pipeline, bucket)
            WHERE a.pipeline = \(pipeline) ORDER BY a.seq
            """, logger: logger)
        for try await row in rows {
            let c = try row.decode(
                (Int64, Int, Int64, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int64, String, [String], [Int32], [Int64]).self)
            let start = Instant(milliseconds: c.2)
            result.append(StoredAmendment(
                sequence: c.0, pipeline: pipeline,
                certified: BucketNumbers(
                    bucket: c.1, bucketStart: start, active: c.3, peak: c.4, sustainedPeak: c.11, unique: c.5, qualified: c.6),
                corrected: BucketNumbers(
                    bucket: c.1, bucketStart: start, active: c.7, peak: c.8, sustainedPeak: c.12, unique: c.9, qualified: c.10),
                detectedAt: Instant(milliseconds: c.13), reason: c.14, events: c.15,
                seenOffsets: Dictionary(uniqueKeysWithValues: zip(c.16, c.17))))
        }
        return result
    }

    static func certifiedParticipants(pipeline: String, on connection: PostgresConnection, logger: Logger) async throws -> [CertifiedParticipant] {
        var result: [CertifiedParticipant] = []
        let rows = try await connection.query(
            """
            SELECT c.participant, c.bucket,
                   ARRAY(SELECT g.bucket FROM headcount.certified_participant_changes g
                         WHERE g.pipeline = c.pipeline AND g.participant = c.participant ORDER BY g.bucket)
            FROM headcount.certified_participants c WHERE c.pipeline = \(pipeline)
            """, logger: logger)
        for try await (participant, bucket, changes) in rows.decode((String, Int, [Int32]).self) {
            result.append(CertifiedParticipant(participant: participant, bucket: bucket, changes: changes.map(Int.init)))
        }
        return result
    }

    static func partitionActivity(pipeline: String, on connection: PostgresConnection, logger: Logger) async throws -> [PartitionActivity] {
        var result: [PartitionActivity] = []
        let rows = try await connection.query(
            """
            SELECT kafka_partition, next_offset, (extract(epoch FROM max_event_at) * 1000)::bigint,
                   (extract(epoch FROM updated_at) * 1000)::bigint, kept_tails_from
            FROM headcount.partition_progress WHERE pipeline = \(pipeline) ORDER BY kafka_partition
            """, logger: logger)
        for try await (partition, next, maxAt, updated, tails) in rows.decode((Int32, Int64, Int64?, Int64, Int64?).self) {
            result.append(PartitionActivity(
                partition: partition, nextOffset: next, maxEventAt: maxAt.map(Instant.init(milliseconds:)),
                updatedAt: Instant(milliseconds: updated), keptTailsFrom: tails))
        }
        return result
    }

    /// Every bucket's numbers from the stored contributions (the same sums as
    /// `EventStore.contributedNumbers`, on the caller's connection and snapshot).
    static func contributedNumbers(
        pipeline: String, rules: CountingRules, on connection: PostgresConnection, logger: Logger
    ) async throws -> [BucketNumbers] {
        var tally = BucketTally(rules: rules)
        let buckets = try await connection.query(
            """
            SELECT bucket, sum(active_delta)::bigint, sum(unique_delta)::bigint, sum(qualified_delta)::bigint
            FROM headcount.bucket_contributions WHERE pipeline = \(pipeline) GROUP BY bucket
            """, logger: logger)
        for try await (bucket, active, unique, qualified) in buckets.decode((Int, Int, Int, Int).self) {
            tally.apply(ContributionDelta(
                active: active == 0 ? [] : [ActiveChange(buckets: bucket..<bucket + 1, delta: active)], peak: [],
                unique: unique == 0 ? [] : [BucketChange(bucket: bucket, delta: unique)],
                qualified: qualified == 0 ? [] : [BucketChange(bucket: bucket, delta: qualified)]))
        }
        let peaks = try await connection.query(
            """
            SELECT at_ms, sum(delta)::bigint, sum(sustained_delta)::bigint FROM headcount.peak_changes WHERE pipeline = \(pipeline)
            GROUP BY at_ms HAVING sum(delta) <> 0 OR sum(sustained_delta) <> 0
            """, logger: logger)
        var changes: [PeakChange] = [], sustained: [PeakChange] = []
        for try await (at, delta, covering) in peaks.decode((Int64, Int, Int).self) {
            if delta != 0 { changes.append(PeakChange(at: at, delta: delta)) }
            if covering != 0 { sustained.append(PeakChange(at: at, delta: covering)) }
        }
        tally.apply(ContributionDelta(active: [], peak: changes, sustained: sustained, unique: [], qualified: []))
        // With the tails kept on presence rows, the rows are every contribution whole.
        let tails = try await connection.query(
            """
            SELECT tail_peak_at, tail_sustained_at FROM headcount.presence
            WHERE pipeline = \(pipeline) AND (tail_peak_at IS NOT NULL OR tail_sustained_at IS NOT NULL)
            """, logger: logger)
        for try await (peak, covering) in tails.decode((Int64?, Int64?).self) {
            tally.apply(ContributionTail(peakEnd: peak, sustainedEnd: covering).delta())
        }
        return tally.numbers()
    }
}
