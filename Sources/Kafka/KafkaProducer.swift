internal import CRdKafka
import Dispatch
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent producer whose sends finish only when the brokers acknowledged the message.
///
/// Delivery reports are served by `run()`, which must be running (as a `Service` in a
/// `ServiceGroup`, or as a child task) for any send to complete. On graceful shutdown or
/// cancellation `run()` stops accepting sends, flushes what is queued and returns.
///
/// ```swift
/// let producer = try KafkaProducer(configuration: .init(bootstrapServers: servers), logger: logger)
/// // in a ServiceGroup together with the services that call:
/// let reports = try await producer.sendAll(messages)
/// ```
public final class KafkaProducer: Service, Sendable {
    /// Where `run()` is in its life.
    enum Phase {
        case idle
        case running
        case finished
    }

    let client: RdKafkaClient
    let configuration: KafkaProducerConfiguration
    let logger: Logger
    let phase = Mutex(Phase.idle)
    /// Set by graceful shutdown or cancellation; read by the polling thread between polls.
    let stopPolling = Atomic(false)
    /// The dedicated thread that blocks in `rd_kafka_poll` to serve delivery reports.
    let pollQueue = DispatchQueue(label: "headcount.kafka.producer.poll")
    /// Where `flush` blocks, apart from the polling thread.
    private let flushQueue = DispatchQueue(label: "headcount.kafka.producer.flush")

    /// Creates the producer; it connects lazily, on the first send.
    ///
    /// - Throws: `KafkaError` with `property` set when the configuration is invalid.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.logger = logger
        client = try RdKafkaClient.make(
            RD_KAFKA_PRODUCER,
            properties: configuration.properties(),
            context: RdKafkaCallbackContext(logger: logger),
            configure: installDeliveryReportCallback
        )
    }

    deinit {
        // Fail whatever is still queued so that every per-message opaque is released, then
        // serve those reports without blocking; rd_kafka_destroy follows in the client's deinit.
        rd_kafka_purge(client.pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
        rd_kafka_poll(client.pointer, 0)
    }

    /// Publishes one message and returns once the brokers acknowledged it.
    public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        try await sendAll([message])[0]
    }

    /// Publishes many messages at once and returns once all are acknowledged, in input order.
    ///
    /// Every message is enqueued before any acknowledgement is awaited, so librdkafka batches
    /// them. When the local queue is full (`maxQueuedMessages`) sending waits for deliveries
    /// to free room; nothing is dropped. If any message fails, this throws the first failure
    /// after every other message has settled; some messages may then have been stored, so a
    /// caller that retries must tolerate duplicates.
    ///
    /// - Throws: `KafkaError`, or `CancellationError` when cancelled while waiting for queue room
    ///   (messages already enqueued are still awaited first).
    public func sendAll(_ messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
        guard !messages.isEmpty else { return [] }
        let batch = DeliveryBatch(count: messages.count)
        var stopError: (any Error)?
        for (index, message) in messages.enumerated() {
            if let stopError {
                batch.complete(index, with: .failure(KafkaError(code: .state, message: "not sent: \(stopError)")))
                continue
            }
            do {
                try await enqueue(message, slot: DeliverySlot(batch: batch, index: index))
            } catch let error as KafkaError where error.code != .destroyed && !error.isFatal {
                // Only this message was refused (too large, unknown partition...): go on with the rest.
                batch.complete(index, with: .failure(error))
            } catch {
                stopError = error
                batch.complete(index, with: .failure(error as? KafkaError ?? KafkaError(code: .state, message: "\(error)")))
            }
        }
        let reports = try await batch.wait()
        if let stopError { throw stopError }
        return reports
    }

    /// Enqueues one message, waiting for room while librdkafka's queue is full.
    private func enqueue(_ message: KafkaProducerMessage, slot: DeliverySlot) async throws {
        let opaque = Unmanaged.passRetained(slot).toOpaque()
        while true {
            let refusal = enqueueUnlessFinished(message, opaque: opaque)
            guard let refusal else { return }
            guard refusal.code == .queueFull else {
                // librdkafka did not take the message, so its opaque reference is still ours.
                Unmanaged<DeliverySlot>.fromOpaque(opaque).release()
                throw refusal
            }
            // Back-pressure: serve whatever reports are ready without blocking, then give the
            // polling thread a moment to drain the queue.
            rd_kafka_poll(client.pointer, 0)
            do {
                try await Task.sleep(for: .milliseconds(1))
            } catch {
                Unmanaged<DeliverySlot>.fromOpaque(opaque).release()
                throw error
            }
        }
    }

    /// One `rd_kafka_produceva` attempt, refused once `run()` has finished.
    ///
    /// Holding the phase lock across the call closes the race with shutdown: a message either
    /// enters the queue before `run()` flushes it, or is refused.
    private func enqueueUnlessFinished(_ message: KafkaProducerMessage, opaque: UnsafeMutableRawPointer) -> KafkaError? {
        if let fatal = client.context.fatalError { return fatal }
        return phase.withLock { phase -> KafkaError? in
            guard phase != .finished else { return KafkaError.closed("KafkaProducer") }
            guard let error = message.produce(on: client.pointer, opaque: opaque) else { return nil }
            return KafkaError(consuming: error, topic: message.topic)
        }
    }

    /// Waits until every queued message is acknowledged or failed, or the timeout passes.
    ///
    /// - Throws: `KafkaError` with code `.timedOut` when messages are still outstanding.
    public func flush(timeout: Duration) async throws(KafkaError) {
        let client = client
        try await flushQueue.runBlocking { () throws(KafkaError) in
            try check(rd_kafka_flush(client.pointer, timeout.timeoutMilliseconds))
        }
    }

    /// The number of messages queued or in flight, not yet acknowledged.
    public var outstandingMessageCount: Int {
        Int(rd_kafka_outq_len(client.pointer))
    }
}
