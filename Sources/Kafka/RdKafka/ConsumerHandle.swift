internal import CRdKafka
import Logging
import Synchronization

/// The consumer's librdkafka handle and its consumer queue, in their required teardown order.
///
/// `@unchecked Sendable`: every method but `withControlClient` and `closeControl` runs on the
/// owning `KafkaConsumer`'s serial poll queue, so `isClosed` and the C handles are never touched
/// by two threads at once; the control calls (thread-safe in librdkafka) run under
/// `controlOpen`'s lock, which `close` takes before it destroys anything; `deinit` runs only
/// when no queued work still references the handle.
final class ConsumerHandle: @unchecked Sendable {
    private let client: RdKafkaClient
    /// `rd_kafka_queue_get_consumer`'s queue: a reference we own and destroy before the client.
    private let queue: OpaquePointer
    private var isClosed = false
    /// Whether control calls (beside a running poll) may still use the client.
    private let controlOpen = Mutex(true)
    /// Filters what polls return against the assignment (see `ConsumerPositionTracker`).
    let positions = ConsumerPositionTracker()
    /// The sticky assignor's state exists only once an assignment arrived (see `release`).
    private let usesStickyAssignor: Bool

    init(configuration: KafkaConsumerConfiguration, listener: (any KafkaRebalanceListener)?, logger: Logger) throws(KafkaError) {
        usesStickyAssignor = configuration.assignmentStrategy == .cooperativeSticky
        client = try RdKafkaClient.make(
            RD_KAFKA_CONSUMER,
            properties: configuration.properties(),
            context: RdKafkaCallbackContext(logger: logger, rebalanceListener: listener, positions: positions),
            configure: { rd_kafka_conf_set_rebalance_cb($0, rebalanceCallback) }
        )
        // Route the main queue (errors, rebalances) into the consumer queue, so that the one
        // consume call on the poll thread serves all of them, rebalance callbacks included.
        rd_kafka_poll_set_consumer(client.pointer)
        queue = rd_kafka_queue_get_consumer(client.pointer)
    }

    /// Lends the open client and its consumer queue to `body`, or throws once closed or fatal.
    func withOpenClient<Result>(
        _ body: (_ rk: OpaquePointer, _ queue: OpaquePointer) throws(KafkaError) -> Result
    ) throws(KafkaError) -> Result {
        guard !isClosed else { throw KafkaError.closed("KafkaConsumer") }
        try client.checkFatal()
        return try body(client.pointer, queue)
    }

    /// Lends the client to a control call that may run while a poll is in progress.
    ///
    /// The lock is held for the whole call, so `closeControl` (and with it `close`) waits for
    /// a control call in progress before the client can go.
    func withControlClient<Result>(_ body: (_ rk: OpaquePointer) throws(KafkaError) -> Result) throws(KafkaError) -> Result {
        try controlOpen.withLock { open throws(KafkaError) -> Result in
            guard open else { throw KafkaError.closed("KafkaConsumer") }
            try client.checkFatal()
            return try body(client.pointer)
        }
    }

    /// Makes a consume call in progress return now (or the next one at once); thread-safe.
    func wakeConsume() {
        rd_kafka_queue_yield(queue)
    }

    /// `start` calls waiting for the poll thread. While there are any, a poll returns what it
    /// has at once: the yield wakes only the consume call in progress, and the poll loop's next
    /// poll may be queued on the poll thread before the start's work is, which would then wait
    /// that poll's whole timeout.
    private let startsWaiting = Atomic<Int>(0)

    func startWaiting() {
        startsWaiting.add(1, ordering: .sequentiallyConsistent)
    }

    func startDone() {
        startsWaiting.subtract(1, ordering: .sequentiallyConsistent)
    }

    var isStartWaiting: Bool { startsWaiting.load(ordering: .sequentiallyConsistent) > 0 }

    /// Refuses every later control call; returns once none is in progress.
    func closeControl() {
        controlOpen.withLock { $0 = false }
    }

    /// Leaves the group (serving the final revoke through the listener) and frees everything.
    func close(logger: Logger) {
        guard !isClosed else { return }
        isClosed = true
        // rd_kafka_consumer_close must precede rd_kafka_destroy: it revokes the assignment,
        // calling the rebalance callback on this thread, and leaves the group cleanly.
        let result = rd_kafka_consumer_close(client.pointer)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("KafkaConsumer close: \(KafkaError(result))")
        }
        // Queues are references into the client: they go before it.
        rd_kafka_queue_destroy(queue)
        release(logger: logger, flags: 0)
    }

    /// Destroys the client, unless that would abort the process.
    ///
    /// librdkafka 2.0.2 asserts that the cooperative-sticky assignor has its state when a
    /// consumer is destroyed (#4312, fixed in 2.3.0), and that state is made only when the
    /// first assignment arrives: destroying a consumer that never got one (stopped while the
    /// group formed, or with the brokers down) kills the process. Such a consumer has left the
    /// group already; its handle is abandoned instead, a few threads and sockets until exit.
    private func release(logger: Logger, flags: Int32) {
        if usesStickyAssignor && !client.context.hasBeenAssigned {
            logger.debug("KafkaConsumer never assigned: its handle is kept, not destroyed (librdkafka 2.0.2 #4312)")
            client.abandon()
        } else {
            client.destroy(flags: flags)
        }
    }

    deinit {
        guard !isClosed else { return }
        // Dropped without close(): free without the blocking group leave; the group notices
        // through the session timeout.
        rd_kafka_queue_destroy(queue)
        release(logger: client.context.logger, flags: RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
    }
}

/// Applies a rebalance at once and hands what changed to the listener: nothing here waits for
/// the application, a database or the network.
///
/// Runs inside the consume or close call, on the consumer's poll thread. The list belongs to
/// librdkafka for the duration of the callback and must not be destroyed here.
private let rebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, RdKafkaPartitionList?, UnsafeMutableRawPointer?
) -> Void = { rk, reason, list, _ in
    guard let rk, let list, let context = RdKafkaCallbackContext.of(rk), let positions = context.positions else { return }
    let partitions = list.entries.map(\.topicPartition)
    // The group's protocol, not the configured one: it is what librdkafka checks assign calls against.
    let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
    switch reason {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        context.recordAssignment()
        // No listener: every partition starts at once from its committed offset.
        let offsets = context.rebalanceListener.map { $0.partitionsAssigned(partitions) }
            ?? Dictionary(partitions.map { ($0, KafkaOffset.committed) }, uniquingKeysWith: { $1 })
        let waiting = partitions.filter { offsets[$0] == nil }
        for index in 0..<Int(list.pointee.cnt) {
            // A partition that waits for `start` is assigned at an absolute offset (0), paused
            // at once, so that librdkafka accepts the seek that `start` makes. Not a logical one
            // (beginning, committed): librdkafka would first ask the broker for it, and `start`'s
            // seek would overtake that query, whose outdated answer makes the partition retry it
            // after a fixed 500 ms, holding the first fetch of a moved partition that long.
            // What a fetch from 0 begun before the pause took effect returns (messages, or an
            // out-of-range error when 0 is gone) is dropped: its version is older than the seek's.
            list.pointee.elems[index].offset = (offsets[partitions[index]] ?? KafkaOffset(0)).rawValue
        }
        // The tracker first: whatever is fetched from here on is filtered by the new assignment.
        positions.assigned(partitions, startingAt: offsets)
        let result = cooperative ? incrementalAssign(rk, list, assign: true) : rd_kafka_assign(rk, list)
        logIfFailed(result, cooperative ? "incremental assign" : "assign", context)
        // rd_kafka_pause_partitions only waits for librdkafka's own threads, never the network.
        // An application pause outlives a revoke in librdkafka: partitions started at once are resumed.
        pausing(rk, waiting, pause: true, context)
        pausing(rk, partitions.filter { offsets[$0] != nil }, pause: false, context)
        context.logger.info("Kafka partitions assigned", metadata: [
            "kafka.partitions": "\(partitions.sorted())", "kafka.awaitingStart": "\(waiting.count)",
            "kafka.protocol": "\(cooperative ? "cooperative" : "eager")",
        ])
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        let lost = rd_kafka_assignment_lost(rk) != 0
        positions.revoked(partitions)
        context.rebalanceListener?.partitionsRevoked(partitions)
        context.logger.info("Kafka partitions revoked", metadata: [
            "kafka.partitions": "\(partitions.sorted())", "kafka.lost": "\(lost)",
        ])
        let result = cooperative ? incrementalAssign(rk, list, assign: false) : rd_kafka_assign(rk, nil)
        logIfFailed(result, cooperative ? "incremental unassign" : "unassign", context)
    default:
        // librdkafka asks for a full unassign on rebalance errors, to resynchronise with the group.
        context.logger.error("Kafka rebalance error: \(KafkaError(reason))")
        let everything = Array(positions.assignment.keys)
        positions.revoked(everything)
        if !everything.isEmpty { context.rebalanceListener?.partitionsRevoked(everything) }
        logIfFailed(rd_kafka_assign(rk, nil), "unassign", context)
    }
}

/// `rd_kafka_incremental_(un)assign`, its error object freed and turned into a code.
func incrementalAssign(_ rk: OpaquePointer, _ list: RdKafkaPartitionList, assign: Bool) -> rd_kafka_resp_err_t {
    guard let error = assign ? rd_kafka_incremental_assign(rk, list) : rd_kafka_incremental_unassign(rk, list) else {
        return RD_KAFKA_RESP_ERR_NO_ERROR
    }
    // The error object is ours to destroy.
    defer { rd_kafka_error_destroy(error) }
    return rd_kafka_error_code(error)
}

private func pausing(_ rk: OpaquePointer, _ partitions: [KafkaTopicPartition], pause: Bool, _ context: RdKafkaCallbackContext) {
    guard !partitions.isEmpty else { return }
    do {
        try withPartitionList(partitions) { list throws(KafkaError) in
            try check(pause ? rd_kafka_pause_partitions(rk, list) : rd_kafka_resume_partitions(rk, list))
        }
    } catch {
        context.logger.error("Kafka \(pause ? "pause" : "resume") failed during rebalance: \(error)")
    }
}

private func logIfFailed(_ result: rd_kafka_resp_err_t, _ operation: String, _ context: RdKafkaCallbackContext) {
    guard result != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
    context.logger.error("Kafka \(operation) failed during rebalance: \(KafkaError(result))")
}
