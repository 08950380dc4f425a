/// A +1/−1 change of concurrency at one instant: the stuff `peak` is a prefix-sum maximum of.
public struct PeakChange: Hashable, Sendable {
    /// Milliseconds since the epoch; the change holds from this instant on.
    public var at: Int64
    public var delta: Int

    @inlinable
    public init(at: Int64, delta: Int) {
        self.at = at
        self.delta = delta
    }
}

/// A change of one bucket's counter (`unique` or `qualified`, counted where it first holds).
public struct BucketChange: Hashable, Sendable {
    public var bucket: Int
    public var delta: Int

    public init(bucket: Int, delta: Int) {
        self.bucket = bucket
        self.delta = delta
    }
}

/// A change of `active` over a run of consecutive buckets.
public struct ActiveChange: Hashable, Sendable {
    public var buckets: Range<Int>
    public var delta: Int

    public init(buckets: Range<Int>, delta: Int) {
        self.buckets = buckets
        self.delta = delta
    }
}

/// What one participant's presence adds to the numbers of COUNTING.md section 3.
///
/// Numbers are sums over participants, so a reporter that adds up the contributions of every
/// participant (`BucketTally`) gets exactly the batch numbers; workers persist these.
public struct PresenceContribution: Hashable, Sendable {
    /// The buckets where presence has positive length: +1 to their `active`.
    public var activeBuckets: [Range<Int>]
    /// +1 where a piece starts, −1 where it ends; changes at or after the window end are
    /// left out because no bucket can see them.
    public var peakChanges: [PeakChange]
    /// The same for the S-second periods the presence covers: a piece [a, b) with
    /// b − a ≥ S covers [t, t + S) for exactly the starts t ∈ [a, b − S], so it is +1 at a
    /// and −1 at b − S + 1; `sustained_peak` is the prefix-sum maximum of these inside each
    /// bucket, exactly as `peak` is of `peakChanges` (docs/counting.md, "Sustained peak").
    public var sustainedChanges: [PeakChange]
    /// The first bucket m with P ∩ [start, E_m) of positive length: +1 to `unique` from m on.
    public var uniqueBucket: Int?
    /// The first bucket m with length(P ∩ [start, E_m)) ≥ Q: +1 to `qualified` from m on.
    public var qualifiedBucket: Int?
    /// The last piece's end, which the changes above include: nil without one inside the window.
    public var tail: ContributionTail?

    /// No contribution (empty presence).
    public static let none = PresenceContribution(activeBuckets: [], peakChanges: [], uniqueBucket: nil, qualifiedBucket: nil)

    public init(
        activeBuckets: [Range<Int>], peakChanges: [PeakChange], sustainedChanges: [PeakChange] = [], uniqueBucket: Int?,
        qualifiedBucket: Int?
    ) {
        self.activeBuckets = activeBuckets
        self.peakChanges = peakChanges
        self.sustainedChanges = sustainedChanges
        self.uniqueBucket = uniqueBucket
        self.qualifiedBucket = qualifiedBucket
        self.tail = nil
    }

    /// The contribution of `presence`, which must lie inside the window of `rules`.
    public init(presence: Presence, rules: CountingRules) {
        self.init(presence: presence, rules: rules.milliseconds)
    }

    init(presence: Presence, rules: RuleMilliseconds) {
        var active: [Range<Int>] = []
        var changes: [PeakChange] = []
        var sustained: [PeakChange] = []
        changes.reserveCapacity(presence.intervals.count * 2)
        for piece in presence.intervals {
            let buckets = rules.bucketIndex(piece.from)..<(rules.bucketIndex(piece.to - 1) + 1)
            if let last = active.last, buckets.lowerBound <= last.upperBound {
                active[active.count - 1] = last.lowerBound..<max(last.upperBound, buckets.upperBound)
            } else {
                active.append(buckets)
            }
            changes.append(PeakChange(at: piece.from, delta: 1))
            if piece.to < rules.end { changes.append(PeakChange(at: piece.to, delta: -1)) }
            // A piece's start range [a, b − S] ends before the piece does, so the ranges of
            // one participant's disjoint pieces never overlap: it counts at most once at any
            // t. Every range ends by end − S, which is the spec's "t + S ≤ end".
            let lastStart = piece.to - rules.sustained
            if lastStart >= piece.from {
                sustained.append(PeakChange(at: piece.from, delta: 1))
                if lastStart + 1 < rules.end { sustained.append(PeakChange(at: lastStart + 1, delta: -1)) }
            }
        }
        self.activeBuckets = active
        self.peakChanges = changes
        self.sustainedChanges = sustained
        // The changes of the last piece's end were appended last, each where it exists.
        if let last = presence.intervals.last {
            let lastStart = last.to - rules.sustained
            let tail = ContributionTail(
                peakEnd: last.to < rules.end ? last.to : nil,
                sustainedEnd: lastStart >= last.from && lastStart + 1 < rules.end ? lastStart + 1 : nil)
            self.tail = tail.isEmpty ? nil : tail
        } else {
            self.tail = nil
        }
        self.uniqueBucket = presence.intervals.first.map { rules.bucketIndex($0.from) }
        // Qualified at E_m iff the qualification instant x ≤ E_m, i.e. from the bucket holding x − 1.
        self.qualifiedBucket = presence.qualificationInstant(minimum: rules.effectiveMinimum)
            .map { rules.bucketIndex($0 - 1) }
    }
}

/// The −1 changes where a participant's last presence piece ends: of concurrency at its end b
/// and of the S-covering level at b − S + 1.
///
/// While that piece may still grow (every heartbeat moves b), a worker keeps these two
/// changes out of the change rows and stores them on the participant's presence row instead,
/// so a heartbeat rewrites one row rather than appending four; the reporter adds the stored
/// tails to the rows it sums. Where a contribution's changes live is bookkeeping only: rows
/// plus tails are always the whole contribution (docs/counting.md, "Open tails").
public struct ContributionTail: Hashable, Sendable {
    /// The instant concurrency drops, when the piece ends before the window's end.
    public var peakEnd: Int64?
    /// The instant the S-covering level drops, when the piece is at least S long and that
    /// instant lies before the window's end.
    public var sustainedEnd: Int64?

    public init(peakEnd: Int64?, sustainedEnd: Int64?) {
        self.peakEnd = peakEnd
        self.sustainedEnd = sustainedEnd
    }

    public var isEmpty: Bool { peakEnd == nil && sustainedEnd == nil }

    /// The earliest instant it changes anything at: buckets ending at or before it do not see it.
    public var earliest: Int64 {
        switch (sustainedEnd, peakEnd) {
        case let (sustained?, peak?): min(sustained, peak)
        case let (sustained?, nil): sustained
        case let (nil, peak?): peak
        case (nil, nil): .max
        }
    }

    /// Its changes as a contribution delta (`sign` −1 takes them back out).
    public func delta(sign: Int = 1) -> ContributionDelta {
        ContributionDelta(
            active: [], peak: peakEnd.map { [PeakChange(at: $0, delta: -sign)] } ?? [],
            sustained: sustainedEnd.map { [PeakChange(at: $0, delta: -sign)] } ?? [], unique: [], qualified: [])
    }
}

extension PresenceContribution {
    /// The contribution without its tail's two changes: what the change rows hold of it
    /// while its tail is stored on the presence row.
    public var withoutTail: PresenceContribution {
        guard let tail else { return self }
        var body = self
        // `init(presence:rules:)` appends the tail's changes last.
        if tail.peakEnd != nil { body.peakChanges.removeLast() }
        if tail.sustainedEnd != nil { body.sustainedChanges.removeLast() }
        body.tail = nil
        return body
    }
}

/// The difference between two contributions of one participant: what a worker writes when an
/// event changes that participant's presence, and what a reporter adds to its sums.
public struct ContributionDelta: Hashable, Sendable {
    public var active: [ActiveChange]
    public var peak: [PeakChange]
    /// Changes of the S-covering level (see `PresenceContribution.sustainedChanges`).
    public var sustained: [PeakChange]
    public var unique: [BucketChange]
    public var qualified: [BucketChange]

    /// Nothing changes.
    public var isEmpty: Bool { active.isEmpty && peak.isEmpty && sustained.isEmpty && unique.isEmpty && qualified.isEmpty }

    public init(
        active: [ActiveChange], peak: [PeakChange], sustained: [PeakChange] = [], unique: [BucketChange], qualified: [BucketChange]
    ) {
        self.active = active
        self.peak = peak
        self.sustained = sustained
        self.unique = unique
        self.qualified = qualified
    }

    /// new − old, with everything that cancels left out.
    public init(from old: PresenceContribution, to new: PresenceContribution) {
        active = Self.activeDifference(old.activeBuckets, new.activeBuckets)
        peak = Self.peakDifference(old.peakChanges, new.peakChanges)
        sustained = Self.peakDifference(old.sustainedChanges, new.sustainedChanges)
        unique = Self.counterDifference(old.uniqueBucket, new.uniqueBucket)
        qualified = Self.counterDifference(old.qualifiedBucket, new.qualifiedBucket)
    }

    /// The delta between two presences of one participant.
    public init(from old: Presence, to new: Presence, rules: CountingRules) {
        let millis = rules.milliseconds
        self.init(from: PresenceContribution(presence: old, rules: millis), to: PresenceContribution(presence: new, rules: millis))
    }

    private static func counterDifference(_ old: Int?, _ new: Int?) -> [BucketChange] {
        guard old != new else { return [] }
        var changes: [BucketChange] = []
        if let old { changes.append(BucketChange(bucket: old, delta: -1)) }
        if let new { changes.append(BucketChange(bucket: new, delta: 1)) }
        return changes
    }

    /// Sweeps the boundaries of both range lists; each segment gets (new coverage − old coverage).
    private static func activeDifference(_ old: [Range<Int>], _ new: [Range<Int>]) -> [ActiveChange] {
        guard old != new else { return [] }
        var boundaries: [(bucket: Int, delta: Int)] = []
        for range in new { boundaries += [(range.lowerBound, 1), (range.upperBound, -1)] }
        for range in old { boundaries += [(range.lowerBound, -1), (range.upperBound, 1)] }
        boundaries.sort { $0.bucket < $1.bucket }
        var changes: [ActiveChange] = []
        var level = 0
        var index = 0
        while index < boundaries.count {
            let bucket = boundaries[index].bucket
            while index < boundaries.count, boundaries[index].bucket == bucket {
                level += boundaries[index].delta
                index += 1
            }
            guard level != 0, index < boundaries.count else { continue }
            changes.append(ActiveChange(buckets: bucket..<boundaries[index].bucket, delta: level))
        }
        return changes
    }

    /// Merges both change lists by instant (old negated) and drops the instants that cancel.
    private static func peakDifference(_ old: [PeakChange], _ new: [PeakChange]) -> [PeakChange] {
        guard old != new else { return [] }
        var all = new + old.map { PeakChange(at: $0.at, delta: -$0.delta) }
        all.sort { $0.at < $1.at }
        return PeakChange.merged(all)
    }
}

extension PeakChange {
    /// Sums the changes of equal instants of a list sorted by `at` and drops the zeros.
    ///
    /// Merging matters for `peak`: a piece that ends at t and another that starts at t are
    /// never present together, so their −1 and +1 must be applied as one step.
    static func merged(_ sorted: [PeakChange]) -> [PeakChange] {
        var result: [PeakChange] = []
        result.reserveCapacity(sorted.count)
        for change in sorted {
            if let last = result.last, last.at == change.at {
                result[result.count - 1].delta += change.delta
                if result[result.count - 1].delta == 0 { result.removeLast() }
            } else if change.delta != 0 {
                result.append(change)
            }
        }
        return result
    }
}
