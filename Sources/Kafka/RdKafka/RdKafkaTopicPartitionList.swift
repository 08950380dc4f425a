internal import CRdKafka

/// A C `rd_kafka_topic_partition_list_t` seen as Swift values.
typealias RdKafkaPartitionList = UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

/// One entry of a partition list as Swift values.
struct RdKafkaPartitionEntry {
    var topicPartition: KafkaTopicPartition
    var offset: Int64
    var error: rd_kafka_resp_err_t
}

/// Builds a C partition list, lends it to `body`, and destroys it afterwards.
///
/// The list must not escape `body`: it is freed when `body` returns.
func withPartitionList<Result>(
    _ partitions: [KafkaTopicPartition],
    offsets: [KafkaTopicPartition: Int64] = [:],
    _ body: (RdKafkaPartitionList) throws(KafkaError) -> Result
) throws(KafkaError) -> Result {
    let list: RdKafkaPartitionList = rd_kafka_topic_partition_list_new(Int32(clamping: partitions.count))
    // Lists we create are ours to destroy, whatever body did with them.
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for partition in partitions {
        let element = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!
        element.pointee.offset = offsets[partition] ?? KafkaOffset.committed.rawValue
    }
    return try body(list)
}

extension UnsafeMutablePointer where Pointee == rd_kafka_topic_partition_list_t {
    /// The list's entries copied into Swift values; the list keeps its ownership.
    var entries: [RdKafkaPartitionEntry] {
        let count = Int(pointee.cnt)
        guard count > 0, let elements = pointee.elems else { return [] }
        return (0..<count).map { index in
            let element = elements[index]
            return RdKafkaPartitionEntry(
                topicPartition: KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                offset: element.offset,
                error: element.err
            )
        }
    }

    /// The first per-partition error librdkafka left in the list, as a `KafkaError`.
    var firstError: KafkaError? {
        entries.first { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }.map {
            KafkaError($0.error, topic: $0.topicPartition.topic, partition: $0.topicPartition.partition)
        }
    }
}

/// Throws the error librdkafka returned, if it is one.
func check(_ err: rd_kafka_resp_err_t, topic: String? = nil, partition: Int32? = nil) throws(KafkaError) {
    guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
        throw KafkaError(err, topic: topic, partition: partition)
    }
}
