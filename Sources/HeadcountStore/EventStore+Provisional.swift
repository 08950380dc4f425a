import HeadcountCore
import PostgresNIO

extension EventStore {
    /// One bucket's numbers as the stored contributions say now: what the reporter would
    /// seal if no more events came, *provisional*, never certified.
    ///
    /// For the dashboard's current minute. The sums are those the reporter's tally makes
    /// (`BucketTally`): active is the bucket's own deltas, unique and qualified the deltas of
    /// every bucket up to it, peak and sustained peak the highest prefix sum of the change
    /// points inside the bucket on top of the level at its start. The level at its start sums
    /// every change point before it (an index range scan of `peak_changes`), so callers read
    /// it once per refresh, not per viewer.
    public func provisionalNumbers(pipeline: String, bucket: Int, rules: CountingRules) async throws(StoreError) -> BucketNumbers {
        let options = TransactionOptions(
            purpose: "reading the current minute's provisional numbers", pipeline: pipeline, isolation: .repeatableRead, readOnly: true)
        let start = rules.bucketStart(bucket), end = min(rules.bucketEnd(bucket), rules.windowEnd)
        do {
            return try await withTransaction(options) { connection in
                var numbers = BucketNumbers(bucket: bucket, bucketStart: start, active: 0, peak: 0, sustainedPeak: 0, unique: 0, qualified: 0)
                let sums = try await connection.query(
                    """
                    SELECT coalesce(sum(active_delta) FILTER (WHERE bucket = \(bucket)), 0)::bigint,
                           coalesce(sum(unique_delta), 0)::bigint, coalesce(sum(qualified_delta), 0)::bigint
                    FROM headcount.bucket_contributions WHERE pipeline = \(pipeline) AND bucket <= \(bucket)
                    """, logger: self.logger)
                for try await (active, unique, qualified) in sums.decode((Int, Int, Int).self) {
                    (numbers.active, numbers.unique, numbers.qualified) = (active, unique, qualified)
                }
                // Change points before the window's start add no presence (BucketTally skips them).
                let levels = try await connection.query(
                    """
                    WITH tails AS (
                        SELECT tail_peak_at, tail_sustained_at FROM headcount.presence
                        WHERE pipeline = \(pipeline) AND least(tail_peak_at, tail_sustained_at) < \(end.milliseconds)
                          AND (tail_peak_at IS NOT NULL OR tail_sustained_at IS NOT NULL)),
                    changes AS (
                        SELECT at_ms, delta, sustained_delta FROM headcount.peak_changes
                        WHERE pipeline = \(pipeline) AND at_ms >= \(rules.windowStart.milliseconds) AND at_ms < \(end.milliseconds)
                        UNION ALL SELECT tail_peak_at, -1, 0 FROM tails WHERE tail_peak_at IS NOT NULL
                        UNION ALL SELECT tail_sustained_at, 0, -1 FROM tails WHERE tail_sustained_at IS NOT NULL),
                    base AS (
                        SELECT coalesce(sum(delta), 0) AS level, coalesce(sum(sustained_delta), 0) AS covering
                        FROM changes WHERE at_ms >= \(rules.windowStart.milliseconds) AND at_ms < \(start.milliseconds)),
                    inside AS (
                        SELECT at_ms, sum(delta) AS delta, sum(sustained_delta) AS covering FROM changes
                        WHERE at_ms >= \(start.milliseconds) AND at_ms < \(end.milliseconds)
                        GROUP BY at_ms),
                    running AS (
                        SELECT sum(delta) OVER (ORDER BY at_ms) AS level, sum(covering) OVER (ORDER BY at_ms) AS covering FROM inside)
                    SELECT (base.level + greatest(0, coalesce(max(running.level), 0)))::bigint,
                           (base.covering + greatest(0, coalesce(max(running.covering), 0)))::bigint
                    FROM base LEFT JOIN running ON true GROUP BY base.level, base.covering
                    """, logger: self.logger)
                for try await (peak, sustained) in levels.decode((Int, Int).self) {
                    (numbers.peak, numbers.sustainedPeak) = (peak, sustained)
                }
                return numbers
            }
        } catch {
            throw StoreError.wrapping(error, while: options.purpose, pipeline: pipeline)
        }
    }
}
