import HeadcountStore

/// Which sealed buckets may be missing events, and why, in plain words.
///
/// A retention gap means Kafka deleted messages before any worker read them. Their event
/// times are unknown: producers and adapters may delay an event arbitrarily, and partitions
/// are keyed by participant, not by time, so neighbouring offsets bound nothing. A lost
/// event may therefore change any bucket, and the only safe rule is that one gap makes
/// every bucket of the pipeline incomplete: the buckets sealed after the gap was recorded
/// carry the reason in their row, and the certificate flags every bucket, including those
/// sealed before the gap was noticed.
public enum IncompleteBuckets {
    /// The reason every bucket is incomplete, or nil without retention gaps.
    public static func reason(gaps: [RetentionGap]) -> String? {
        guard !gaps.isEmpty else { return nil }
        let lost = gaps.reduce(Int64(0)) { $0 + $1.count }
        let places = gaps.prefix(3).map { "partition \($0.partition) offsets \($0.firstMissingOffset)–\($0.lastMissingOffset)" }
        let more = gaps.count > 3 ? " and \(gaps.count - 3) more ranges" : ""
        return "events may be missing: Kafka retention deleted \(lost) messages before they were counted "
            + "(\(places.joined(separator: ", "))\(more)); their event times are unknown, so any bucket may be affected"
    }

    /// The flag of every sealed bucket: its stored reason, else the pipeline's gap reason.
    public static func flags(snapshots: [StoredSnapshot], gaps: [RetentionGap]) -> [Int: String] {
        let gapReason = reason(gaps: gaps)
        var flags: [Int: String] = [:]
        for snapshot in snapshots {
            if let text = snapshot.incomplete ?? gapReason { flags[snapshot.bucket] = text }
        }
        return flags
    }
}
