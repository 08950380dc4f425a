/// One distinct (at, type) of a session, packed into a single sortable integer.
///
/// `at · 4 + rank`: ascending order is the (at, rank) order of COUNTING.md section 2. The
/// id, the last key of that order, is not needed: two events of one session with equal
/// `at` and type have the same effect on the walk whichever comes first (a second join or
/// heartbeat is a no-op on an open session, a second leave an orphan), so a session's
/// presence depends only on its *set* of marks. That is what makes duplicates free and
/// the incremental form able to forget ids.
public struct SessionMark: Hashable, Comparable, Sendable {
    public var rawValue: Int64

    @inlinable
    public init(rawValue: Int64) { self.rawValue = rawValue }

    @inlinable
    public init(at: Instant, type: EventType) {
        // Multiplying (not shifting) keeps the order for instants before 1970 too.
        rawValue = at.milliseconds &* 4 &+ Int64(type.rank)
    }

    /// Event time in milliseconds since the epoch.
    @inlinable
    public var at: Int64 { rawValue >> 2 }

    /// 0 join, 1 heartbeat, 2 leave.
    @inlinable
    public var rank: Int { Int(rawValue & 3) }

    @inlinable
    public static func < (lhs: SessionMark, rhs: SessionMark) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The walk of COUNTING.md section 2 over one session's marks.
enum SessionWalk {
    /// Appends the session's intervals, clipped to W and with empty ones dropped.
    ///
    /// - Parameter marks: the session's marks in ascending order; repeats are harmless.
    @inline(__always)
    static func appendIntervals<Marks: Sequence<SessionMark>>(
        of marks: Marks, rules: RuleMilliseconds, to out: inout [PresenceInterval]
    ) {
        var opened: Int64? = nil
        var lastNews: Int64 = 0
        for mark in marks {
            let t = mark.at
            if mark.rank == 2 {
                // A leave closes an open session; on a closed one it is an orphan and ignored.
                if let start = opened {
                    appendClipped(from: start, to: t, rules: rules, to: &out)
                    opened = nil
                }
            } else {
                // Join and heartbeat both open a closed session and are news either way.
                if opened == nil { opened = t }
                lastNews = t
            }
        }
        guard let start = opened else { return }
        // Still open after the last event (which is then a join or heartbeat, so lastNews is
        // that event): open until `end`, or until lastNews + H when H is set.
        var close = rules.end
        if let timeout = rules.heartbeatTimeout { close = min(close, lastNews + timeout) }
        appendClipped(from: start, to: close, rules: rules, to: &out)
    }

    /// Clips [from, to) to W and keeps it only when something is left.
    @inline(__always)
    static func appendClipped(from: Int64, to: Int64, rules: RuleMilliseconds, to out: inout [PresenceInterval]) {
        let lower = max(from, rules.start)
        let upper = min(to, rules.end)
        if lower < upper { out.append(PresenceInterval(from: lower, to: upper)) }
    }
}
