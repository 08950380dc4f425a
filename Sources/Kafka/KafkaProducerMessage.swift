/// A message to publish: value, optional key (which picks the partition), headers.
public struct KafkaProducerMessage: Sendable, Hashable {
    /// The topic to publish to.
    public var topic: String
    /// An explicit partition, or nil to let the partitioner hash the key.
    public var partition: Int32?
    /// The key: messages with equal keys land in the same partition, in order. Nil for none.
    public var key: [UInt8]?
    /// The payload.
    public var value: [UInt8]
    /// Metadata carried beside the payload, in order; names may repeat.
    public var headers: [KafkaHeader]

    /// A message with raw bytes for key and value.
    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]?,
        value: [UInt8],
        headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// A message whose key is UTF-8 text (a participant id, for example).
    public init(
        topic: String,
        partition: Int32? = nil,
        key: String?,
        value: [UInt8],
        headers: [KafkaHeader] = []
    ) {
        self.init(topic: topic, partition: partition, key: key.map { Array($0.utf8) }, value: value, headers: headers)
    }
}

/// One Kafka record header: a name and an optional value.
public struct KafkaHeader: Sendable, Hashable {
    /// The header name.
    public var name: String
    /// The header value; nil is a header present without a value.
    public var value: [UInt8]?

    /// A header with raw bytes.
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    /// A header whose value is UTF-8 text.
    public init(name: String, value: String) {
        self.init(name: name, value: Array(value.utf8))
    }
}

/// Where the brokers stored an acknowledged message.
public struct KafkaDeliveryReport: Sendable, Hashable {
    /// The topic the message was stored in.
    public var topic: String
    /// The partition the message was stored in.
    public var partition: Int32
    /// The message's offset in that partition.
    public var offset: Int64

    /// Creates a report.
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}
