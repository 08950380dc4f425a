/// The reporter tests' spelling of `waitUntil`: same loop, same error, kept so their call
/// sites read `Eventually.until(…)`. One implementation of waiting in tests, in Waiting.swift.
public enum Eventually {
    public static func until(
        _ what: String, timeout: Duration, interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
    ) async throws {
        try await waitUntil(what, timeout: timeout, every: interval, condition)
    }
}
