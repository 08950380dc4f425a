/// A consumed message, copied out of librdkafka.
public struct KafkaConsumerMessage: Sendable, Hashable {
    /// The topic it was read from.
    public var topic: String
    /// The partition it was read from.
    public var partition: Int32
    /// Its offset in that partition; the next position is `offset + 1`.
    public var offset: Int64
    /// The key, or nil when the message has none.
    public var key: [UInt8]?
    /// The payload (empty for a null value).
    public var value: [UInt8]
    /// The record headers, in order.
    public var headers: [KafkaHeader]
    /// The record's timestamp, when the broker reported one.
    public var timestamp: KafkaTimestamp?

    /// Creates a message (consumers build these; tests and fakes may too).
    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8],
        headers: [KafkaHeader] = [],
        timestamp: KafkaTimestamp? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// The partition it was read from.
    public var topicPartition: KafkaTopicPartition {
        KafkaTopicPartition(topic: topic, partition: partition)
    }
}

/// A record timestamp: milliseconds since the Unix epoch, and who set it.
public struct KafkaTimestamp: Sendable, Hashable {
    /// Who assigned the timestamp.
    public enum Kind: Sendable, Hashable {
        /// The producer, when it created the message.
        case createTime
        /// The broker, when it appended the message to its log.
        case logAppendTime
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64
    /// Who assigned it.
    public var kind: Kind

    /// Creates a timestamp.
    public init(millisecondsSinceEpoch: Int64, kind: Kind) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
        self.kind = kind
    }
}

/// One entry of a polled batch: a message, or an event the application must not miss.
public enum KafkaConsumerRecord: Sendable, Hashable {
    /// A message.
    case message(KafkaConsumerMessage)
    /// The partition is caught up: `nextOffset` is where the next message will be
    /// (only with `KafkaConsumerConfiguration.reportsPartitionEOF`).
    case partitionEOF(KafkaTopicPartition, nextOffset: Int64)
    /// A consumer error, in order with the messages. `error.isOffsetOutOfRange` marks a
    /// retention gap; `topic`/`partition`/`offset` say where.
    case error(KafkaError)
}

extension Array where Element == KafkaConsumerRecord {
    /// Only the messages, in order.
    public var messages: [KafkaConsumerMessage] {
        compactMap { if case .message(let message) = $0 { message } else { nil } }
    }

    /// Only the errors, in order.
    public var errors: [KafkaError] {
        compactMap { if case .error(let error) = $0 { error } else { nil } }
    }
}
