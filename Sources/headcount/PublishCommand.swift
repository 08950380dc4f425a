import ArgumentParser
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountPublisher
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

    @Option(help: ArgumentHelp(
        "Seconds to wait for the brokers: to answer at start, and to acknowledge any one message.", valueName: "seconds"))
    var timeout: Double = 30

    @Argument(help: ArgumentHelp("NDJSON file of canonical events, or - for standard input.", valueName: "events"))
    var input: String = "-"

    func validate() throws {
        guard timeout >= 1, timeout <= 3600 else { throw ValidationError("--timeout must be from 1 to 3600 seconds") }
    }

    func run() async throws {
        let logger = logging.bootstrap("headcount.publish")
        let pipeline = try pipeline.load()
        let servers = try brokers.bootstrapServers()
        let timeout = Duration.milliseconds(Int64(self.timeout * 1000))
        try await checkReachable(servers, topic: pipeline.kafka.topic, timeout: timeout, logger: logger)
        var configuration = KafkaProducerConfiguration(bootstrapServers: servers)
        configuration.clientID = "headcount-publish"
        configuration.additionalProperties = try brokers.properties()
        // Brokers that go away mid-run fail the messages within the same bound, not 5 minutes.
        configuration.messageTimeout = timeout
        configuration.shutdownFlushTimeout = timeout
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

extension PublishCommand {
    /// Asks the brokers for the topic's metadata before anything is read or sent: unreachable
    /// brokers end the run within `timeout` with one line naming them, rather than minutes of
    /// librdkafka retrying and every message failing with `_MSG_TIMED_OUT`.
    func checkReachable(_ servers: String, topic: String, timeout: Duration, logger: Logger) async throws {
        var configuration = KafkaAdminConfiguration(bootstrapServers: servers)
        configuration.clientID = "headcount-publish"
        configuration.additionalProperties = try brokers.properties()
        // The failure is reported once, below; librdkafka's own lines about it only with --log-level debug.
        var quiet = logger
        quiet.logLevel = logger.logLevel <= .debug ? logger.logLevel : .critical
        do {
            _ = try await KafkaAdmin(configuration: configuration, logger: quiet).partitionCount(of: topic, timeout: timeout)
        } catch {
            throw PublishFailure(description: "cannot publish to \(topic): the Kafka brokers at \(servers) did not answer within \(timeout) (\(error.message))")
        }
    }
}

/// Why `publish` stopped, in one line.
struct PublishFailure: Error, CustomStringConvertible {
    var description: String
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
