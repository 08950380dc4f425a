import HeadcountAdapters
import HeadcountCore
import HeadcountPipeline
import Kafka
import Logging

/// The canonical adapter: validates canonical events and produces them to the pipeline's
/// topic, keyed by participant so each person's whole history lands in one partition.
///
/// Events are sent in chunks and a chunk is done only when the broker acknowledged every
/// message in it (idempotent producer, acks=all).
public struct CanonicalPublisher: Sendable {
    public let pipeline: Pipeline
    let producer: KafkaProducer
    let logger: Logger
    /// Messages handed to librdkafka before waiting for their acknowledgements; default 10,000.
    public var chunkSize = 10_000

    public init(pipeline: Pipeline, producer: KafkaProducer, logger: Logger) {
        self.pipeline = pipeline
        self.producer = producer
        self.logger = logger
    }

    /// What a publish run did.
    public struct Summary: Sendable, Hashable {
        /// Events acknowledged by the broker.
        public var published = 0
        /// Distinct event ids among them.
        public var distinctIDs = 0
        /// Lines skipped as invalid (only with `skipInvalid`).
        public var skipped: [InputError] = []
    }

    /// Validates an event against the pipeline: a rejection when it can never be counted
    /// (the same check as the ingest routes and `HeadcountClient`, `Pipeline.validate`).
    public func validate(_ event: Event) throws(EventRejection) {
        try pipeline.validate(event)
    }

    /// Publishes NDJSON lines. A bad line stops the run with an error naming it, after
    /// everything before it was acknowledged and nothing after it was sent; with
    /// `skipInvalid` it is reported in the summary instead.
    public func publish(lines reader: inout LineReader, skipInvalid: Bool) async throws -> Summary {
        var summary = Summary()
        var ids = Set<String>()
        var chunk: [KafkaProducerMessage] = []
        chunk.reserveCapacity(chunkSize)
        while let line = try reader.nextLine() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let event: Event
            do {
                event = try CanonicalEvent.decode(line)
                try validate(event)
            } catch {
                let failure = InputError(source: reader.source, line: reader.lineNumber, message: error.description)
                guard skipInvalid else {
                    try await send(&chunk, into: &summary)
                    throw failure
                }
                logger.warning("skipping invalid line", metadata: ["line": "\(reader.lineNumber)", "error": "\(error)"])
                summary.skipped.append(failure)
                continue
            }
            ids.insert(event.id)
            chunk.append(message(for: event))
            if chunk.count >= chunkSize { try await send(&chunk, into: &summary) }
        }
        try await send(&chunk, into: &summary)
        summary.distinctIDs = ids.count
        return summary
    }

    /// Publishes events already in memory (the simulator, adapters of other platforms).
    public func publish(_ events: [Event]) async throws -> Int {
        var published = 0
        for start in stride(from: 0, to: events.count, by: chunkSize) {
            let slice = events[start..<min(start + chunkSize, events.count)]
            for event in slice { try validate(event) }
            published += try await producer.sendAll(slice.map(message(for:))).count
        }
        return published
    }

    func message(for event: Event) -> KafkaProducerMessage {
        Self.message(for: event, topic: pipeline.kafka.topic)
    }

    /// The Kafka message of an event: keyed by participant, the canonical JSON as value, the
    /// source as a header. For callers that validated the event already (the ingest routes).
    public static func message(for event: Event, topic: String) -> KafkaProducerMessage {
        KafkaProducerMessage(
            topic: topic, key: Array(event.participant.utf8), value: Array(CanonicalEvent.encode(event).utf8),
            headers: [KafkaHeader(name: "source", value: Array(event.source.utf8))])
    }

    private func send(_ chunk: inout [KafkaProducerMessage], into summary: inout Summary) async throws {
        guard !chunk.isEmpty else { return }
        summary.published += try await producer.sendAll(chunk).count
        chunk.removeAll(keepingCapacity: true)
    }
}
