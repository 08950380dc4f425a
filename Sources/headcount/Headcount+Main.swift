import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

extension Headcount {
    /// The commands whose whole work is serving HTTP requests: for them Swift Concurrency's
    /// jobs run on NIO's event loops instead of a pool of their own.
    ///
    /// Without it every request crosses threads three times (event loop → pool for the
    /// handler, Kafka's delivery thread → pool for the answer, pool → event loop to write
    /// it); measured, that is about a tenth of a single-event request's CPU (95 against 105 µs,
    /// docs/BENCHMARKS.md). Safe only in a
    /// process that never blocks a concurrency thread: librdkafka's blocking calls run on
    /// their own dispatch queues, and these commands do no other blocking work.
    /// `HEADCOUNT_EVENT_LOOP_EXECUTOR=0` keeps the default pool (to compare, or to rule it out).
    static let servesOnEventLoops: [[String]] = [["ingest"], ["bench", "ingest-http"]]

    /// Parses the command line and runs the command, as ArgumentParser's own `main` does,
    /// after choosing the executor (which must happen before any task is started).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if servesOnEventLoops.contains(where: { arguments.starts(with: $0) }),
            ProcessInfo.processInfo.environment["HEADCOUNT_EVENT_LOOP_EXECUTOR"] != "0"
        {
            _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
