import ArgumentParser
import Foundation
import HeadcountCommandLine
import HeadcountHTTP
import HeadcountIngest
import HeadcountPipeline
import Hummingbird
import Kafka
import Logging
import ServiceLifecycle

/// `headcount ingest`: the webhook receivers of one or more pipelines, into Kafka.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Receive platform webhooks (Zoom, Webex, BigBlueButton, Jitsi, CloudEvents, canonical) into Kafka.",
        discussion: """
            Serves POST /v1/pipelines/{id}/{events|zoom|webex|bbb|cloudevents|jitsi/events/occupant/joined|…/left}
            for every pipeline given, with the routes and secrets of its ingest: section, plus /health/live,
            /health/ready and /metrics. A request is answered 2xx only after Kafka acknowledged every one of
            its events; otherwise 503 with Retry-After. See docs/adapters.md.
            """)

    @Option(name: .customLong("pipeline"), help: ArgumentHelp("A pipeline file with an ingest: section (repeatable).", valueName: "file"))
    var pipelines: [String]

    @OptionGroup var brokers: BrokersOption
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var clock: ClockOption

    @Option(help: ArgumentHelp("Address and port to listen on.", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("Seconds that graceful shutdown may take before in-flight requests are cancelled.", valueName: "seconds"))
    var shutdownGrace: Double = 30

    func validate() throws {
        guard !pipelines.isEmpty else { throw ValidationError("give at least one --pipeline FILE") }
        _ = try Self.address(listen)
    }

    static func address(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port),
              colon != text.startIndex
        else { throw ValidationError("--listen must be HOST:PORT, got \"\(text.prefix(60))\"") }
        return (String(text[..<colon]), port)
    }

    func run() async throws {
        let logger = logging.bootstrap("headcount.ingest")
        let served = try pipelines.map { path throws -> IngestPipeline in
            do {
                return try IngestPipeline(pipeline: try Pipeline.load(path: path))
            } catch {
                throw ValidationError("\(error)")
            }
        }
        guard Set(served.map(\.pipeline.id)).count == served.count else {
            throw ValidationError("two --pipeline files have the same id")
        }
        var configuration = KafkaProducerConfiguration(bootstrapServers: try brokers.bootstrapServers())
        configuration.clientID = "headcount-ingest"
        configuration.additionalProperties = try brokers.properties()
        // librdkafka fails what it could not deliver by the tightest deadline, so no request
        // waits past it: the platform gets 503 and retries.
        configuration.messageTimeout = served.map(\.ingest.produceTimeout).min() ?? .milliseconds(2500)
        configuration.linger = IngestService.producerLinger
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let readiness = BrokerReadiness(producer: producer, logger: logger)
        let service = IngestService(
            pipelines: served, sink: KafkaIngestSink(producer: producer, logger: logger), readiness: readiness,
            clock: try clock.load().reader, registry: MetricsServer.bootstrapMetrics(), logger: logger)
        let (host, port) = try Self.address(listen)
        let application = service.application(configuration: .init(address: .hostname(host, port: port), serverName: "headcount-ingest")) { channel in
            logger.info("ingest listening", metadata: [
                "address": "http://\(host):\(channel.localAddress?.port ?? port)",
                "pipelines": "\(served.map(\.pipeline.id).joined(separator: ","))",
            ])
        }
        // Services stop in reverse order: the server stops taking requests and finishes those in
        // flight, then the producer flushes what they produced.
        var group = ServiceGroupConfiguration(
            services: [.init(service: producer), .init(service: readiness), .init(service: application)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .milliseconds(Int64(shutdownGrace * 1000))
        try await ServiceGroup(configuration: group).run()
    }
}
