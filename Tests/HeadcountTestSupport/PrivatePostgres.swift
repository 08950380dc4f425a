import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of the test's own, started with the project's `scripts/postgres.sh`
/// in a temporary folder, so the test can crash and restart it without disturbing anybody.
public struct PrivatePostgres: Sendable {
    public let folder: String

    /// The project's script, found from this file's place in the checkout.
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/postgres.sh").path

    /// Runs `body` with a new private cluster folder; stops the server and deletes the
    /// folder afterwards, whether `body` succeeded or not.
    public static func with<T: Sendable>(_ body: (PrivatePostgres) async throws -> T) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-pg-\(UUID().uuidString)").path
        // The script starts from the port remembered in the folder: a random one away from the
        // project's clusters (54329 up), so that no cluster started during an outage takes it.
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "\(Int.random(in: 20_000..<30_000))\n".write(toFile: folder + "/port", atomically: true, encoding: .utf8)
        let server = PrivatePostgres(folder: folder)
        do {
            let result = try await body(server)
            try await server.remove()
            return result
        } catch {
            try? await server.remove()
            throw error
        }
    }

    /// Initialises the cluster on first use, starts it and returns its URL; the port stays
    /// the same across restarts (the script remembers it).
    @discardableResult
    public func start() async throws -> String {
        try await run("start").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server immediately, without a shutdown checkpoint, as a crash would.
    public func kill() async throws { _ = try await run("kill") }

    private func remove() async throws {
        _ = try await run("stop")
        try FileManager.default.removeItem(atPath: folder)
    }

    /// Runs the script with `command` and returns its standard output; a failure carries its
    /// standard error.
    ///
    /// Spawned by hand rather than with Foundation's `Process`: `start` leaves the server
    /// running as a daemon, and on Linux `Process` learns of its child's exit through a
    /// descriptor the daemon inherits, so it would wait for the server to stop instead.
    private func run(_ command: String) async throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-pg-\(UUID().uuidString)").path
        let outputPath = base + ".out", errorPath = base + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            try? FileManager.default.removeItem(atPath: errorPath)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["HEADCOUNT_PG_DIR"] = folder
        let pid = try Self.spawn(
            ["/bin/bash", Self.script, command], environment: environment, output: outputPath, errors: errorPath)
        // Polled, so no thread of the cooperative pool blocks on the child; initdb and a
        // start take a few seconds.
        let deadline = ContinuousClock.now + .seconds(120)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard ContinuousClock.now < deadline else {
                Glibc.kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw ScriptFailure(description: "scripts/postgres.sh \(command) did not finish within 120 s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        // The wait status: exit code in bits 8-15 when the low 7 bits (the signal) are 0.
        let exitCode = status & 0x7f == 0 ? (status >> 8) & 0xff : -1
        guard exitCode == 0 else {
            let message = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw ScriptFailure(description: "scripts/postgres.sh \(command) failed (wait status \(status)): \(message)")
        }
        return try String(contentsOfFile: outputPath, encoding: .utf8)
    }

    /// Starts `arguments` with standard input from /dev/null and its output in two files.
    private static func spawn(_ arguments: [String], environment: [String: String], output: String, errors: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard result == 0 else {
            throw ScriptFailure(description: "cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }
}

/// `scripts/postgres.sh` failed or hung; the description carries its standard error.
public struct ScriptFailure: Error, CustomStringConvertible {
    public var description: String
}
