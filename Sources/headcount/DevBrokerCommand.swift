import ArgumentParser
import Foundation
import HeadcountCommandLine
import HeadcountPipeline
import Kafka
import Logging
import ServiceLifecycle
import UnixSignals

/// `headcount dev-broker`: the development Kafka cluster (librdkafka's mock cluster).
struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run a development Kafka cluster (librdkafka mock, real TCP ports) until SIGTERM.",
        discussion: """
            Not Apache Kafka: librdkafka 2.0.2's mock cluster keeps at most about 5 MB per partition and \
            silently deletes the oldest messages beyond that, so a consumer more than 5 MB behind on a \
            partition loses data. Give topics enough partitions for the volume (--pipeline pre-creates \
            each pipeline's topic with its partition count).
            """)

    @Option(help: "Number of brokers.")
    var brokers = 3

    @Option(help: ArgumentHelp("Pipeline files whose topics to create (repeatable).", valueName: "file"))
    var pipeline: [String] = []

    @Option(help: ArgumentHelp("Where to write the bootstrap address for other processes.", valueName: "file"))
    var bootstrapFile = BrokersOption.defaultBootstrapFile

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap("headcount.dev-broker")
        let cluster = try KafkaDevCluster(brokerCount: brokers, logger: logger)
        for path in pipeline {
            let loaded = try PipelineOption.load(path: path)
            try await cluster.createTopic(loaded.kafka.topic, partitions: loaded.kafka.partitions)
            print("topic \(loaded.kafka.topic): \(loaded.kafka.partitions) partitions, at most ~\(loaded.kafka.partitions * 5) MB retained")
        }
        try FileManager.default.createDirectory(
            atPath: (bootstrapFile as NSString).deletingLastPathComponent.isEmpty ? "." : (bootstrapFile as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        print("bootstrap servers: \(cluster.bootstrapServers) (written to \(bootstrapFile))")
        let service = KafkaDevBrokerService(cluster: cluster, bootstrapFile: bootstrapFile, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension PipelineOption {
    init(pipeline: String) {
        self.init()
        self.pipeline = pipeline
    }
}
