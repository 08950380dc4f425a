import ArgumentParser
import Foundation
import HeadcountCore

/// `--clock wall|rehearsal:START@SPEED[,wall=WALL]`, or `$HEADCOUNT_CLOCK`: every service's
/// "now" (see `ProcessingClock`). Default: the wall clock.
public struct ClockOption: ParsableArguments, Sendable {
    @Option(name: .customLong("clock"), help: ArgumentHelp(
        "Processing clock: wall, or rehearsal:START@SPEED[,wall=WALL] to run an event as if live, faster (default: $HEADCOUNT_CLOCK, else wall). Everything made under a rehearsal clock is marked as a rehearsal.",
        valueName: "spec"))
    public var text: String?

    public init() {}

    /// The clock, anchored at this moment when the spec gave no `wall=`.
    public func load() throws -> ProcessingClock {
        let text = self.text ?? ProcessInfo.processInfo.environment["HEADCOUNT_CLOCK"] ?? "wall"
        do {
            return try ProcessingClock(parsing: text).anchored(at: ClockOption.wallNow())
        } catch {
            throw ValidationError(error.description + (self.text == nil ? " (from $HEADCOUNT_CLOCK)" : " (from --clock)"))
        }
    }

    /// The system's UTC time in milliseconds: the only place the executable reads the wall clock.
    public static func wallNow() -> Instant {
        Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

extension ProcessingClock {
    /// "Now" under this clock, read from the system's wall clock at each call.
    public var reader: @Sendable () -> Instant {
        let clock = self
        return { clock.now(wall: ClockOption.wallNow()) }
    }
}
