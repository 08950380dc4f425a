internal import CRdKafka
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension KafkaConsumer {
    /// Starts partitions the listener assigned without an offset: each is sought to its offset
    /// and resumed, and `poll` returns its messages from that offset on. Partitions revoked
    /// meanwhile are skipped.
    ///
    /// The seek runs on the poll thread between two consume calls, so that nothing fetched
    /// before it (a paused partition may have been fetched a little before the pause took) can
    /// reach the application after it: librdkafka drops such messages by their seek version at
    /// the next consume, but not those a consume in progress has already collected. A consume
    /// in progress is woken (`rd_kafka_queue_yield`), so the start does not wait for its timeout.
    ///
    /// - Returns: the partitions that were started.
    @discardableResult
    public func start(_ offsets: [KafkaTopicPartition: KafkaOffset], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicPartition] {
        let handle = handle
        handle.startWaiting()
        defer { handle.startDone() }
        try await controlQueue.runBlocking { () throws(KafkaError) in
            try handle.withControlClient { _ throws(KafkaError) in handle.wakeConsume() }
        }
        return try await onConsumerThread { rk, _ throws(KafkaError) in
            let assigned = handle.positions.assignment
            let starting = offsets.filter { assigned[$0.key] != nil }
            guard !starting.isEmpty else { return [] }
            try Self.seekStartingFetchers(rk, starting, timeout: timeout)
            for (partition, offset) in starting { handle.positions.seeked(partition, to: offset) }
            try withPartitionList(Array(starting.keys)) { list throws(KafkaError) in
                try check(rd_kafka_resume_partitions(rk, list))
                if let error = list.firstError { throw error }
            }
            return starting.keys.sorted()
        }
    }

    /// Seeks the partitions, waiting (briefly) for fetchers librdkafka is still starting:
    /// an assignment's fetch start is asynchronous, and a seek before it is refused as `.state`.
    private static func seekStartingFetchers(
        _ rk: OpaquePointer, _ offsets: [KafkaTopicPartition: KafkaOffset], timeout: Duration
    ) throws(KafkaError) {
        var pending = offsets
        let deadline = DispatchTime.now() + .milliseconds(Int(timeout.timeoutMilliseconds))
        while true {
            let refused = try withPartitionList(Array(pending.keys), offsets: pending.mapValues(\.rawValue)) { list throws(KafkaError) -> [KafkaTopicPartition] in
                // librdkafka 2.0.2 waits a thousandth of the timeout it is given (#4230, fixed in 2.0.3).
                if let error = rd_kafka_seek_partitions(rk, list, Int32(clamping: Int64(timeout.timeoutMilliseconds) * 1000)) {
                    throw KafkaError(consuming: error, topic: pending.keys.first?.topic)
                }
                var refused: [KafkaTopicPartition] = []
                for entry in list.entries where entry.error != RD_KAFKA_RESP_ERR_NO_ERROR {
                    let error = KafkaError(entry.error, topic: entry.topicPartition.topic, partition: entry.topicPartition.partition)
                    guard error.code == .state else { throw error }
                    refused.append(entry.topicPartition)
                }
                return refused
            }
            guard !refused.isEmpty else { return }
            guard DispatchTime.now() < deadline else {
                throw KafkaError(code: .state, message: "the fetcher of \(refused.sorted()) did not start within \(timeout)")
            }
            pending = pending.filter { refused.contains($0.key) }
            // This is the consumer's own thread, never the cooperative pool.
            usleep(5_000)
        }
    }

    /// Wakes the fetchers of the partitions' leaders after `start`, so the first fetch of a
    /// partition just started goes out now.
    ///
    /// librdkafka 2.0.2 does not wake a broker's thread when a partition of it is resumed: a
    /// thread with nothing else to fetch (a member that just joined, or whose other partitions
    /// are idle) sleeps up to a second (`rd_kafka_max_block_ms`) before it sees the partition,
    /// a second added to every move. Asking each leader for the partition's latest offset
    /// (`rd_kafka_offsets_for_times`, one request per leader) is I/O on that thread, which wakes
    /// it. Runs beside the poll loop; errors only mean the fetch waits for the thread's timer.
    public func wakeFetchers(for partitions: [KafkaTopicPartition], timeout: Duration = .seconds(1)) async {
        guard !partitions.isEmpty else { return }
        let handle = handle
        await controlQueue.runBlockingNonThrowing {
            try? handle.withControlClient { rk throws(KafkaError) in
                // -1: the latest offset (ListOffsets' timestamp for "end").
                try withPartitionList(partitions, offsets: Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(-1)) })) { list throws(KafkaError) in
                    _ = rd_kafka_offsets_for_times(rk, list, Int32(clamping: timeout.timeoutMilliseconds))
                }
            }
        }
    }

    /// Moves an assigned partition's fetch position; the next message polled from it is `offset`.
    ///
    /// Also the way out of an out-of-range error under `autoOffsetReset = .error`: librdkafka
    /// stops fetching such a partition and refuses to seek it, so the partition is then restarted
    /// by assigning it again at `offset` (alone under the cooperative protocol; with the rest of
    /// the assignment, each at its current position, under the eager one).
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
                // A thousandth of the timeout is what librdkafka 2.0.2 waits (#4230).
                if let error = rd_kafka_seek_partitions(rk, list, Int32(clamping: Int64(timeout.timeoutMilliseconds) * 1000)) {
                    throw KafkaError(consuming: error, topic: partition.topic)
                }
                if let error = list.firstError { throw error }
            }
            return nil
        } catch {
            return error
        }
    }

    /// Assigns `partition` again at `offset`, on the group's protocol's terms.
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
        if String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE" {
            try withPartitionList([partition], offsets: [partition: offset.rawValue]) { list throws(KafkaError) in
                try check(incrementalAssign(rk, list, assign: false), topic: partition.topic, partition: partition.partition)
                try check(incrementalAssign(rk, list, assign: true), topic: partition.topic, partition: partition.partition)
            }
            return
        }
        var offsets = assignment.mapValues { position -> Int64 in
            guard case .next(let next?) = position else { return KafkaOffset.committed.rawValue }
            return next
        }
        offsets[partition] = offset.rawValue
        try withPartitionList(Array(offsets.keys), offsets: offsets) { list throws(KafkaError) in
            try check(rd_kafka_assign(rk, list), topic: partition.topic, partition: partition.partition)
        }
        // Partitions still waiting for `start` keep waiting: only the restarted one moves.
        positions.seeked(partition, to: offset)
    }
}
