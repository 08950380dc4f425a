import HeadcountCore
import HeadcountStore

/// Every bucket's numbers as the round's snapshot sees the stored contributions, kept in
/// memory between rounds so that a round reads only the rows added since the previous one.
///
/// The sums are exactly those of summing every row each round (`BucketTally` is additive),
/// and a round's cost depends on what was added since, not on the history.
///
/// Exactly once, although `seq` is not commit order: a round first takes a fence F (see
/// `SealingConnection.contributionFence`: every row with `seq` ≤ F is final), then, in its
/// snapshot, reads every row with `seq` above the previous round's fence. Rows at or below
/// that fence were all visible to the previous round, so none is missed. Rows above the new
/// fence may have been read already (they committed between the fence and the snapshot),
/// so their `seq`s are remembered until a later fence passes them, and skipped.
struct ContributionFeed: Sendable {
    private(set) var tally: BucketTally
    /// The fence of the last round applied; nil until the first round.
    private(set) var fence: ContributionFence?
    /// Rows above `fence` already applied.
    private var counted: (buckets: Set<Int64>, peaks: Set<Int64>) = ([], [])

    init(rules: CountingRules) {
        tally = BucketTally(rules: rules)
    }

    /// Applies the rows of `round`'s snapshot that are not yet counted, `fence` having been
    /// taken before the round's transaction began.
    mutating func advance(_ round: SealingRound, pipeline: String, to newFence: ContributionFence) async throws {
        let previous: ContributionFence
        if let fence {
            previous = fence
        } else {
            apply(try await round.summedContributions(pipeline: pipeline, upTo: newFence))
            previous = newFence
        }
        let rows = try await round.contributions(pipeline: pipeline, after: previous)
        var fresh = ContributionRows()
        fresh.buckets = rows.buckets.filter { !counted.buckets.contains($0.seq) }
        fresh.peaks = rows.peaks.filter { !counted.peaks.contains($0.seq) }
        apply(fresh)
        // What lies above the new fence and was counted must not be counted again.
        counted.buckets = Set(rows.buckets.lazy.map(\.seq).filter { $0 > newFence.buckets })
        counted.peaks = Set(rows.peaks.lazy.map(\.seq).filter { $0 > newFence.peaks })
        fence = ContributionFence(buckets: max(previous.buckets, newFence.buckets), peaks: max(previous.peaks, newFence.peaks))
    }

    /// Every bucket's numbers, the tails kept on presence rows added (`ContributionTail`):
    /// exact for every bucket that ends by the cut those tails were read with.
    ///
    /// The tails are the round's own (they move between rounds), so they are added for
    /// this answer and taken out again: the tally keeps the rows only.
    mutating func numbers(adding tails: [ContributionTail] = []) -> [BucketNumbers] {
        for tail in tails { tally.apply(tail.delta()) }
        defer { for tail in tails { tally.apply(tail.delta(sign: -1)) } }
        return tally.numbers()
    }

    private mutating func apply(_ rows: ContributionRows) {
        for row in rows.buckets {
            tally.apply(ContributionDelta(
                active: row.active == 0 ? [] : [ActiveChange(buckets: row.bucket..<row.bucket + 1, delta: row.active)], peak: [],
                unique: row.unique == 0 ? [] : [BucketChange(bucket: row.bucket, delta: row.unique)],
                qualified: row.qualified == 0 ? [] : [BucketChange(bucket: row.bucket, delta: row.qualified)]))
        }
        if !rows.peaks.isEmpty {
            // The tally skips zero deltas, so a row that moves only one level changes only that one.
            tally.apply(ContributionDelta(
                active: [], peak: rows.peaks.map(\.change),
                sustained: rows.peaks.map { PeakChange(at: $0.change.at, delta: $0.sustained) }, unique: [], qualified: []))
        }
    }
}
