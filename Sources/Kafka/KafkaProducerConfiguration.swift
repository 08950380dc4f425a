/// How a `KafkaProducer` connects and batches; idempotence is always on.
///
/// The producer always sets `enable.idempotence=true` and `acks=all`: a send is done only when
/// every in-sync replica holds the message, and librdkafka's retries never duplicate or reorder it.
public struct KafkaProducerConfiguration: Sendable, CustomStringConvertible {
    /// Comma-separated `host:port` list of brokers to bootstrap from (`bootstrap.servers`).
    public var bootstrapServers: String
    /// The name brokers see in their logs and quotas (`client.id`). Default `"headcount"`.
    public var clientID: String = "headcount"
    /// How long librdkafka keeps retrying a message before failing it (`message.timeout.ms`).
    /// Default 300 s, librdkafka's own.
    public var messageTimeout: Duration = .seconds(300)
    /// How long to wait for more messages before sending a batch (`linger.ms`). Default 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// How many messages may wait in the local queue before sends pause for back-pressure
    /// (`queue.buffering.max.messages`). Default 100 000, librdkafka's own.
    public var maxQueuedMessages: Int = 100_000
    /// How message batches are compressed (`compression.codec`). Default `.lz4`.
    public var compression: KafkaCompression = .lz4
    /// How keyed messages map to partitions (`partitioner`). Default `"murmur2_random"`, the Java
    /// client's hash, so every Headcount component and any JVM tool agree on a key's partition.
    public var partitioner: String = "murmur2_random"
    /// How long `run()` waits for outstanding deliveries when shutting down. Default 30 s.
    public var shutdownFlushTimeout: Duration = .seconds(30)
    /// Any other librdkafka property, passed through verbatim: `security.protocol`,
    /// `sasl.mechanisms`, `sasl.username`, `sasl.password`, `ssl.ca.location`... Default empty.
    ///
    /// Values of keys naming a password, secret or key are never logged.
    public var additionalProperties: [String: String] = [:]

    /// A configuration for the given brokers with every other field at its default.
    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }

    /// The configuration with secrets redacted.
    public var description: String {
        (try? properties().description) ?? "KafkaProducerConfiguration(invalid)"
    }

    /// The librdkafka properties, validated.
    func properties() throws(KafkaError) -> KafkaClientProperties {
        var properties = KafkaClientProperties(configurationName: "KafkaProducerConfiguration")
        try properties.setConnection(bootstrapServers: bootstrapServers, clientID: clientID)
        // Idempotence makes retries safe; acks=all makes "acknowledged" mean "replicated".
        properties.set("enable.idempotence", "true", field: "KafkaProducer (always on)")
        properties.set("acks", "all", field: "KafkaProducer (always all)")
        try properties.set("message.timeout.ms", milliseconds: messageTimeout, field: "messageTimeout")
        try properties.set("linger.ms", milliseconds: linger, field: "linger", minimum: .zero)
        guard maxQueuedMessages >= 1 else {
            throw properties.invalid(
                key: "queue.buffering.max.messages",
                "KafkaProducerConfiguration.maxQueuedMessages must be at least 1, got \(maxQueuedMessages)"
            )
        }
        properties.set("queue.buffering.max.messages", String(maxQueuedMessages), field: "maxQueuedMessages")
        properties.set("compression.codec", compression.rawValue, field: "compression")
        properties.set("partitioner", partitioner, field: "partitioner")
        try properties.add(additional: additionalProperties)
        return properties
    }
}

/// The codec for producer batches (`compression.codec`).
public enum KafkaCompression: String, Sendable, Hashable, CaseIterable {
    /// No compression.
    case none
    /// gzip: small, slow.
    case gzip
    /// Snappy: fast, moderate ratio.
    case snappy
    /// LZ4: fast, good ratio; the default.
    case lz4
    /// Zstandard: best ratio, more CPU.
    case zstd
}
