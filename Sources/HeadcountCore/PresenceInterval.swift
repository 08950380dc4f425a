/// One half-open piece [from, to) of presence, in milliseconds since the Unix epoch.
///
/// Plain integers rather than `Instant`s because presence is what workers persist and diff
/// by the million; `fromInstant`/`toInstant` give the typed view.
public struct PresenceInterval: Hashable, Sendable, CustomStringConvertible {
    /// Inclusive start, milliseconds since the epoch.
    public var from: Int64
    /// Exclusive end, milliseconds since the epoch.
    public var to: Int64

    @inlinable
    public init(from: Int64, to: Int64) {
        self.from = from
        self.to = to
    }

    public init(from: Instant, to: Instant) {
        self.init(from: from.milliseconds, to: to.milliseconds)
    }

    /// Length in milliseconds (never negative for intervals the engine produces).
    @inlinable
    public var length: Int64 { to - from }

    public var fromInstant: Instant { Instant(milliseconds: from) }
    public var toInstant: Instant { Instant(milliseconds: to) }

    public var description: String { "[\(fromInstant), \(toInstant))" }
}
