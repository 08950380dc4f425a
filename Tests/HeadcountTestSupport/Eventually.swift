/// Waiting in tests: poll a condition until it holds, failing with what it waited for once
/// the deadline has passed. Never a fixed sleep as synchronisation.
public enum Eventually {
    public struct TimedOut: Error, CustomStringConvertible {
        public var description: String
    }

    /// Polls `condition` every `interval` (default 20 ms) until it holds; throws `TimedOut`
    /// naming `what` after `timeout`.
    public static func until(
        _ what: String, timeout: Duration, interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw TimedOut(description: "waited \(timeout) for \(what)") }
            try await Task.sleep(for: interval)
        }
    }
}
