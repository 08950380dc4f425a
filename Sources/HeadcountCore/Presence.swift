/// A participant's presence P(p) of COUNTING.md section 2: sorted, disjoint pieces inside W,
/// with every gap shorter than the reconnect grace already filled.
///
/// Two presences are equal exactly when they contribute the same to every number, which is
/// what lets a worker skip writing anything for an event that changed nothing.
public struct Presence: Hashable, Sendable, CustomStringConvertible {
    /// The pieces, ascending; consecutive pieces are separated by a gap of at least G.
    public private(set) var intervals: [PresenceInterval]

    /// No presence at all (the participant never connected inside the window).
    public static let empty = Presence(normalized: [])

    /// Builds P(p) from the (clipped, non-empty) intervals of all the participant's sessions.
    ///
    /// The union is taken first and only then are gaps strictly shorter than G filled, so a
    /// gap of exactly G stays open.
    public init(sessionIntervals: [PresenceInterval], reconnectGrace: Duration) {
        var pieces = sessionIntervals
        self.init(unionOf: &pieces, grace: reconnectGrace.wholeMilliseconds)
    }

    /// Trusts `intervals` to be normalised already (decoded from a worker's storage, say).
    public init(normalized intervals: [PresenceInterval]) {
        self.intervals = intervals
    }

    /// Sorts `pieces` in place and unions them, bridging gaps shorter than `grace`.
    init(unionOf pieces: inout [PresenceInterval], grace: Int64) {
        guard !pieces.isEmpty else {
            self.intervals = []
            return
        }
        pieces.sort { $0.from < $1.from }
        var result: [PresenceInterval] = []
        result.reserveCapacity(pieces.count)
        var current = pieces[0]
        for piece in pieces.dropFirst() {
            // Touching or overlapping pieces always join; a gap joins only when shorter than G.
            if piece.from <= current.to || piece.from - current.to < grace {
                current.to = max(current.to, piece.to)
            } else {
                result.append(current)
                current = piece
            }
        }
        result.append(current)
        self.intervals = result
    }

    public var isEmpty: Bool { intervals.isEmpty }

    /// Total presence in milliseconds.
    public var length: Int64 { intervals.reduce(0) { $0 + $1.length } }

    /// Whether the participant is present at `t` (intervals are half-open).
    public func contains(_ t: Int64) -> Bool {
        intervals.contains { $0.from <= t && t < $0.to }
    }

    /// length(P ∩ (−∞, t)) in milliseconds.
    public func length(before t: Int64) -> Int64 {
        var total: Int64 = 0
        for piece in intervals {
            guard piece.from < t else { break }
            total += min(piece.to, t) - piece.from
        }
        return total
    }

    /// The earliest instant x with length(P ∩ (−∞, x)) ≥ `minimum`, or nil when never.
    ///
    /// A minimum of zero is raised to one millisecond: section 3 makes Q = 0 mean the same
    /// set as `unique`, that is positive presence, not "everybody".
    public func qualificationInstant(minimum: Int64) -> Int64? {
        let needed = max(1, minimum)
        var total: Int64 = 0
        for piece in intervals {
            if total + piece.length >= needed {
                return piece.from + (needed - total)
            }
            total += piece.length
        }
        return nil
    }

    public var description: String {
        "Presence(" + intervals.map(\.description).joined(separator: ", ") + ")"
    }
}
