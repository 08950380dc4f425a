import Foundation

/// One `wrk` run against the ingest service on 127.0.0.1: a separate process, so the load
/// generator's CPU is its own and can be reported beside the server's.
///
/// Every request carries event ids no other request of the run has (see `script`), so each
/// answered 200 stands for events Kafka acknowledged, never for the dedupe memory.
struct WrkLoad {
    /// What wrk sends.
    enum Requests {
        /// A request head (request line and headers, no Content-Length) and a body whose
        /// `{{ID}}` placeholders wrk fills with run-unique ids.
        case template(head: String, body: String)
        /// Prepared raw requests per wrk thread, each sent at most once.
        case pool([[UInt8]])
    }

    /// What wrk measured, from its `done()` line.
    struct Result: Decodable {
        var requests: Int
        var duration_us: Int
        var sent: Int
        var exhausted: Int
        var status: Int
        var connect: Int
        var read: Int
        var write: Int
        var timeout: Int
        var p50_us: Int
        var p99_us: Int
        var p999_us: Int
        var max_us: Int

        var requestsPerSecond: Double { Double(requests) / (Double(duration_us) / 1_000_000) }
        /// Socket errors and answers over 399, as wrk counts them.
        var failures: Int { status + connect + read + write + timeout }
        /// CPU seconds the wrk process used (user + system), filled in by `run`.
        var cpuSeconds = 0.0

        enum CodingKeys: String, CodingKey {
            case requests, duration_us, sent, exhausted, status, connect, read, write, timeout, p50_us, p99_us, p999_us, max_us
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    var port: Int
    var threads: Int
    var connections: Int
    var duration: Duration
    var nonce: String

    /// Runs wrk once; throws when wrk is missing, fails, or prints no result.
    func run(_ requests: Requests) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-wrk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("ingest.lua")
        try Data(Self.script.utf8).write(to: script)
        let data = directory.appendingPathComponent("requests")
        let mode: String
        switch requests {
        case .template(let head, let body):
            mode = "template"
            try Data((head + "\r\n\r\n" + body).utf8).write(to: data)
        case .pool(let prepared):
            mode = "pool"
            for thread in 1...threads {
                // wrk threads are numbered from 1; thread t takes every threads-th request.
                let slice = stride(from: thread - 1, to: prepared.count, by: threads).map { prepared[$0] }
                try Data(slice.joined(separator: [0]).map { $0 }).write(to: URL(fileURLWithPath: data.path + "-\(thread)"))
            }
        }
        let seconds = max(1, Int((duration / .seconds(1)).rounded()))
        let arguments = [
            "-t", String(threads), "-c", String(connections), "-d", "\(seconds)s", "--timeout", "10s",
            "-s", script.path, "http://127.0.0.1:\(port)/", "--", mode, data.path, nonce,
        ]
        let (output, cpu) = try await Self.launch(arguments)
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("HEADCOUNT-WRK ") }) else {
            throw Failure(description: "wrk printed no result; its output was:\n\(output.suffix(2_000))")
        }
        var result = try JSONDecoder().decode(Result.self, from: Data(line.dropFirst("HEADCOUNT-WRK ".count).utf8))
        result.cpuSeconds = cpu
        guard result.exhausted == 0 else {
            throw Failure(description: "wrk ran out of prepared requests (\(result.exhausted) extra sends): the pool was too small for the run")
        }
        return result
    }

    /// Runs `wrk` to its end off the cooperative pool; its output and the CPU time it used.
    private static func launch(_ arguments: [String]) async throws -> (String, Double) {
        guard let path = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure(description: "wrk is not installed: run scripts/setup.sh (Debian package wrk), or pass --driver in-process")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let before = childCPUSeconds()
        try process.run()
        // Blocks until wrk closes its output, i.e. finishes: on a Dispatch thread, so the
        // cooperative pool (which serves the ingest routes under test) keeps both its threads.
        let reader = pipe.fileHandleForReading
        let output = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let bytes = reader.readDataToEndOfFile()
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
        // wrk closed its output, so it is exiting: this wait is short.
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "wrk exited with \(process.terminationStatus):\n\(output.suffix(2_000))")
        }
        return (output, childCPUSeconds() - before)
    }

    /// User + system CPU seconds of every child process that has been waited for.
    static func childCPUSeconds() -> Double { cpuSeconds(RUSAGE_CHILDREN) }

    /// User + system CPU seconds of this process so far, every thread included.
    static func processCPUSeconds() -> Double { cpuSeconds(RUSAGE_SELF) }

    private static func cpuSeconds(_ who: __rusage_who) -> Double {
        var usage = rusage()
        getrusage(who.rawValue, &usage)
        return usage.ru_utime.seconds + usage.ru_stime.seconds
    }
}

extension timeval {
    var seconds: Double { Double(tv_sec) + Double(tv_usec) / 1_000_000 }
}
