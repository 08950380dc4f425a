/// The rules of a pipeline as plain milliseconds, for the hot loops of the counting engine.
///
/// `Duration` arithmetic is exact but slow compared with `Int64`; every rule is a whole
/// number of milliseconds (CountingRules validates that), so nothing is lost.
@usableFromInline
struct RuleMilliseconds: Sendable, Hashable {
    /// W = [start, end).
    let start: Int64
    let end: Int64
    let bucket: Int64
    /// G: gaps strictly shorter than this are bridged.
    let grace: Int64
    /// Q, raised to one millisecond: with Q = 0, qualified means positive presence.
    let effectiveMinimum: Int64
    /// H, when set.
    let heartbeatTimeout: Int64?
    /// S, the sustained-peak period.
    let sustained: Int64
    /// M.
    let bucketCount: Int

    init(_ rules: CountingRules) {
        start = rules.windowStart.milliseconds
        end = rules.windowEnd.milliseconds
        bucket = rules.bucket.wholeMilliseconds
        grace = rules.reconnectGrace.wholeMilliseconds
        effectiveMinimum = max(1, rules.minimumPresence.wholeMilliseconds)
        heartbeatTimeout = rules.heartbeatTimeout?.wholeMilliseconds
        sustained = rules.sustainedPeak.wholeMilliseconds
        bucketCount = rules.bucketCount
    }

    /// The bucket that contains instant `t`, for `t` in W.
    @inline(__always)
    func bucketIndex(_ t: Int64) -> Int {
        Int((t - start) / bucket)
    }

    /// E_m.
    @inline(__always)
    func bucketEnd(_ m: Int) -> Int64 {
        min(end, start + Int64(m + 1) * bucket)
    }
}

extension CountingRules {
    var milliseconds: RuleMilliseconds { RuleMilliseconds(self) }
}
