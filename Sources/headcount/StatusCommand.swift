import ArgumentParser
import Foundation
import HeadcountCommandLine
import HeadcountOperations
import HeadcountReporter
import HeadcountStore
import HeadcountWorker
import Logging
import ServiceLifecycle

/// `headcount status`: what every part of a pipeline is doing, at a glance.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a pipeline's lag per partition, the watermark and what holds it, sealing, dead letters, retention gaps and workers.",
        discussion: """
            Reads Kafka's high watermarks first, then PostgreSQL (the reporter's order). Exits 0 when both answered, \
            69 when one did not (after printing what it could read). --json prints the documented, stable JSON \
            of docs/operations.md instead of the table. Under a rehearsal, pass the workers' and the reporter's \
            --clock: idleness and the watermark are judged on that clock, as the reporter judges them.
            """)

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var brokers: BrokersOption
    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var clock: ClockOption

    @Flag(help: "Print JSON instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Seconds to wait for Kafka's answer.", valueName: "seconds"))
    var timeout: Double = 5

    func validate() throws {
        guard timeout > 0, timeout <= 300 else { throw ValidationError("--timeout must be from 0 to 300 seconds") }
    }

    func run() async throws {
        var logger = logging.bootstrap("headcount.status")
        // librdkafka's own complaints about unreachable brokers would bury the report.
        if logging.logLevel > .debug { logger.logLevel = .critical }
        let pipeline = try self.pipeline.load()
        // Loaded before anything is read: a bad spec is a usage error, not a partial report.
        let clock = try self.clock.load()
        let bootstrap = try brokers.bootstrapServers()
        let source = try brokers.highWatermarkSource(for: pipeline, timeout: .milliseconds(Int64(timeout * 1000)), logger: logger)
        let store = EventStore(url: try database.url(), maximumConnections: 1, logger: logger)
        let readings = try await withThrowingTaskGroup(of: OperationsStatus.Readings?.self) { group in
            group.addTask { await store.run(); return nil }
            group.addTask { await OperationsStatus.Readings.read(pipeline: pipeline, kafka: source, kafkaAddress: bootstrap, store: store) }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            // Unreachable: the reading task always returns, and nothing else does first.
            throw ExitCode(70)
        }
        let status = OperationsStatus(
            pipeline: pipeline, readings: readings, now: clock.now(wall: ClockOption.wallNow()),
            staleAfter: WorkerHeartbeatWriter.staleAfter())
        if json {
            FileHandle.standardOutput.write(status.encodedJSON())
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            print(status.text, terminator: "")
        }
        guard status.isComplete else {
            let missing = [status.kafka.reachable ? nil : "Kafka at \(status.kafka.address)",
                           status.database.reachable ? nil : "PostgreSQL at \(status.database.address)"].compactMap { $0 }
            FileHandleWriter.writeToStandardError("headcount status: \(missing.joined(separator: " and ")) did not answer; the report above is partial\n")
            throw ExitCode(69)
        }
    }
}
