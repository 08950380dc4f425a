import Foundation

/// The `headcount` executable built next to the test bundle, run as a child process.
///
/// Crash-safety tests need real processes: a `kill -9` must hit a process, not a task.
public final class HeadcountProcess: @unchecked Sendable {
    // @unchecked: `Process` is not Sendable, but this wrapper only starts, signals and
    // waits for it, and Foundation's Process is safe for those calls from any thread.
    public let process = Process()
    private let output: Pipe
    /// Standard error as read so far, when asked for at start (`capturingStandardError`);
    /// read as it comes, so a chatty process never blocks on a full pipe.
    private let errors = NSLock()
    private var errorBytes = Data()

    /// The built executable: SwiftPM puts it in the same folder as the test bundle.
    public static func executable() throws -> String {
        let folder = Bundle.main.bundleURL.hasDirectoryPath ? Bundle.main.bundleURL : Bundle.main.bundleURL.deletingLastPathComponent()
        for candidate in [folder, folder.deletingLastPathComponent()].map({ $0.appendingPathComponent("headcount").path })
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestDatabase.Unavailable(description: "the headcount executable is not built next to the tests (run `swift build --build-tests`)")
    }

    /// - Parameter errorLog: a file for its standard error (default: discarded, unless captured).
    public init(_ arguments: [String], environment: [String: String] = [:], capturingStandardError: Bool = false, errorLog: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: try Self.executable())
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        output = Pipe()
        process.standardOutput = output
        if let errorLog, FileManager.default.createFile(atPath: errorLog, contents: nil), let file = FileHandle(forWritingAtPath: errorLog) {
            process.standardError = file
        } else if capturingStandardError {
            let pipe = Pipe()
            pipe.fileHandleForReading.readabilityHandler = { [errors] handle in
                let chunk = handle.availableData
                errors.withLock { self.errorBytes.append(chunk) }
            }
            process.standardError = pipe
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
    }

    /// What the process wrote to standard error so far (empty unless `capturingStandardError`).
    public var standardError: String {
        errors.withLock { String(decoding: errorBytes, as: UTF8.self) }
    }

    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to end (polling, so the cooperative pool is never blocked)
    /// and returns its exit status and standard output.
    public func wait(timeout: Duration) async throws -> (status: Int32, output: String) {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                signal(SIGKILL)
                throw TestDatabase.Unavailable(description: "headcount \(process.arguments ?? []) did not end within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
