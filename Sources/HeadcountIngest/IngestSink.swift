import HeadcountAdapters
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import Kafka
import Logging

/// Where accepted events go: `produce` returns only once every event is durably stored.
public protocol IngestSink: Sendable {
    /// Stores all the events of one request, or throws; a throw answers the request with 503.
    func produce(_ events: [Event], for pipeline: Pipeline) async throws
}

/// The production sink: the pipeline's topic, keyed by participant, through the shared
/// idempotent producer (acks=all).
///
/// The producer's `messageTimeout` is the deadline: librdkafka fails a message it could not
/// deliver by then, so a request waits no longer than that before it is refused with 503.
public struct KafkaIngestSink: IngestSink {
    let producer: KafkaProducer
    let logger: Logger

    public init(producer: KafkaProducer, logger: Logger) {
        self.producer = producer
        self.logger = logger
    }

    public func produce(_ events: [Event], for pipeline: Pipeline) async throws {
        // The whole request in one sendAll: librdkafka batches it, and the request's answer
        // waits for the last acknowledgement. The adapters validated every event already.
        let topic = pipeline.kafka.topic
        _ = try await producer.sendAll(events.map { CanonicalPublisher.message(for: $0, topic: topic) })
    }
}
