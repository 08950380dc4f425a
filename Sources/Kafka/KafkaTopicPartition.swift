/// One partition of one topic: the unit of ordering, assignment and offsets.
public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The topic name.
    public var topic: String
    /// The partition number, from 0.
    public var partition: Int32

    /// Names one partition of a topic.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// A position in a partition: an absolute offset or one of librdkafka's logical offsets.
///
/// Absolute offsets name the next message to read, as Kafka commits do: a consumer that has
/// processed offset 41 starts again from `KafkaOffset(42)`.
public struct KafkaOffset: Sendable, Hashable, CustomStringConvertible {
    /// The librdkafka value: absolute offsets are ≥ 0, logical ones negative.
    public let rawValue: Int64

    /// An absolute offset (≥ 0) or a logical one from the constants below.
    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    /// The oldest message the broker still retains (`RD_KAFKA_OFFSET_BEGINNING`).
    public static let beginning = KafkaOffset(-2)
    /// Only messages produced from now on (`RD_KAFKA_OFFSET_END`).
    public static let end = KafkaOffset(-1)
    /// The group's committed offset, else `auto.offset.reset` (`RD_KAFKA_OFFSET_INVALID`).
    public static let committed = KafkaOffset(-1001)

    /// Whether this is an absolute position rather than a logical one.
    public var isAbsolute: Bool { rawValue >= 0 }

    public var description: String {
        switch rawValue {
        case -2: "beginning"
        case -1: "end"
        case -1001: "committed"
        default: String(rawValue)
        }
    }
}

/// The retained range of a partition: `low` is the oldest offset still stored, `high` the offset
/// the next produced message will get (so `high - low` messages are retained).
public struct KafkaWatermarks: Sendable, Hashable {
    /// The oldest retained offset.
    public var low: Int64
    /// One past the newest offset.
    public var high: Int64

    /// Creates watermarks from the two offsets.
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}
