import HeadcountCore
import PostgresNIO

extension EventStore {
    /// The numbers of the bucket the reporter seals next, as its last counting round summed
    /// the stored contributions: what it would seal if no more events came, *provisional*,
    /// never certified. Nil unless the reporter's last round counted `bucket` (before its first
    /// round, or when it has moved on since the caller looked).
    ///
    /// For the dashboard's current minute. The reporter keeps every bucket's sums in memory
    /// and writes this one row per round, so a refresh reads one row, not the change points of
    /// the whole event (which grew with every minute of it).
    public func provisionalNumbers(pipeline: String, bucket: Int, rules: CountingRules) async throws(StoreError) -> BucketNumbers? {
        do {
            let rows = try await client.query(
                """
                SELECT provisional_active, provisional_peak, provisional_sustained_peak, provisional_unique, provisional_qualified
                FROM headcount.watermarks WHERE pipeline = \(pipeline) AND provisional_bucket = \(Int32(bucket))
                """, logger: logger)
            for try await (active, peak, sustained, unique, qualified) in rows.decode((Int, Int, Int, Int, Int).self) {
                return BucketNumbers(
                    bucket: bucket, bucketStart: rules.bucketStart(bucket), active: active, peak: peak, sustainedPeak: sustained,
                    unique: unique, qualified: qualified)
            }
            return nil
        } catch {
            throw StoreError.wrapping(error, while: "reading the current minute's provisional numbers", pipeline: pipeline)
        }
    }
}
