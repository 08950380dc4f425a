internal import CRdKafka
import Dispatch

/// Where the producers' metadata requests block, apart from their polling and flushing threads.
private let metadataQueue = DispatchQueue(label: "headcount.kafka.producer.metadata")

extension KafkaProducer {
    /// Asks the brokers for cluster metadata over this producer's own connections: whether
    /// a send could be acknowledged now. The ingest service's readiness probe.
    ///
    /// - Throws: `KafkaError` (typically `.timedOut` or `.transport`) when no broker answered
    ///   within `timeout`.
    public func checkBrokersReachable(timeout: Duration) async throws(KafkaError) {
        let client = client
        try await metadataQueue.runBlocking { () throws(KafkaError) in
            try client.checkFatal()
            var metadata: UnsafePointer<rd_kafka_metadata>?
            // all_topics=0 without a topic handle: only brokers and locally known topics.
            try check(rd_kafka_metadata(client.pointer, 0, nil, &metadata, timeout.timeoutMilliseconds))
            // Metadata replies are ours to free.
            if let metadata { rd_kafka_metadata_destroy(metadata) }
        }
    }
}
