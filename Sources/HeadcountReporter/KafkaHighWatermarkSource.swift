import HeadcountPipeline
import Kafka
import Logging

/// The high watermarks of a pipeline's topic, read from the brokers by an admin client of
/// the reporter's own (it joins no consumer group, so it never rebalances the workers).
public struct KafkaHighWatermarkSource: HighWatermarkSource {
    private let admin: KafkaAdmin
    private let topic: String
    private let brokers: String
    private let timeout: Duration

    /// - Parameter timeout: the longest one read may take; default 5 s. With the brokers
    ///   unreachable, each sealing round waits this long and then counts no partition as
    ///   caught up.
    public init(configuration: KafkaAdminConfiguration, topic: String, timeout: Duration = .seconds(5), logger: Logger) throws(KafkaError) {
        admin = try KafkaAdmin(configuration: configuration, logger: logger)
        self.topic = topic
        brokers = configuration.bootstrapServers
        self.timeout = timeout
    }

    public func highWatermarks() async -> HighWatermarks {
        do {
            let answer = try await admin.highWatermarks(of: topic, timeout: timeout)
            var marks: [Int32: Int64?] = answer.partitions.mapValues { Optional($0.high) }
            for partition in answer.unanswered.keys { marks[partition] = .some(nil) }
            return .read(marks)
        } catch {
            return .unavailable("Kafka at \(brokers) did not answer for topic \(topic): \(error)")
        }
    }
}

/// High watermarks given in advance, for benchmarks that store events without Kafka and for
/// tests that place Kafka's answer where they need it.
public struct FixedHighWatermarks: HighWatermarkSource {
    private let answer: @Sendable () -> HighWatermarks

    public init(_ answer: @escaping @Sendable () -> HighWatermarks) {
        self.answer = answer
    }

    public init(_ answer: HighWatermarks) {
        self.answer = { answer }
    }

    /// Every partition of the pipeline's topic empty in Kafka: whatever is stored is all there is.
    public static func nothingInKafka(_ pipeline: Pipeline) -> FixedHighWatermarks {
        FixedHighWatermarks(.read(Dictionary(uniqueKeysWithValues: (0..<Int32(pipeline.kafka.partitions)).map { ($0, Int64?.some(0)) })))
    }

    public func highWatermarks() async -> HighWatermarks { answer() }
}
