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
    /// Concurrency: `peak` is the highest level inside each bucket.
    private var concurrency: BucketedLevel
    /// How many participants cover the S-second period starting at each instant:
    /// `sustained_peak` is the highest level inside each bucket.
    private var covering: BucketedLevel

    public init(rules: CountingRules) {
        self.rules = rules.milliseconds
        let count = self.rules.bucketCount
        activeSteps = Array(repeating: 0, count: count + 1)
        uniqueArrivals = Array(repeating: 0, count: count)
        qualifiedArrivals = Array(repeating: 0, count: count)
        concurrency = BucketedLevel(bucketCount: count)
        covering = BucketedLevel(bucketCount: count)
    }

    /// Adds (`sign` = 1) or removes (`sign` = −1) one participant's contribution.
    public mutating func add(_ contribution: PresenceContribution, sign: Int = 1) {
        for range in contribution.activeBuckets { addActive(range, sign) }
        for change in contribution.peakChanges { Self.add(change.at, change.delta * sign, rules, to: &concurrency) }
        for change in contribution.sustainedChanges { Self.add(change.at, change.delta * sign, rules, to: &covering) }
        if let m = contribution.uniqueBucket { uniqueArrivals[m] += sign }
        if let m = contribution.qualifiedBucket { qualifiedArrivals[m] += sign }
    }

    /// Applies the change of one participant's contribution.
    public mutating func apply(_ delta: ContributionDelta) {
        for change in delta.active { addActive(change.buckets, change.delta) }
        for change in delta.peak { Self.add(change.at, change.delta, rules, to: &concurrency) }
        for change in delta.sustained { Self.add(change.at, change.delta, rules, to: &covering) }
        for change in delta.unique { uniqueArrivals[change.bucket] += change.delta }
        for change in delta.qualified { qualifiedArrivals[change.bucket] += change.delta }
    }

    private mutating func addActive(_ range: Range<Int>, _ delta: Int) {
        activeSteps[range.lowerBound] += delta
        activeSteps[range.upperBound] -= delta
    }

    private static func add(_ at: Int64, _ delta: Int, _ rules: RuleMilliseconds, to level: inout BucketedLevel) {
        guard at >= rules.start, at < rules.end, delta != 0 else { return }
        level.add(PeakChange(at: at, delta: delta), bucket: rules.bucketIndex(at))
    }

    /// The numbers of buckets 0 ..< `count` (all buckets when nil).
    ///
    /// Mutating only because it merges pending level changes.
    public mutating func numbers(count: Int? = nil) -> [BucketNumbers] {
        let limit = max(0, min(count ?? rules.bucketCount, rules.bucketCount))
        var result: [BucketNumbers] = []
        result.reserveCapacity(limit)
        let starts = (0..<limit).map { rules.start + Int64($0) * rules.bucket }
        let peaks = concurrency.maxima(bucketStarts: starts)
        let sustained = covering.maxima(bucketStarts: starts)
        var active = 0, unique = 0, qualified = 0
        for m in 0..<limit {
            active += activeSteps[m]
            unique += uniqueArrivals[m]
            qualified += qualifiedArrivals[m]
            result.append(BucketNumbers(
                bucket: m, bucketStart: Instant(milliseconds: starts[m]), active: active, peak: peaks[m],
                sustainedPeak: sustained[m], unique: unique, qualified: qualified))
        }
        return result
    }

    /// Bytes held, for the memory accounting of benchmarks (array payloads only).
    public var approximateBytes: Int {
        let perBucket = 3 * MemoryLayout<Int>.stride
        return rules.bucketCount * perBucket + concurrency.approximateBytes + covering.approximateBytes
    }
}

/// A level that changes by ±n at instants, kept per bucket so that the highest level inside
/// each bucket is a prefix sum: what `peak` and `sustained_peak` are, over different changes.
struct BucketedLevel: Sendable {
    /// The changes inside each bucket; sorted and merged lazily.
    private var changes: [[PeakChange]]
    /// How many leading entries of `changes[m]` are already sorted and merged.
    private var mergedCount: [Int]
    /// Σ of the deltas inside each bucket, so the level at a bucket start is a prefix sum.
    private var net: [Int]

    init(bucketCount: Int) {
        changes = Array(repeating: [], count: bucketCount)
        mergedCount = Array(repeating: 0, count: bucketCount)
        net = Array(repeating: 0, count: bucketCount)
    }

    mutating func add(_ change: PeakChange, bucket m: Int) {
        changes[m].append(change)
        net[m] += change.delta
        // Merge now and then so that a long stream of deltas does not grow memory.
        if changes[m].count >= 2 * mergedCount[m] + 64 { merge(m) }
    }

    private mutating func merge(_ m: Int) {
        guard changes[m].count > mergedCount[m] else { return }
        changes[m].sort { $0.at < $1.at }
        changes[m] = PeakChange.merged(changes[m])
        mergedCount[m] = changes[m].count
    }

    /// The highest level inside each bucket 0 ..< `bucketStarts.count`.
    mutating func maxima(bucketStarts: [Int64]) -> [Int] {
        var level = 0
        var result: [Int] = []
        result.reserveCapacity(bucketStarts.count)
        for (m, start) in bucketStarts.enumerated() {
            merge(m)
            result.append(Self.maximum(startLevel: level, bucketStart: start, changes: changes[m]))
            level += net[m]
        }
        return result
    }

    /// The highest level at any instant of [bucketStart, next bucket start).
    static func maximum(startLevel: Int, bucketStart: Int64, changes: [PeakChange]) -> Int {
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

    var approximateBytes: Int {
        changes.count * (2 * MemoryLayout<Int>.stride + MemoryLayout<[PeakChange]>.stride)
            + changes.reduce(0) { $0 + $1.capacity * MemoryLayout<PeakChange>.stride }
    }
}
