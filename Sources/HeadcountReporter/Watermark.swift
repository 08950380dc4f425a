import HeadcountCore
import HeadcountStore

/// The watermark of COUNTING.md section 4, from the partitions' stored progress.
///
/// Pure: the processing clock is a parameter, so tests place "now" where they need it.
public enum Watermark {
    /// min over recently active partitions of their largest event time, minus L; when no
    /// partition committed an event in the last L of processing time, `now` − L.
    ///
    /// "Active" reads `updated_at` (the database's clock at the partition's last commit)
    /// against `now` (the reporter's clock): the two must be roughly in sync, which NTP
    /// gives. A partition that has only ever seen dead letters has no event time and does
    /// not hold the watermark back.
    public static func compute(progress: [PartitionActivity], now: Instant, allowedLateness: Duration) -> Instant {
        let horizon = now - allowedLateness
        let recent = progress.filter { $0.updatedAt >= horizon }.compactMap(\.maxEventAt)
        guard let least = recent.min() else { return horizon }
        return least - allowedLateness
    }
}
