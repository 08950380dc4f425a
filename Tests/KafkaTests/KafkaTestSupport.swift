import Foundation
import Kafka
import Logging
import Synchronization
import Testing

/// Quiet by default (librdkafka warnings while brokers go down are expected in these tests);
/// `KAFKA_TEST_LOG_LEVEL=debug` shows everything, rebalances and dropped stale messages included.
let testLogger: Logger = {
    var logger = Logger(label: "KafkaTests")
    logger.logLevel = ProcessInfo.processInfo.environment["KAFKA_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}()

/// A topic name no other test uses.
func uniqueTopic(_ prefix: String) -> String {
    "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
}

/// A producer configuration tuned for fast tests against the dev cluster.
func producerConfiguration(_ cluster: KafkaDevCluster) -> KafkaProducerConfiguration {
    var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
    configuration.messageTimeout = .seconds(60)
    configuration.shutdownFlushTimeout = .seconds(10)
    return configuration
}

/// A consumer configuration tuned for fast group joins against the dev cluster.
func consumerConfiguration(_ cluster: KafkaDevCluster, group: String) -> KafkaConsumerConfiguration {
    var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group)
    configuration.sessionTimeout = .seconds(6)
    configuration.heartbeatInterval = .milliseconds(500)
    return configuration
}

/// Runs `body` with a producer whose `run()` serves deliveries, then shuts it down (flushing).
func withProducer<Result: Sendable>(
    _ configuration: KafkaProducerConfiguration,
    _ body: (KafkaProducer) async throws -> Result
) async throws -> Result {
    let producer = try KafkaProducer(configuration: configuration, logger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await producer.run() }
        let result = try await body(producer)
        group.cancelAll()  // run() treats cancellation as shutdown: it flushes and returns.
        try await group.waitForAll()
        return result
    }
}

/// `count` keyed messages with headers, spread over `keys` distinct keys.
func makeMessages(topic: String, count: Int, keys: Int = 16, offset: Int = 0) -> [KafkaProducerMessage] {
    (offset..<(offset + count)).map { index in
        KafkaProducerMessage(
            topic: topic,
            key: "participant-\(index % keys)",
            value: Array("event-\(index)".utf8),
            headers: [KafkaHeader(name: "index", value: String(index)), KafkaHeader(name: "empty", value: nil)]
        )
    }
}

/// Polls until `count` messages arrived or `deadline` passed; returns messages and other records.
func consume(
    _ consumer: KafkaConsumer,
    count: Int,
    within deadline: Duration = .seconds(30)
) async throws -> (messages: [KafkaConsumerMessage], others: [KafkaConsumerRecord]) {
    var messages: [KafkaConsumerMessage] = []
    var others: [KafkaConsumerRecord] = []
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while messages.count < count, clock.now < end {
        for record in try await consumer.poll(maxMessages: 500, timeout: .milliseconds(200)) {
            if case .message(let message) = record { messages.append(message) } else { others.append(record) }
        }
    }
    return (messages, others)
}

/// Decodes the `event-N` value written by `makeMessages`.
extension KafkaConsumerMessage {
    var text: String { String(decoding: value, as: UTF8.self) }
}

/// A listener that records what it was told and starts partitions where a shared store says.
final class RecordingListener: KafkaRebalanceListener {
    private let state = Mutex<(assigned: [[KafkaTopicPartition]], revoked: [[KafkaTopicPartition]])>(([], []))
    private let startOffsets: @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset]

    init(startOffsets: @escaping @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] = { Dictionary($0.map { ($0, .committed) }, uniquingKeysWith: { $1 }) }) {
        self.startOffsets = startOffsets
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
        state.withLock { $0.assigned.append(partitions) }
        return startOffsets(partitions)
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) {
        state.withLock { $0.revoked.append(partitions) }
    }

    var assignments: [[KafkaTopicPartition]] { state.withLock { $0.assigned } }
    var revocations: [[KafkaTopicPartition]] { state.withLock { $0.revoked } }
}
