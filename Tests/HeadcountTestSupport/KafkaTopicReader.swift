import Foundation
import Kafka
import Logging

/// Reads a whole topic back from the beginning: what tests compare with what they produced.
public enum KafkaTopicReader {
    public struct Incomplete: Error, CustomStringConvertible {
        public var description: String
    }

    /// Every message of `topic`, each of its `partitions` read to its end (a fresh group
    /// starting at the beginning); fails when that takes longer than `deadline`.
    public static func messages(
        bootstrapServers: String, topic: String, partitions: Int, deadline: Duration = .seconds(30), logger: Logger
    ) async throws -> [KafkaConsumerMessage] {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: "reader-\(UUID().uuidString)")
        configuration.reportsPartitionEOF = true
        let fromStart = KafkaRebalanceHandlers(assigned: { assigned in
            Dictionary(uniqueKeysWithValues: assigned.map { ($0, KafkaOffset.beginning) })
        })
        let consumer = try KafkaConsumer(configuration: configuration, rebalanceListener: fromStart, logger: logger)
        try await consumer.subscribe(topics: [topic])
        var messages: [KafkaConsumerMessage] = []
        var ended = Set<Int32>()
        let end = ContinuousClock.now + deadline
        while ended.count < partitions {
            guard ContinuousClock.now < end else {
                await consumer.close()
                throw Incomplete(description: "read \(ended.count) of \(partitions) partitions of \(topic) to their end within \(deadline)")
            }
            for record in try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(200)) {
                switch record {
                case .message(let message): messages.append(message)
                case .partitionEOF(let partition, _): ended.insert(partition.partition)
                case .error: break
                }
            }
        }
        await consumer.close()
        return messages
    }
}
