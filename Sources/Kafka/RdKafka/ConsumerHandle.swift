internal import CRdKafka
import Logging

/// The consumer's librdkafka handle and its consumer queue, in their required teardown order.
///
/// `@unchecked Sendable`: every method runs on the owning `KafkaConsumer`'s serial poll queue, so
/// `isClosed` and the C handles are never touched by two threads at once; `deinit` runs only
/// when no queued work still references the handle.
final class ConsumerHandle: @unchecked Sendable {
    private let client: RdKafkaClient
    /// `rd_kafka_queue_get_consumer`'s queue: a reference we own and destroy before the client.
    private let queue: OpaquePointer
    private var isClosed = false
    /// Filters what polls return against the assignment (see `ConsumerPositionTracker`).
    let positions = ConsumerPositionTracker()

    init(configuration: KafkaConsumerConfiguration, listener: (any KafkaRebalanceListener)?, logger: Logger) throws(KafkaError) {
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
        client.destroy()
    }

    deinit {
        guard !isClosed else { return }
        // Dropped without close(): free without the blocking group leave; the group notices
        // through the session timeout.
        rd_kafka_queue_destroy(queue)
        client.destroy(flags: RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
    }
}

/// Applies the listener's offsets to an eager assignment, or tells it about a revoke.
///
/// Runs inside the consume or close call, on the consumer's poll thread. The list belongs to
/// librdkafka for the duration of the callback and must not be destroyed here.
private let rebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, RdKafkaPartitionList?, UnsafeMutableRawPointer?
) -> Void = { rk, reason, list, _ in
    guard let rk, let list, let context = RdKafkaCallbackContext.of(rk) else { return }
    let partitions = list.entries.map(\.topicPartition)
    switch reason {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        let offsets = context.rebalanceListener?.partitionsAssigned(partitions) ?? [:]
        for index in 0..<Int(list.pointee.cnt) {
            // Offsets set here are where fetching starts; absent ones stay INVALID (= committed).
            if let offset = offsets[partitions[index]] { list.pointee.elems[index].offset = offset.rawValue }
        }
        context.positions?.assigned(partitions, startingAt: offsets)
        context.logger.info("Kafka partitions assigned", metadata: ["kafka.partitions": "\(partitions.sorted())"])
        logIfFailed(rd_kafka_assign(rk, list), "assign", context)
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        context.rebalanceListener?.partitionsRevoked(partitions)
        context.positions?.revoked(partitions)
        context.logger.info("Kafka partitions revoked", metadata: ["kafka.partitions": "\(partitions.sorted())"])
        logIfFailed(rd_kafka_assign(rk, nil), "unassign", context)
    default:
        // librdkafka asks for an unassign on rebalance errors, to resynchronise with the group.
        context.logger.error("Kafka rebalance error: \(KafkaError(reason))")
        context.positions?.revoked(partitions)
        logIfFailed(rd_kafka_assign(rk, nil), "unassign", context)
    }
}

private func logIfFailed(_ result: rd_kafka_resp_err_t, _ operation: String, _ context: RdKafkaCallbackContext) {
    guard result != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
    context.logger.error("Kafka \(operation) failed during rebalance: \(KafkaError(result))")
}
