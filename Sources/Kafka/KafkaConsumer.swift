internal import CRdKafka
import Dispatch
import Logging

/// A consumer-group member whose offsets the application controls.
///
/// Every librdkafka call runs on the consumer's own threads, never on the cooperative pool;
/// rebalances happen inside `poll` and `close`, where they are applied at once: the
/// `KafkaRebalanceListener` hears what changed, and partitions it gives no offset stay paused
/// until `start`. Nothing is committed automatically.
///
/// Call `close()` when done: it revokes the assignment through the listener and leaves the group.
public final class KafkaConsumer: Sendable {
    let handle: ConsumerHandle
    /// The consumer's dedicated thread: polls, rebalances and every other call, in order.
    private let pollQueue = DispatchQueue(label: "headcount.kafka.consumer")
    /// Where calls that must not wait for a poll in progress run (`start` wakes it from here).
    let controlQueue = DispatchQueue(label: "headcount.kafka.consumer.control")
    private let logger: Logger
    private let copiesHeaders: Bool

    /// Creates the consumer; it joins the group on the first `poll` after `subscribe`.
    ///
    /// - Parameter rebalanceListener: decides where assigned partitions start; nil starts each
    ///   at the committed offset, else at `autoOffsetReset`.
    /// - Throws: `KafkaError` with `property` set when the configuration is invalid.
    public init(
        configuration: KafkaConsumerConfiguration,
        rebalanceListener: (any KafkaRebalanceListener)? = nil,
        logger: Logger
    ) throws(KafkaError) {
        self.logger = logger
        copiesHeaders = configuration.copiesHeaders
        handle = try ConsumerHandle(configuration: configuration, listener: rebalanceListener, logger: logger)
    }

    /// Subscribes to topics; the assignment arrives through the listener during `poll`.
    public func subscribe(topics: [String]) async throws(KafkaError) {
        try await onConsumerThread { rk, _ throws(KafkaError) in
            let partitions = topics.map { KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA) }
            try withPartitionList(partitions) { list throws(KafkaError) in try check(rd_kafka_subscribe(rk, list)) }
        }
    }

    /// Waits up to `timeout` for up to `maxMessages` records and returns them in order.
    ///
    /// Returns when the batch is full, when `timeout` has passed, or at once when woken by
    /// `start`; a partly filled batch takes the whole `timeout`: choose it as the latency you
    /// accept. Rebalance callbacks run inside. Errors for single partitions (such as an
    /// out-of-range offset) come back as `.error` records in order with the messages; only
    /// errors of the whole consumer are thrown.
    ///
    /// Messages are taken one `rd_kafka_consume_queue` call at a time, not with
    /// `rd_kafka_consume_batch_queue`: in librdkafka 2.0.2 the batch call advances a
    /// partition's resume position past messages it then purges at a rebalance's pause
    /// barrier, so a partition kept through a cooperative rebalance would skip them (#4208,
    /// fixed in 2.0.3).
    public func poll(maxMessages: Int, timeout: Duration) async throws(KafkaError) -> [KafkaConsumerRecord] {
        guard maxMessages >= 1 else {
            throw KafkaError(code: .invalidArgument, message: "poll(maxMessages:) must be at least 1, got \(maxMessages)")
        }
        let handle = handle
        let positions = handle.positions
        let logger = logger
        let copiesHeaders = copiesHeaders
        return try await onConsumerThread { _, queue throws(KafkaError) in
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, timeout.timeoutMilliseconds)) * 1_000_000
            var topics = TopicNames()
            var records: [KafkaConsumerRecord] = []
            // A waiting `start` cuts the batch short (see `ConsumerHandle.startWaiting`).
            while records.count < maxMessages, !handle.isStartWaiting {
                let now = DispatchTime.now().uptimeNanoseconds
                let remaining = now < deadline ? Int32(clamping: (deadline - now + 999_999) / 1_000_000) : 0
                // NULL: the time is up, or a wake-up (`start`) or a rebalance asked to return.
                guard let message = rd_kafka_consume_queue(queue, remaining) else { break }
                records.append(KafkaConsumerRecord(consuming: message, topics: &topics, copiesHeaders: copiesHeaders))
            }
            let (kept, dropped) = positions.filter(records)
            if dropped > 0 {
                logger.debug("KafkaConsumer dropped \(dropped) messages fetched before a rebalance or seek")
            }
            return kept
        }
    }

    /// Consumes up to `maxMessages` messages and destroys them unread; returns how many there were.
    ///
    /// librdkafka's own consume rate, with no copy into Swift values and no filtering against
    /// the assignment: the baseline a benchmark holds the wrapper and the worker against.
    public func pollDiscarding(maxMessages: Int, timeout: Duration) async throws(KafkaError) -> Int {
        guard maxMessages >= 1 else {
            throw KafkaError(code: .invalidArgument, message: "pollDiscarding(maxMessages:) must be at least 1, got \(maxMessages)")
        }
        return try await onConsumerThread { _, queue throws(KafkaError) in
            let buffer = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: maxMessages)
            defer { buffer.deallocate() }
            let count = rd_kafka_consume_batch_queue(queue, timeout.timeoutMilliseconds, buffer, maxMessages)
            guard count >= 0 else { throw KafkaError(rd_kafka_last_error()) }
            var messages = 0
            for index in 0..<count {
                guard let message = buffer[index] else { continue }
                if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { messages += 1 }
                // Every message a consume call returns is ours to destroy, read or not.
                rd_kafka_message_destroy(message)
            }
            return messages
        }
    }

    /// Stops fetching from the given partitions, keeping them assigned (and the group happy).
    public func pause(_ partitions: [KafkaTopicPartition]) async throws(KafkaError) {
        try await onConsumerThread { rk, _ throws(KafkaError) in
            try withPartitionList(partitions) { list throws(KafkaError) in
                try check(rd_kafka_pause_partitions(rk, list))
                if let error = list.firstError { throw error }
            }
        }
    }

    /// Resumes fetching from paused partitions, from where the application left off.
    public func resume(_ partitions: [KafkaTopicPartition]) async throws(KafkaError) {
        try await onConsumerThread { rk, _ throws(KafkaError) in
            try withPartitionList(partitions) { list throws(KafkaError) in
                try check(rd_kafka_resume_partitions(rk, list))
                if let error = list.firstError { throw error }
            }
        }
    }

    /// The partitions currently assigned to this member.
    public func assignment() async throws(KafkaError) -> [KafkaTopicPartition] {
        try await onConsumerThread { rk, _ throws(KafkaError) in
            var list: RdKafkaPartitionList?
            try check(rd_kafka_assignment(rk, &list))
            guard let list else { return [] }
            // rd_kafka_assignment hands us a new list to destroy.
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return list.entries.map(\.topicPartition).sorted()
        }
    }

    /// Commits positions to the group, synchronously; advisory only (lag monitoring, tooling),
    /// since the application keeps its real positions with its results.
    ///
    /// Each offset is the next one to read, that is the last processed offset + 1.
    public func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try await onConsumerThread { rk, _ throws(KafkaError) in
            try withPartitionList(Array(offsets.keys), offsets: offsets) { list throws(KafkaError) in
                try check(rd_kafka_commit(rk, list, 0))
                if let error = list.firstError { throw error }
            }
        }
    }

    /// The group's committed offsets for the given partitions; `.committed` where none exists.
    public func committedOffsets(
        for partitions: [KafkaTopicPartition],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [KafkaTopicPartition: KafkaOffset] {
        try await onConsumerThread { rk, _ throws(KafkaError) in
            try withPartitionList(partitions) { list throws(KafkaError) in
                try check(rd_kafka_committed(rk, list, timeout.timeoutMilliseconds))
                if let error = list.firstError { throw error }
                return Dictionary(list.entries.map { ($0.topicPartition, KafkaOffset($0.offset)) }, uniquingKeysWith: { $1 })
            }
        }
    }

    /// Asks the partition leader for the retained range of a partition.
    public func watermarks(for partition: KafkaTopicPartition, timeout: Duration = .seconds(10)) async throws(KafkaError) -> KafkaWatermarks {
        try await onConsumerThread { rk, _ throws(KafkaError) in
            var low: Int64 = 0
            var high: Int64 = 0
            let result = rd_kafka_query_watermark_offsets(
                rk, partition.topic, partition.partition, &low, &high, timeout.timeoutMilliseconds
            )
            try check(result, topic: partition.topic, partition: partition.partition)
            return KafkaWatermarks(low: low, high: high)
        }
    }

    /// The partition's high watermark as the last fetch response reported it, without asking
    /// the broker (`rd_kafka_get_watermark_offsets`); nil before the first fetch of it.
    ///
    /// For periodic lag reports on the poll thread: asking the leader (`watermarks(for:)`)
    /// costs a round trip per partition there, during which nothing is polled.
    public func cachedHighWatermark(for partition: KafkaTopicPartition) async throws(KafkaError) -> Int64? {
        try await onConsumerThread { rk, _ throws(KafkaError) in
            var low: Int64 = 0
            var high: Int64 = 0
            try check(rd_kafka_get_watermark_offsets(rk, partition.topic, partition.partition, &low, &high),
                      topic: partition.topic, partition: partition.partition)
            return high >= 0 ? high : nil
        }
    }

    /// Revokes the assignment (through the listener), leaves the group and frees the client.
    ///
    /// Waits for a `poll` in progress to return first. Later calls throw a `.destroyed` error.
    public func close() async {
        let handle = handle
        let logger = logger
        // Control calls first: none may run once the client is destroyed.
        await controlQueue.runBlockingNonThrowing { handle.closeControl() }
        await pollQueue.runBlockingNonThrowing { handle.close(logger: logger) }
    }

    /// Runs `body` on the consumer's thread with the open client and its consumer queue.
    func onConsumerThread<Result: Sendable>(
        _ body: @escaping @Sendable (_ rk: OpaquePointer, _ queue: OpaquePointer) throws(KafkaError) -> Result
    ) async throws(KafkaError) -> Result {
        let handle = handle
        return try await pollQueue.runBlocking { () throws(KafkaError) in try handle.withOpenClient(body) }
    }
}
