import ArgumentParser
import HeadcountAdapters
import Kafka
import Logging

/// `headcount publish`: canonical events from NDJSON into the pipeline's Kafka topic.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Validate canonical events (NDJSON) and produce them to Kafka, keyed by participant.",
        discussion: """
            One JSON object per line: id, pipeline, type (join|leave|heartbeat), participant, session,
            at (RFC 3339), source. A bad line stops the run with its line number after everything
            before it was acknowledged and nothing after it was sent, unless --skip-invalid.
            """)

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var brokers: BrokersOption
    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Report invalid lines and go on instead of stopping at the first.")
    var skipInvalid = false

    @Argument(help: ArgumentHelp("NDJSON file of canonical events, or - for standard input.", valueName: "events"))
    var input: String = "-"

    func run() async throws {
        let logger = logging.bootstrap("headcount.publish")
        let pipeline = try pipeline.load()
        var configuration = KafkaProducerConfiguration(bootstrapServers: try brokers.bootstrapServers())
        configuration.clientID = "headcount-publish"
        configuration.additionalProperties = try brokers.properties()
        let input = self.input, skipInvalid = self.skipInvalid
        let summary = try await KafkaProducer.withRunning(configuration: configuration, logger: logger) { producer in
            var reader = try LineReader(path: input)
            let publisher = CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger)
            do {
                return try await publisher.publish(lines: &reader, skipInvalid: skipInvalid)
            } catch let error as InputError {
                throw ValidationError("\(error)\nnothing after this line was sent")
            }
        }
        for skipped in summary.skipped { printError("skipped \(skipped)") }
        print("published \(summary.published) events (\(summary.distinctIDs) distinct ids) to \(pipeline.kafka.topic)"
            + (summary.skipped.isEmpty ? "" : ", skipped \(summary.skipped.count) invalid lines"))
    }
}

extension KafkaProducer {
    /// Runs `body` with a producer whose delivery reports are served meanwhile; every send
    /// in `body` has been acknowledged when it returns.
    static func withRunning<T: Sendable>(
        configuration: KafkaProducerConfiguration, logger: Logger,
        _ body: @Sendable (KafkaProducer) async throws -> T
    ) async throws -> T {
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            return try await body(producer)
        }
    }
}

func printError(_ text: String) {
    var standardError = StandardError()
    print(text, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.writeToStandardError(string)
    }
}
