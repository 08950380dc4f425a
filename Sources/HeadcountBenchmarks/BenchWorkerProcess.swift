import Foundation
import Synchronization

/// A `headcount work` child process of a benchmark, its log lines timestamped on arrival.
///
/// `@unchecked Sendable`: Foundation's `Process` is not Sendable, but it is only started,
/// signalled and asked whether it runs, which Foundation allows from any thread; the lines
/// live behind a lock.
final class BenchWorkerProcess: @unchecked Sendable {
    /// One log line of the worker and when the benchmark read it.
    struct Line: Sendable {
        var at: ContinuousClock.Instant
        var text: String
    }

    let name: String
    let startedAt = ContinuousClock.now
    private let process = Process()
    private let errors = Pipe()
    private let received = Mutex<(lines: [Line], partial: String)>(([], ""))

    /// Starts this very executable as `headcount <arguments>`.
    init(name: String, arguments: [String]) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        errors.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.receive(handle.availableData, at: .now)
        }
        try process.run()
    }

    private func receive(_ data: Data, at now: ContinuousClock.Instant) {
        received.withLock { state in
            state.partial += String(decoding: data, as: UTF8.self)
            while let newline = state.partial.firstIndex(of: "\n") {
                state.lines.append(Line(at: now, text: String(state.partial[..<newline])))
                state.partial = String(state.partial[state.partial.index(after: newline)...])
            }
        }
    }

    var lines: [Line] { received.withLock { $0.lines } }
    var isRunning: Bool { process.isRunning }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits (polling) for the process to end; kills it after `timeout`.
    func wait(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { signal(SIGKILL) }
            try await Task.sleep(for: .milliseconds(20))
        }
        errors.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }
}

/// What the worker's own log lines say about rebalances (messages of `HeadcountWorker`).
struct WorkerLogEvent: Sendable {
    enum Kind: Sendable { case assigned, revoked, started }
    var kind: Kind
    var worker: String
    var at: ContinuousClock.Instant
    var partitions: [Int32]
    /// For `.started`: from the rebalance callback to the resume (Headcount's own part).
    var sinceAssigned: Duration?

    /// The rebalance lines of one worker, in order; empty assignments left out.
    static func parse(_ lines: [BenchWorkerProcess.Line], worker: String) -> [WorkerLogEvent] {
        lines.compactMap { line in
            let kind: Kind
            if line.text.hasSuffix("[HeadcountWorker] partitions assigned") {
                kind = .assigned
            } else if line.text.hasSuffix("[HeadcountWorker] partitions revoked") {
                kind = .revoked
            } else if line.text.hasSuffix("[HeadcountWorker] partitions started") {
                kind = .started
            } else {
                return nil
            }
            let partitions = value(after: " partitions=[", until: "]", in: line.text)
                .map { $0.split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) } } ?? []
            guard !partitions.isEmpty else { return nil }
            let since = value(after: " sinceAssigned=", until: " ms", in: line.text).flatMap { Int64($0) }.map { Duration.milliseconds($0) }
            return WorkerLogEvent(kind: kind, worker: worker, at: line.at, partitions: partitions, sinceAssigned: since)
        }
    }

    private static func value(after prefix: String, until end: String, in text: String) -> String? {
        guard let start = text.range(of: prefix), let stop = text.range(of: end, range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.upperBound..<stop.lowerBound])
    }
}
