/// The five numbers of one bucket (COUNTING.md section 3).
public struct BucketNumbers: Hashable, Sendable, CustomStringConvertible {
    /// m, from 0.
    public var bucket: Int
    /// The start of B_m.
    public var bucketStart: Instant
    /// Participants present for a positive length inside the bucket.
    public var active: Int
    /// Highest concurrency at any instant of the (half-open) bucket.
    public var peak: Int
    /// The most participants present without a break through one whole S-second period that
    /// starts in the bucket and ends by the window end (0 when no such period exists).
    public var sustainedPeak: Int
    /// Participants with positive presence in [start, E_m).
    public var unique: Int
    /// Participants with at least Q of presence in [start, E_m) (Q = 0: same as unique).
    public var qualified: Int

    public init(bucket: Int, bucketStart: Instant, active: Int, peak: Int, sustainedPeak: Int = 0, unique: Int, qualified: Int) {
        self.bucket = bucket
        self.bucketStart = bucketStart
        self.active = active
        self.peak = peak
        self.sustainedPeak = sustainedPeak
        self.unique = unique
        self.qualified = qualified
    }

    public var description: String {
        "#\(bucket) \(bucketStart) active \(active) peak \(peak) sustained \(sustainedPeak) unique \(unique) qualified \(qualified)"
    }
}

/// The attempt's result: the last bucket's `qualified` with the highest `peak` and the
/// highest `sustained_peak` of all buckets.
public struct CountOutcome: Hashable, Sendable {
    public var qualified: Int
    public var peak: Int
    /// The best S-second period of the whole window.
    public var sustainedPeak: Int

    public init(qualified: Int, peak: Int, sustainedPeak: Int = 0) {
        self.qualified = qualified
        self.peak = peak
        self.sustainedPeak = sustainedPeak
    }

    /// The result of a complete list of buckets.
    public init(buckets: [BucketNumbers]) {
        self.init(
            qualified: buckets.last?.qualified ?? 0, peak: buckets.map(\.peak).max() ?? 0,
            sustainedPeak: buckets.map(\.sustainedPeak).max() ?? 0)
    }
}
