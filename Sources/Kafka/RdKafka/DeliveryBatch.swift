internal import CRdKafka
import Synchronization

/// The acknowledgements of one `send`/`sendAll` call, filled in by delivery reports.
///
/// Results keep the order of the input; the waiting caller resumes once every message has an
/// outcome, so no delivery report can arrive after the caller stopped listening.
final class DeliveryBatch: Sendable {
    private struct State {
        var reports: [KafkaDeliveryReport?]
        var pending: Int
        var firstError: KafkaError?
        var continuation: CheckedContinuation<[KafkaDeliveryReport], any Error>?

        /// The result to hand the waiter once nothing is pending.
        var outcome: Result<[KafkaDeliveryReport], any Error> {
            if let firstError { return .failure(firstError) }
            return .success(reports.map { $0! })
        }
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(reports: Array(repeating: nil, count: count), pending: count))
    }

    /// Records one message's outcome; resumes the waiter when it was the last one.
    func complete(_ index: Int, with outcome: Result<KafkaDeliveryReport, KafkaError>) {
        let resume = state.withLock { state -> (CheckedContinuation<[KafkaDeliveryReport], any Error>, Result<[KafkaDeliveryReport], any Error>)? in
            switch outcome {
            case .success(let report): state.reports[index] = report
            case .failure(let error): if state.firstError == nil { state.firstError = error }
            }
            state.pending -= 1
            guard state.pending == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.outcome)
        }
        // Resume outside the lock: the continuation may run code that touches this batch.
        if let (continuation, result) = resume { continuation.resume(with: result) }
    }

    /// Waits until every message of the batch has an outcome.
    ///
    /// Not cancellable: enqueued messages cannot be recalled, and librdkafka settles each one
    /// within `message.timeout.ms`.
    func wait() async throws -> [KafkaDeliveryReport] {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<[KafkaDeliveryReport], any Error>? in
                guard state.pending > 0 else { return state.outcome }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

/// The per-message opaque handed to librdkafka: which batch and which position it belongs to.
///
/// Retained once when the message is enqueued and released exactly once: by the delivery report
/// callback, or by the sender when `rd_kafka_produceva` refused the message.
final class DeliverySlot: Sendable {
    let batch: DeliveryBatch
    let index: Int

    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }
}

/// Installs the delivery report callback on a producer conf.
func installDeliveryReportCallback(on conf: OpaquePointer) {
    rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
}

/// Called once per produced message from `rd_kafka_poll`/`rd_kafka_flush`, on the polling thread.
///
/// The message belongs to librdkafka here and must not be destroyed.
private let deliveryReportCallback: @convention(c) (
    OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?
) -> Void = { _, message, _ in
    guard let message = message?.pointee, let opaque = message._private else { return }
    // Balances the passRetained done when this message was enqueued.
    let slot = Unmanaged<DeliverySlot>.fromOpaque(opaque).takeRetainedValue()
    let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        let report = KafkaDeliveryReport(topic: topic, partition: message.partition, offset: message.offset)
        slot.batch.complete(slot.index, with: .success(report))
    } else {
        let error = KafkaError(message.err, topic: topic, partition: message.partition)
        slot.batch.complete(slot.index, with: .failure(error))
    }
}
