/// How a `KafkaConsumer` joins its group; offsets are always under the application's control.
///
/// The consumer always sets `enable.auto.commit=false` and `enable.auto.offset.store=false`
/// (the application stores its positions with its results and commits to Kafka only as advice).
/// Rebalances never wait for the application: partitions the listener gives no offset arrive
/// paused, and the application starts them with `KafkaConsumer.start(_:)` once it knows where.
public struct KafkaConsumerConfiguration: Sendable, CustomStringConvertible {
    /// Comma-separated `host:port` list of brokers to bootstrap from (`bootstrap.servers`).
    public var bootstrapServers: String
    /// The consumer group (`group.id`): partitions are shared among members with the same id.
    public var groupID: String
    /// The name brokers see in their logs and quotas (`client.id`). Default `"headcount"`.
    public var clientID: String = "headcount"
    /// Where a partition starts when the listener gives no offset and nothing is committed, and
    /// what happens when a position falls out of the retained log (`auto.offset.reset`).
    /// Default `.earliest`.
    public var autoOffsetReset: KafkaAutoOffsetReset = .earliest
    /// How long the group waits for a silent member before reassigning its partitions
    /// (`session.timeout.ms`). Default 45 s, librdkafka's own.
    public var sessionTimeout: Duration = .seconds(45)
    /// How partitions move between members (`partition.assignment.strategy`). Default
    /// `.cooperativeSticky`: a join or a leave moves only the partitions that change owner.
    public var assignmentStrategy: KafkaAssignmentStrategy = .cooperativeSticky
    /// Static membership (`group.instance.id`): a member that restarts within the session
    /// timeout gets its partitions back without a rebalance. Default nil (dynamic member).
    /// A static member does not leave the group on close, so its partitions wait for the
    /// session timeout; librdkafka 2.0.2's mock cluster ignores the id altogether.
    public var groupInstanceID: String? = nil
    /// How often the member tells the coordinator it is alive (`heartbeat.interval.ms`).
    /// Default 3 s.
    public var heartbeatInterval: Duration = .seconds(3)
    /// The longest the application may go between polls before it is considered stuck and leaves
    /// the group (`max.poll.interval.ms`). Default 300 s.
    public var maxPollInterval: Duration = .seconds(300)
    /// Whether `poll` reports `.partitionEOF` when a partition is caught up
    /// (`enable.partition.eof`). Default `false`.
    public var reportsPartitionEOF: Bool = false
    /// Whether polled messages carry their record headers. Default `true`. Reading them is a
    /// parse and a few allocations per message: a consumer that never looks at headers
    /// turns this off and keeps that time.
    public var copiesHeaders: Bool = true
    /// Any other librdkafka property, passed through verbatim: `security.protocol`,
    /// `sasl.mechanisms`, `sasl.username`, `sasl.password`, `ssl.ca.location`, `fetch.max.bytes`...
    /// Default empty. Values of keys naming a password, secret or key are never logged.
    public var additionalProperties: [String: String] = [:]

    /// A configuration for the given brokers and group with every other field at its default.
    public init(bootstrapServers: String, groupID: String) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
    }

    /// The configuration with secrets redacted.
    public var description: String {
        (try? properties().description) ?? "KafkaConsumerConfiguration(invalid)"
    }

    /// The librdkafka properties, validated.
    func properties() throws(KafkaError) -> KafkaClientProperties {
        var properties = KafkaClientProperties(configurationName: "KafkaConsumerConfiguration")
        try properties.setConnection(bootstrapServers: bootstrapServers, clientID: clientID)
        guard !groupID.isEmpty else {
            throw properties.invalid(key: "group.id", "KafkaConsumerConfiguration.groupID must not be empty")
        }
        properties.set("group.id", groupID, field: "groupID")
        // The application owns its offsets: nothing is stored or committed behind its back.
        properties.set("enable.auto.commit", "false", field: "KafkaConsumer (always off)")
        properties.set("enable.auto.offset.store", "false", field: "KafkaConsumer (always off)")
        // The rebalance callback asks librdkafka which protocol the group runs and assigns
        // incrementally or in full accordingly, so either kind of assignor works.
        properties.set("partition.assignment.strategy", assignmentStrategy.rawValue, field: "assignmentStrategy")
        if let groupInstanceID {
            guard !groupInstanceID.isEmpty else {
                throw properties.invalid(key: "group.instance.id", "KafkaConsumerConfiguration.groupInstanceID must not be empty")
            }
            properties.set("group.instance.id", groupInstanceID, field: "groupInstanceID")
        }
        properties.set("auto.offset.reset", autoOffsetReset.rawValue, field: "autoOffsetReset")
        try properties.set("session.timeout.ms", milliseconds: sessionTimeout, field: "sessionTimeout")
        try properties.set("heartbeat.interval.ms", milliseconds: heartbeatInterval, field: "heartbeatInterval")
        try properties.set("max.poll.interval.ms", milliseconds: maxPollInterval, field: "maxPollInterval")
        properties.set("enable.partition.eof", reportsPartitionEOF ? "true" : "false", field: "reportsPartitionEOF")
        try properties.add(additional: additionalProperties)
        return properties
    }
}

/// What a consumer does when it has no valid position (`auto.offset.reset`).
public enum KafkaAutoOffsetReset: String, Sendable, Hashable, CaseIterable {
    /// Start from the oldest retained message.
    case earliest
    /// Start from the next message produced.
    case latest
    /// Reset nothing: `poll` returns an error whose `isOffsetOutOfRange` is true, so the
    /// application can record the retention gap and `seek` where it wants.
    case error
}

/// How a group shares partitions among its members (`partition.assignment.strategy`).
public enum KafkaAssignmentStrategy: String, Sendable, Hashable, CaseIterable {
    /// Incremental (KIP-429): a rebalance revokes only the partitions that move; the others
    /// keep being fetched throughout.
    case cooperativeSticky = "cooperative-sticky"
    /// Eager: every rebalance revokes every partition of every member, then assigns anew.
    case eager = "range,roundrobin"
}
