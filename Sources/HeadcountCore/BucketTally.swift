/// Sums participants' contributions into bucket numbers: the reporter's arithmetic.
///
/// Adding every participant's `PresenceContribution`, or starting empty and applying every
/// `ContributionDelta` ever produced, gives the numbers of COUNTING.md section 3. Memory is
/// O(buckets + distinct change instants), independent of how many deltas were applied.
public struct BucketTally: Sendable {
    private let rules: RuleMilliseconds
    /// Difference array of `active`: active(m) = Σ_{k ≤ m} activeSteps[k].
    private var activeSteps: [Int]
    /// How many participants became unique (qualified) in exactly bucket m.
    private var uniqueArrivals: [Int]
    private var qualifiedArrivals: [Int]
    /// The concurrency changes inside each bucket; sorted and merged lazily.
    private var peakChanges: [[PeakChange]]
    /// How many leading entries of `peakChanges[m]` are already sorted and merged.
    private var mergedCount: [Int]
    /// Σ of the deltas inside each bucket, so the level at a bucket start is a prefix sum.
    private var bucketNet: [Int]

    public init(rules: CountingRules) {
        self.rules = rules.milliseconds
        let count = self.rules.bucketCount
        activeSteps = Array(repeating: 0, count: count + 1)
        uniqueArrivals = Array(repeating: 0, count: count)
        qualifiedArrivals = Array(repeating: 0, count: count)
        peakChanges = Array(repeating: [], count: count)
        mergedCount = Array(repeating: 0, count: count)
        bucketNet = Array(repeating: 0, count: count)
    }

    /// Adds (`sign` = 1) or removes (`sign` = −1) one participant's contribution.
    public mutating func add(_ contribution: PresenceContribution, sign: Int = 1) {
        for range in contribution.activeBuckets { addActive(range, sign) }
        for change in contribution.peakChanges { addPeak(change.at, change.delta * sign) }
        if let m = contribution.uniqueBucket { uniqueArrivals[m] += sign }
        if let m = contribution.qualifiedBucket { qualifiedArrivals[m] += sign }
    }

    /// Applies the change of one participant's contribution.
    public mutating func apply(_ delta: ContributionDelta) {
        for change in delta.active { addActive(change.buckets, change.delta) }
        for change in delta.peak { addPeak(change.at, change.delta) }
        for change in delta.unique { uniqueArrivals[change.bucket] += change.delta }
        for change in delta.qualified { qualifiedArrivals[change.bucket] += change.delta }
    }

    private mutating func addActive(_ range: Range<Int>, _ delta: Int) {
        activeSteps[range.lowerBound] += delta
        activeSteps[range.upperBound] -= delta
    }

    private mutating func addPeak(_ at: Int64, _ delta: Int) {
        guard at >= rules.start, at < rules.end, delta != 0 else { return }
        let m = rules.bucketIndex(at)
        peakChanges[m].append(PeakChange(at: at, delta: delta))
        bucketNet[m] += delta
        // Merge now and then so that a long stream of deltas does not grow memory.
        if peakChanges[m].count >= 2 * mergedCount[m] + 64 { mergePeakChanges(m) }
    }

    private mutating func mergePeakChanges(_ m: Int) {
        guard peakChanges[m].count > mergedCount[m] else { return }
        peakChanges[m].sort { $0.at < $1.at }
        peakChanges[m] = PeakChange.merged(peakChanges[m])
        mergedCount[m] = peakChanges[m].count
    }

    /// The numbers of buckets 0 ..< `count` (all buckets when nil).
    ///
    /// Mutating only because it merges pending concurrency changes.
    public mutating func numbers(count: Int? = nil) -> [BucketNumbers] {
        let limit = min(count ?? rules.bucketCount, rules.bucketCount)
        var result: [BucketNumbers] = []
        result.reserveCapacity(max(0, limit))
        var active = 0, unique = 0, qualified = 0, level = 0
        for m in 0..<max(0, limit) {
            mergePeakChanges(m)
            active += activeSteps[m]
            unique += uniqueArrivals[m]
            qualified += qualifiedArrivals[m]
            let start = rules.start + Int64(m) * rules.bucket
            let peak = Self.peak(startLevel: level, bucketStart: start, changes: peakChanges[m])
            level += bucketNet[m]
            result.append(BucketNumbers(
                bucket: m, bucketStart: Instant(milliseconds: start), active: active, peak: peak,
                unique: unique, qualified: qualified))
        }
        return result
    }

    /// The highest level at any instant of [bucketStart, next bucket start).
    static func peak(startLevel: Int, bucketStart: Int64, changes: [PeakChange]) -> Int {
        var level = startLevel
        var index = 0
        // The level just before the bucket is not an instant of it when something changes at its start.
        if let first = changes.first, first.at == bucketStart {
            level += first.delta
            index = 1
        }
        var peak = level
        while index < changes.count {
            level += changes[index].delta
            peak = max(peak, level)
            index += 1
        }
        return peak
    }

    /// Bytes held, for the memory accounting of benchmarks (array payloads only).
    public var approximateBytes: Int {
        let perBucket = (4 * MemoryLayout<Int>.stride) + MemoryLayout<[PeakChange]>.stride
        return rules.bucketCount * perBucket
            + peakChanges.reduce(0) { $0 + $1.capacity * MemoryLayout<PeakChange>.stride }
    }
}
