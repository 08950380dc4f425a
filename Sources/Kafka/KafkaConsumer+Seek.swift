internal import CRdKafka

extension KafkaConsumer {
    /// Moves an assigned partition's fetch position; the next message polled from it is `offset`.
    ///
    /// Also the way out of an out-of-range error under `autoOffsetReset = .error`: librdkafka
    /// stops fetching such a partition and refuses to seek it, so the partition is then restarted
    /// by re-assigning the current assignment, every other partition at its current position.
    public func seek(_ partition: KafkaTopicPartition, to offset: KafkaOffset, timeout: Duration = .seconds(10)) async throws(KafkaError) {
        let positions = handle.positions
        try await onConsumerThread { rk, _ throws(KafkaError) in
            let seekError = Self.seekBlocking(rk, partition, offset, timeout)
            if let seekError, seekError.code == .state {
                try Self.reassign(rk, positions, restarting: partition, at: offset)
            } else if let seekError {
                throw seekError
            }
            positions.seeked(partition, to: offset)
        }
    }

    /// `rd_kafka_seek_partitions` for one partition, returning its error if any.
    private static func seekBlocking(
        _ rk: OpaquePointer, _ partition: KafkaTopicPartition, _ offset: KafkaOffset, _ timeout: Duration
    ) -> KafkaError? {
        do {
            try withPartitionList([partition], offsets: [partition: offset.rawValue]) { list throws(KafkaError) in
                if let error = rd_kafka_seek_partitions(rk, list, timeout.timeoutMilliseconds) {
                    throw KafkaError(consuming: error, topic: partition.topic)
                }
                if let error = list.firstError { throw error }
            }
            return nil
        } catch {
            return error
        }
    }

    /// Re-assigns the whole (eager) assignment, `partition` at `offset` and the others where the
    /// application expects them next (or at their committed offset when that is not known yet).
    private static func reassign(
        _ rk: OpaquePointer, _ positions: ConsumerPositionTracker, restarting partition: KafkaTopicPartition, at offset: KafkaOffset
    ) throws(KafkaError) {
        let assignment = positions.assignment
        guard assignment[partition] != nil else {
            throw KafkaError(
                code: .state, message: "cannot seek a partition that is not assigned to this consumer",
                topic: partition.topic, partition: partition.partition
            )
        }
        var offsets = assignment.mapValues { $0 ?? KafkaOffset.committed.rawValue }
        offsets[partition] = offset.rawValue
        try withPartitionList(Array(offsets.keys), offsets: offsets) { list throws(KafkaError) in
            try check(rd_kafka_assign(rk, list), topic: partition.topic, partition: partition.partition)
        }
        positions.assigned(Array(offsets.keys), startingAt: offsets.mapValues(KafkaOffset.init))
    }
}
