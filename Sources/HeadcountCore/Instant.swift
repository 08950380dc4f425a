/// A UTC instant with millisecond precision, as COUNTING.md section 1 defines event time.
///
/// Stored as milliseconds since the Unix epoch so that comparisons, sorting and interval
/// arithmetic are plain integer operations in the hot path of the counting engine.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    @inlinable
    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    @inlinable
    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.milliseconds < rhs.milliseconds
    }

    @inlinable
    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(milliseconds: lhs.milliseconds + rhs.wholeMilliseconds)
    }

    @inlinable
    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        Instant(milliseconds: lhs.milliseconds - rhs.wholeMilliseconds)
    }

    /// The RFC 3339 form, UTC, milliseconds, `Z` (the form section 5 hashes).
    public var description: String { rfc3339 }
}

extension Duration {
    /// The duration in whole milliseconds, truncated toward zero.
    ///
    /// Every rule of a pipeline is a whole number of milliseconds; sub-millisecond parts
    /// cannot occur in validated pipelines.
    @inlinable
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
