internal import CRdKafka

/// A topic's partitions and their retained ranges, as the brokers answered one request.
public struct KafkaTopicWatermarks: Sendable, Hashable {
    public var topic: String
    /// Every partition whose leader answered, with its low and high watermarks.
    public var partitions: [Int32: KafkaWatermarks]
    /// Every partition the metadata lists that could not be asked (no leader, no answer
    /// within the time left), with why.
    public var unanswered: [Int32: KafkaError]

    public init(topic: String, partitions: [Int32: KafkaWatermarks], unanswered: [Int32: KafkaError]) {
        self.topic = topic
        self.partitions = partitions
        self.unanswered = unanswered
    }
}

extension KafkaAdmin {
    /// Every partition of `topic` with its watermarks, read from the brokers without joining a
    /// consumer group: what a reader outside the group (the reporter) needs to tell whether the
    /// group has stored everything Kafka holds.
    ///
    /// The whole call takes at most `timeout` (default 5 s); with no broker reachable it throws
    /// a retriable error once that has passed. The blocking librdkafka calls run on the
    /// admin's own queue, off the cooperative pool.
    public func highWatermarks(of topic: String, timeout: Duration = .seconds(5)) async throws(KafkaError) -> KafkaTopicWatermarks {
        let client = client
        return try await blockingQueue.runBlocking { () throws(KafkaError) in
            try client.checkFatal()
            let deadline = ContinuousClock.now + timeout
            let partitions = try Self.partitionIDs(client.pointer, topic, timeout)
            var answer = KafkaTopicWatermarks(topic: topic, partitions: [:], unanswered: [:])
            for partition in partitions {
                let left = deadline - .now
                guard left > .zero else {
                    answer.unanswered[partition] = KafkaError(
                        code: .timedOut, message: "no time left within \(timeout)", topic: topic, partition: partition)
                    continue
                }
                var low: Int64 = 0
                var high: Int64 = 0
                let result = rd_kafka_query_watermark_offsets(client.pointer, topic, partition, &low, &high, left.timeoutMilliseconds)
                if result == RD_KAFKA_RESP_ERR_NO_ERROR {
                    answer.partitions[partition] = KafkaWatermarks(low: low, high: high)
                } else {
                    answer.unanswered[partition] = KafkaError(result, topic: topic, partition: partition)
                }
            }
            return answer
        }
    }

    /// The partition ids the cluster's metadata lists for `topic`.
    static func partitionIDs(_ rk: OpaquePointer, _ topic: String, _ timeout: Duration) throws(KafkaError) -> [Int32] {
        // A topic handle pins the request to one topic; it must go before the client does.
        let handle = rd_kafka_topic_new(rk, topic, nil)
        defer { rd_kafka_topic_destroy(handle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        try check(rd_kafka_metadata(rk, 0, handle, &metadata, timeout.timeoutMilliseconds), topic: topic)
        guard let metadata else { throw KafkaError(code: .state, message: "no metadata returned", topic: topic) }
        // Metadata replies are ours to free.
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0, let entry = metadata.pointee.topics?.pointee else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "topic not found", topic: topic)
        }
        try check(entry.err, topic: topic)
        return (0..<Int(entry.partition_cnt)).compactMap { entry.partitions?[$0].id }.sorted()
    }
}
