/// A condition a test waited for did not come true in time; the description says which.
public struct WaitTimedOut: Error, CustomStringConvertible {
    public var description: String
}

/// Polls `condition` until it holds; throws `WaitTimedOut` naming `what` after `timeout`.
///
/// The way tests wait for another task or process: never a fixed sleep.
public func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            throw WaitTimedOut(description: "timed out after \(timeout) waiting for \(what())")
        }
        try await Task.sleep(for: interval)
    }
}
