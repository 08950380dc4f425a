internal import CRdKafka
import Dispatch
import Logging

/// How a `KafkaAdmin` connects.
public struct KafkaAdminConfiguration: Sendable, CustomStringConvertible {
    /// Comma-separated `host:port` list of brokers to bootstrap from (`bootstrap.servers`).
    public var bootstrapServers: String
    /// The name brokers see (`client.id`). Default `"headcount-admin"`.
    public var clientID: String = "headcount-admin"
    /// Any other librdkafka property (SASL, TLS...), passed through verbatim. Default empty.
    public var additionalProperties: [String: String] = [:]

    /// A configuration for the given brokers with every other field at its default.
    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }

    /// The configuration with secrets redacted.
    public var description: String {
        (try? properties().description) ?? "KafkaAdminConfiguration(invalid)"
    }

    func properties() throws(KafkaError) -> KafkaClientProperties {
        var properties = KafkaClientProperties(configurationName: "KafkaAdminConfiguration")
        try properties.setConnection(bootstrapServers: bootstrapServers, clientID: clientID)
        try properties.add(additional: additionalProperties)
        return properties
    }
}

/// Cluster administration: topic creation and metadata.
///
/// Uses the Kafka Admin API, which real clusters answer; the librdkafka 2.0.2 mock cluster does
/// not implement CreateTopics, so the development broker creates topics with
/// `KafkaDevCluster.createTopic` instead.
public final class KafkaAdmin: Sendable {
    let client: RdKafkaClient
    /// Where the blocking admin waits happen, off the cooperative pool.
    let blockingQueue = DispatchQueue(label: "headcount.kafka.admin")

    /// Creates an admin client; it connects lazily.
    public init(configuration: KafkaAdminConfiguration, logger: Logger) throws(KafkaError) {
        client = try RdKafkaClient.make(
            RD_KAFKA_PRODUCER,
            properties: configuration.properties(),
            context: RdKafkaCallbackContext(logger: logger)
        )
    }

    /// Creates a topic, treating "already exists" as success.
    ///
    /// - Returns: true if this call created the topic, false if it already existed.
    @discardableResult
    public func createTopic(
        name: String,
        partitions: Int,
        replicationFactor: Int,
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) -> Bool {
        let client = client
        return try await blockingQueue.runBlocking { () throws(KafkaError) in
            try client.checkFatal()
            let result = try Self.createTopicBlocking(client.pointer, name, partitions, replicationFactor, timeout)
            if result.code == .topicAlreadyExists { return false }
            if result.code.rawValue != 0 { throw result }
            return true
        }
    }

    /// Sends CreateTopics and waits for its result event; returns the topic's result as an error
    /// value (code 0 on success).
    private static func createTopicBlocking(
        _ rk: OpaquePointer, _ name: String, _ partitions: Int, _ replicationFactor: Int, _ timeout: Duration
    ) throws(KafkaError) -> KafkaError {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(name, Int32(clamping: partitions), Int32(clamping: replicationFactor), &errorText, errorText.count) else {
            throw KafkaError(code: .invalidArgument, message: String(cStringBuffer: errorText), topic: name)
        }
        // Every admin object we create is ours to destroy; the queue goes before the client.
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_request_timeout(options, timeout.timeoutMilliseconds, &errorText, errorText.count)
        rd_kafka_AdminOptions_set_operation_timeout(options, timeout.timeoutMilliseconds, &errorText, errorText.count)
        let queue = rd_kafka_queue_new(rk)
        defer { rd_kafka_queue_destroy(queue) }

        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(rk, &topics, 1, options, queue)
        // The request itself is bounded by the timeout; the margin lets its own error arrive first.
        guard let event = rd_kafka_queue_poll(queue, (timeout + .seconds(5)).timeoutMilliseconds) else {
            throw KafkaError(code: .timedOut, message: "CreateTopics got no answer within \(timeout)", topic: name)
        }
        // Polled events are ours to destroy.
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            return KafkaError(code: .init(rawValue: eventError.rawValue), message: text, topic: name)
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
              let results = rd_kafka_CreateTopics_result_topics(result, &count), count > 0
        else {
            throw KafkaError(code: .state, message: "CreateTopics returned no topic result", topic: name)
        }
        let topicError = rd_kafka_topic_result_error(results[0])
        let text = rd_kafka_topic_result_error_string(results[0]).map { String(cString: $0) } ?? ""
        return KafkaError(code: .init(rawValue: topicError.rawValue), message: text, topic: name)
    }

    /// The number of partitions of an existing topic, from the cluster's metadata.
    public func partitionCount(of topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> Int {
        let client = client
        return try await blockingQueue.runBlocking { () throws(KafkaError) in
            try client.checkFatal()
            return try Self.partitionIDs(client.pointer, topic, timeout).count
        }
    }
}
