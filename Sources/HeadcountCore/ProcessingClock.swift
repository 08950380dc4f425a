/// What "now" means for every process of a pipeline: the wall clock in production, or a
/// rehearsal clock that maps wall time onto event time, so a two-hour event can be run in a
/// few minutes *as if live* (ingest's and the workers' `from_the_future` check, the
/// watermark, the simulator's sending schedule and the dashboard's provisional numbers all
/// read the same mapping).
///
/// Pure: the caller reads the wall clock and passes it in, so the core stays free of clocks.
///
/// Text form (`--clock`, `$HEADCOUNT_CLOCK`):
///
///     wall
///     rehearsal:START@SPEED              START is reached when the process starts
///     rehearsal:START@SPEED,wall=WALL    START is reached at wall time WALL
///
/// START and WALL are RFC 3339 instants (UTC, `Z`), SPEED a positive number of event seconds
/// per wall second (`60` runs an hour in a minute). Several processes agree on "now" only
/// with `wall=`: `scripts/rehearsal.sh` fixes it once and hands the same text to every service.
public struct ProcessingClock: Sendable, Hashable, CustomStringConvertible {
    public enum Mode: Sendable, Hashable {
        case wall
        /// Event time `start` is reached at wall time `anchor` (nil: when the process starts) and
        /// then runs `speed` times faster than the wall.
        case rehearsal(start: Instant, speed: Double, anchor: Instant?)
    }

    public var mode: Mode

    /// The largest speed accepted: beyond it one wall millisecond skips more than ten seconds
    /// of event time, and nothing downstream could keep up anyway.
    public static let maximumSpeed = 10_000.0

    public static let wall = ProcessingClock(mode: .wall)

    public init(mode: Mode) { self.mode = mode }

    /// Parses the text form (see the type's documentation); the error names what is wrong.
    public init(parsing text: String) throws(ProcessingClockError) {
        let text = text.trimmingPrefixAndSuffixSpaces
        if text == "wall" {
            self = .wall
            return
        }
        guard text.hasPrefix("rehearsal:") else {
            throw ProcessingClockError(text, "must be \"wall\" or \"rehearsal:START@SPEED[,wall=WALL]\"")
        }
        var rest = Substring(text.dropFirst("rehearsal:".count))
        var anchor: Instant?
        if let comma = rest.firstIndex(of: ",") {
            let option = rest[rest.index(after: comma)...]
            rest = rest[..<comma]
            guard option.hasPrefix("wall=") else {
                throw ProcessingClockError(text, "the only option after \",\" is wall=RFC3339, got \"\(option.prefix(40))\"")
            }
            guard let wall = Instant(rfc3339: option.dropFirst("wall=".count)) else {
                throw ProcessingClockError(text, "wall= must be an RFC 3339 instant such as 2026-12-03T10:00:00Z")
            }
            anchor = wall
        }
        guard let at = rest.lastIndex(of: "@") else {
            throw ProcessingClockError(text, "a rehearsal clock needs START@SPEED, e.g. rehearsal:2025-06-14T01:45:00Z@60")
        }
        guard let start = Instant(rfc3339: rest[..<at]) else {
            throw ProcessingClockError(text, "START \"\(rest[..<at].prefix(40))\" is not an RFC 3339 instant such as 2025-06-14T01:45:00Z")
        }
        guard let speed = Double(rest[rest.index(after: at)...]), speed.isFinite, speed > 0, speed <= Self.maximumSpeed else {
            throw ProcessingClockError(text, "SPEED \"\(rest[rest.index(after: at)...].prefix(20))\" must be a number above 0 and at most \(Int(Self.maximumSpeed))")
        }
        self.init(mode: .rehearsal(start: start, speed: speed, anchor: anchor))
    }

    /// Whether everything made under this clock is a rehearsal, never evidence.
    public var isRehearsal: Bool {
        if case .rehearsal = mode { return true }
        return false
    }

    /// The same clock with its anchor fixed at `wall` if it had none: what a process does once
    /// at start, and what a launcher hands on to the processes it starts.
    public func anchored(at wall: Instant) -> ProcessingClock {
        guard case .rehearsal(let start, let speed, nil) = mode else { return self }
        return ProcessingClock(mode: .rehearsal(start: start, speed: speed, anchor: wall))
    }

    /// "Now" in event time at wall time `wall` (an unanchored rehearsal counts from `wall`).
    public func now(wall: Instant) -> Instant {
        guard case .rehearsal(let start, let speed, let anchor) = mode else { return wall }
        let elapsed = Double(wall.milliseconds - (anchor ?? wall).milliseconds)
        return Instant(milliseconds: start.milliseconds + Int64((elapsed * speed).rounded(.down)))
    }

    /// The wall time at which event time `event` comes; for the wall clock, `event` itself.
    /// An anchorless rehearsal is placed as if anchored at `wall`.
    public func wallTime(of event: Instant, anchoredAt wall: Instant) -> Instant {
        guard case .rehearsal(let start, let speed, let anchor) = mode else { return event }
        let ahead = Double(event.milliseconds - start.milliseconds) / speed
        return Instant(milliseconds: (anchor ?? wall).milliseconds + Int64(ahead.rounded(.up)))
    }

    /// The text form, which parses back to the same clock.
    public var description: String {
        switch mode {
        case .wall: return "wall"
        case .rehearsal(let start, let speed, let anchor):
            let speedText = speed == speed.rounded() && speed < 1e15 ? String(Int64(speed)) : String(speed)
            return "rehearsal:\(start.rfc3339)@\(speedText)" + (anchor.map { ",wall=\($0.rfc3339)" } ?? "")
        }
    }
}

/// A malformed clock specification.
public struct ProcessingClockError: Error, Sendable, Hashable, CustomStringConvertible {
    public var text: String
    public var message: String

    init(_ text: String, _ message: String) {
        self.text = String(text.prefix(80))
        self.message = message
    }

    public var description: String { "clock \"\(text)\": \(message)" }
}

extension String {
    fileprivate var trimmingPrefixAndSuffixSpaces: String {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return String(slice)
    }
}
