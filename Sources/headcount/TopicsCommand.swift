import ArgumentParser
import HeadcountCommandLine
import Kafka
import Logging

/// `headcount topics create`: a pipeline's topic, through the Kafka admin API.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "Manage pipeline topics on a Kafka cluster.",
        subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create the pipeline's topic with its partition count (an existing topic is left as it is).")

        @OptionGroup var pipeline: PipelineOption
        @OptionGroup var brokers: BrokersOption
        @OptionGroup var logging: LoggingOptions

        @Option(help: "Replicas of each partition (3 on a production cluster).")
        var replicationFactor = 3

        func run() async throws {
            let logger = logging.bootstrap("headcount.topics")
            let pipeline = try pipeline.load()
            var configuration = KafkaAdminConfiguration(bootstrapServers: try brokers.bootstrapServers())
            configuration.additionalProperties = try brokers.properties()
            let admin = try KafkaAdmin(configuration: configuration, logger: logger)
            try await admin.createTopic(
                name: pipeline.kafka.topic, partitions: pipeline.kafka.partitions, replicationFactor: replicationFactor)
            let partitions = try await admin.partitionCount(of: pipeline.kafka.topic)
            print("topic \(pipeline.kafka.topic): \(partitions) partitions")
            if partitions != pipeline.kafka.partitions {
                printError("warning: the pipeline asks for \(pipeline.kafka.partitions) partitions; the existing topic has \(partitions)")
            }
        }
    }
}
