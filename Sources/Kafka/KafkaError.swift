internal import CRdKafka

/// A failure reported by librdkafka or by this wrapper, with the partition it concerns.
///
/// `description` is safe to log: it carries librdkafka's reason text and the topic, partition,
/// offset or configuration property, but never a configuration value (so never a password).
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as librdkafka's error code (`rd_kafka_resp_err_t`) with its name.
    public var code: Code
    /// librdkafka's human-readable reason, or this wrapper's own.
    public var message: String
    /// Whether trying the same operation again may succeed (a transient broker or network state).
    public var isRetriable: Bool
    /// Whether the client is unusable from now on and must be recreated (`RD_KAFKA_RESP_ERR__FATAL`).
    public var isFatal: Bool
    /// The topic the failure concerns, when it concerns one.
    public var topic: String?
    /// The partition the failure concerns, when it concerns one.
    public var partition: Int32?
    /// The offset the failure concerns (for example the fetch position that was out of range).
    public var offset: Int64?
    /// The configuration property the failure concerns (its name only, never its value).
    public var property: String?

    /// Creates an error; `isRetriable` defaults to what the code usually means.
    public init(
        code: Code,
        message: String,
        isRetriable: Bool? = nil,
        isFatal: Bool = false,
        topic: String? = nil,
        partition: Int32? = nil,
        offset: Int64? = nil,
        property: String? = nil
    ) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable ?? code.isUsuallyRetriable
        self.isFatal = isFatal
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.property = property
    }

    /// True when a fetch position fell outside the partition's retained log.
    ///
    /// A worker records this as a retention gap: the messages between its position and the
    /// partition's low watermark were deleted by the broker before they were consumed.
    public var isOffsetOutOfRange: Bool {
        code == .offsetOutOfRange || code == .autoOffsetReset
    }

    public var description: String {
        var context: [String] = []
        if let property { context.append("property=\(property)") }
        if let topic { context.append("topic=\(topic)") }
        if let partition { context.append("partition=\(partition)") }
        if let offset { context.append("offset=\(offset)") }
        if isFatal { context.append("fatal") }
        if isRetriable { context.append("retriable") }
        let suffix = context.isEmpty ? "" : " [" + context.joined(separator: ", ") + "]"
        return "KafkaError(\(code.name)): \(message)\(suffix)"
    }
}

extension KafkaError {
    /// A librdkafka error code (`rd_kafka_resp_err_t`): negative values are client-side, positive
    /// ones come from the Kafka protocol.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The numeric value of `rd_kafka_resp_err_t`.
        public let rawValue: Int32

        /// Wraps a numeric librdkafka error code.
        public init(rawValue: Int32) {
            self.rawValue = rawValue
        }

        /// librdkafka's symbolic name for the code, such as `OFFSET_OUT_OF_RANGE` or `_QUEUE_FULL`.
        public var name: String {
            String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: rawValue)))
        }

        public var description: String { name }

        /// The broker no longer (or does not yet) hold the requested offset.
        public static let offsetOutOfRange = Code(rawValue: 1)
        /// The offset was out of range and `auto.offset.reset` is `error`, so nothing was reset.
        public static let autoOffsetReset = Code(rawValue: -140)
        /// The consumer reached the end of a partition (only with `enable.partition.eof`).
        public static let partitionEOF = Code(rawValue: -191)
        /// The producer's local queue is full; serve delivery reports and try again.
        public static let queueFull = Code(rawValue: -184)
        /// A message was not acknowledged within `message.timeout.ms`.
        public static let messageTimedOut = Code(rawValue: -192)
        /// An operation did not complete within its timeout.
        public static let timedOut = Code(rawValue: -185)
        /// A broker connection failed.
        public static let transport = Code(rawValue: -195)
        /// No broker is reachable.
        public static let allBrokersDown = Code(rawValue: -187)
        /// An argument or configuration value was rejected.
        public static let invalidArgument = Code(rawValue: -186)
        /// The client is closed or being destroyed.
        public static let destroyed = Code(rawValue: -197)
        /// The client hit an unrecoverable error (for example an idempotence violation).
        public static let fatal = Code(rawValue: -150)
        /// The message was purged from the local queue before it was sent.
        public static let purgedFromQueue = Code(rawValue: -152)
        /// The message was purged while in flight; whether the broker stored it is unknown.
        public static let purgedInFlight = Code(rawValue: -151)
        /// The topic already exists (treated as success by `KafkaAdmin.createTopic`).
        public static let topicAlreadyExists = Code(rawValue: 36)
        /// The topic or partition does not exist.
        public static let unknownTopicOrPartition = Code(rawValue: 3)
        /// The client is in a state where the operation is not allowed.
        public static let state = Code(rawValue: -172)

        /// Codes that describe a transient broker, network or coordinator condition.
        var isUsuallyRetriable: Bool {
            Self.retriableRawValues.contains(rawValue)
        }

        private static let retriableRawValues: Set<Int32> = [
            -195, -193, -192, -187, -185, -184, -180, -166,  // transport, resolve, timeouts, queue full
            5, 6, 7, 13, 14, 15, 16, 19, 20, 27, 74, 75, 80, 83,  // leader, coordinator, replicas, rebalance
        ]
    }
}

extension KafkaError {
    /// An error from a plain librdkafka code, with librdkafka's own text for it.
    init(_ err: rd_kafka_resp_err_t, topic: String? = nil, partition: Int32? = nil, offset: Int64? = nil) {
        self.init(
            code: Code(rawValue: err.rawValue),
            message: String(cString: rd_kafka_err2str(err)),
            topic: topic,
            partition: partition,
            offset: offset
        )
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it, keeping what it said.
    init(consuming error: OpaquePointer, topic: String? = nil) {
        // rd_kafka_error_t is owned by the caller that received it; destroy it exactly here.
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: Code(rawValue: rd_kafka_error_code(error).rawValue),
            message: String(cString: rd_kafka_error_string(error)),
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            topic: topic
        )
    }

    /// The consumer or producer was closed before or during the operation.
    static func closed(_ what: String) -> KafkaError {
        KafkaError(code: .destroyed, message: "\(what) is closed", isRetriable: false)
    }
}
