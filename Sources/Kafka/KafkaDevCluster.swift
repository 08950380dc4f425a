internal import CRdKafka
import Dispatch
import Logging

/// An in-process Kafka cluster for development and tests: librdkafka's mock brokers on real
/// localhost TCP ports, with fault injection.
///
/// Any client can connect to `bootstrapServers`, in this process or another. The mock is not a
/// durable broker:
/// - librdkafka 2.0.2 keeps at most about 5 MB (and 100 000 message sets) per partition and
///   silently deletes the oldest message sets beyond that, so a consumer that falls more than
///   5 MB behind on a partition loses data. Size the partition count for the volume: for example
///   2 million 200-byte events need at least 80 partitions to be retained in full.
/// - It does not implement the CreateTopics admin request: use `createTopic` here, not `KafkaAdmin`.
/// - Everything is lost when the cluster is destroyed (when the last reference goes away).
public final class KafkaDevCluster: Sendable {
    /// The client handle the mock cluster needs for its bookkeeping; it never connects anywhere.
    private let host: RdKafkaClient
    private let cluster: MockClusterPointer
    /// Where the mock control requests (which wait for the mock thread) run.
    private let controlQueue = DispatchQueue(label: "headcount.kafka.devcluster")
    /// The `host:port` list of the mock brokers, for `bootstrap.servers`.
    public let bootstrapServers: String
    /// How many brokers the cluster has; their ids are 1 through `brokerCount`.
    public let brokerCount: Int

    /// Starts a cluster of `brokerCount` brokers listening on free localhost ports.
    public init(brokerCount: Int = 3, logger: Logger) throws(KafkaError) {
        guard brokerCount >= 1 else {
            throw KafkaError(code: .invalidArgument, message: "KafkaDevCluster needs at least one broker, got \(brokerCount)")
        }
        var properties = KafkaClientProperties(configurationName: "KafkaDevCluster")
        properties.set("client.id", "headcount-dev-cluster", field: "KafkaDevCluster")
        host = try RdKafkaClient.make(RD_KAFKA_PRODUCER, properties: properties, context: RdKafkaCallbackContext(logger: logger))
        guard let pointer = rd_kafka_mock_cluster_new(host.pointer, Int32(clamping: brokerCount)) else {
            throw KafkaError(code: .state, message: "rd_kafka_mock_cluster_new failed (no free ports?)")
        }
        cluster = MockClusterPointer(pointer: pointer)
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(pointer))
        self.brokerCount = brokerCount
    }

    deinit {
        // The mock cluster lives inside its host client: destroy it first, then the client.
        rd_kafka_mock_cluster_destroy(cluster.pointer)
        host.destroy()
    }

    /// Creates a topic on the mock brokers (the mock has no CreateTopics API).
    ///
    /// Producing to an unknown topic also creates it, with the mock's default partition count.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) async throws(KafkaError) {
        try await control { cluster throws(KafkaError) in
            try check(
                rd_kafka_mock_topic_create(cluster, name, Int32(clamping: partitions), Int32(clamping: replicationFactor)),
                topic: name
            )
        }
    }

    /// Disconnects a broker and refuses new connections (leadership does not move).
    public func setBrokerDown(_ brokerID: Int32) async throws(KafkaError) {
        try await control { cluster throws(KafkaError) in try check(rd_kafka_mock_broker_set_down(cluster, brokerID)) }
    }

    /// Lets a broker accept connections again.
    public func setBrokerUp(_ brokerID: Int32) async throws(KafkaError) {
        try await control { cluster throws(KafkaError) in try check(rd_kafka_mock_broker_set_up(cluster, brokerID)) }
    }

    /// Delays every response of a broker (or all brokers with id -1) by `rtt`.
    public func setBrokerRTT(_ brokerID: Int32, rtt: Duration) async throws(KafkaError) {
        try await control { cluster throws(KafkaError) in
            try check(rd_kafka_mock_broker_set_rtt(cluster, brokerID, rtt.timeoutMilliseconds))
        }
    }

    /// Makes the next `errors.count` requests of type `apiKey` (on any broker) fail, one error each.
    ///
    /// `.transport` makes the broker drop the connection instead of answering.
    public func pushRequestErrors(apiKey: KafkaAPIKey, errors: [KafkaError.Code]) async throws(KafkaError) {
        try await control { cluster throws(KafkaError) in
            let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
            rd_kafka_mock_push_request_errors_array(cluster, apiKey.rawValue, codes.count, codes)
        }
    }

    /// Forgets the errors still pushed for `apiKey`.
    public func clearRequestErrors(apiKey: KafkaAPIKey) async throws(KafkaError) {
        try await control { cluster throws(KafkaError) in rd_kafka_mock_clear_request_errors(cluster, apiKey.rawValue) }
    }

    /// Moves a partition's leadership to another broker (-1 leaves it without a leader).
    public func setPartitionLeader(topic: String, partition: Int32, brokerID: Int32) async throws(KafkaError) {
        try await control { cluster throws(KafkaError) in
            try check(rd_kafka_mock_partition_set_leader(cluster, topic, partition, brokerID), topic: topic, partition: partition)
        }
    }

    /// Runs a mock control request on the control queue: each waits for the mock's own thread.
    private func control<Result: Sendable>(
        _ body: @escaping @Sendable (OpaquePointer) throws(KafkaError) -> Result
    ) async throws(KafkaError) -> Result {
        // Capturing self keeps the cluster alive (deinit destroys it) until the request returns.
        try await controlQueue.runBlocking { [self] () throws(KafkaError) in
            try body(cluster.pointer)
        }
    }
}

/// The mock cluster pointer, shareable across threads.
///
/// `@unchecked Sendable`: librdkafka's mock control functions are thread-safe (each posts a request
/// to the mock cluster's own thread and waits for the reply), and the pointer never changes.
private struct MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// A Kafka protocol request type, for `KafkaDevCluster.pushRequestErrors`.
public struct KafkaAPIKey: Sendable, Hashable {
    /// The protocol's ApiKey number.
    public let rawValue: Int16

    /// Wraps a protocol ApiKey number.
    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// Produce (0): publishing.
    public static let produce = KafkaAPIKey(rawValue: 0)
    /// Fetch (1): consuming.
    public static let fetch = KafkaAPIKey(rawValue: 1)
    /// ListOffsets (2): watermarks and offset resets.
    public static let listOffsets = KafkaAPIKey(rawValue: 2)
    /// Metadata (3): topics, partitions, leaders.
    public static let metadata = KafkaAPIKey(rawValue: 3)
    /// OffsetCommit (8): group commits.
    public static let offsetCommit = KafkaAPIKey(rawValue: 8)
    /// OffsetFetch (9): reading committed offsets.
    public static let offsetFetch = KafkaAPIKey(rawValue: 9)
    /// FindCoordinator (10): locating the group coordinator.
    public static let findCoordinator = KafkaAPIKey(rawValue: 10)
    /// JoinGroup (11): group membership.
    public static let joinGroup = KafkaAPIKey(rawValue: 11)
    /// Heartbeat (12): group liveness.
    public static let heartbeat = KafkaAPIKey(rawValue: 12)
    /// SyncGroup (14): assignment distribution.
    public static let syncGroup = KafkaAPIKey(rawValue: 14)
    /// InitProducerId (22): idempotent producer start-up.
    public static let initProducerID = KafkaAPIKey(rawValue: 22)
}
