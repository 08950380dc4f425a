import Foundation
import HeadcountCore
import HeadcountStore
import Kafka
import Logging

/// One consumer of the group: poll a batch, store it with its offsets in one transaction,
/// repeat, until told to stop; beside it, `PartitionStarter` starts what rebalances assign.
struct ConsumerLoop {
    let configuration: WorkerConfiguration
    let consumer: KafkaConsumer
    let ledger: PartitionLedger
    let presence: PresenceKeeper
    let store: EventStore
    let statistics: WorkerStatistics
    let metrics: WorkerMetrics
    let activity: WorkerActivity
    let logger: Logger
    /// The processing clock, injectable so tests can place "now".
    let now: @Sendable () -> Instant

    /// Runs until `shouldStop` says so or the task is cancelled (both checked between
    /// batches). The batch in flight is always stored or abandoned whole; after cancellation
    /// nothing more is stored.
    func run(shouldStop: @escaping @Sendable () -> Bool) async throws {
        let starter = PartitionStarter(
            ledger: ledger, consumer: consumer, presence: presence, store: store, pipeline: configuration.pipeline.id,
            topic: configuration.pipeline.kafka.topic, initialRetryDelay: configuration.initialRetryDelay,
            maximumRetryDelay: configuration.maximumRetryDelay, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await starter.run() }
            defer { ledger.finish() }
            do {
                try await pollAndStore(shouldStop: shouldStop)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    private func pollAndStore(shouldStop: @Sendable () -> Bool) async throws {
        let assembler = BatchAssembler(pipeline: configuration.pipeline)
        var lagReportedAt = ContinuousClock.now
        // Often enough that `stopWhenIdleFor` never elapses between two looks at the lag.
        let lagInterval = min(.seconds(5), (configuration.stopWhenIdleFor ?? .seconds(15)) / 3)
        while !shouldStop(), !Task.isCancelled {
            if ContinuousClock.now - lagReportedAt >= lagInterval {
                lagReportedAt = ContinuousClock.now
                // Quiet is not idle while Kafka holds messages for this consumer (a slow commit,
                // partitions still loading their offsets, a fetch stalled by a rebalance): the
                // process may only stop when idle once every partition it owns is caught up.
                if await reportLag() { activity.touch() }
            }
            let records = try await consumer.poll(maxMessages: configuration.maximumBatchSize, timeout: configuration.pollTimeout)
            for error in records.errors { report(error) }
            let messages = records.messages
            guard !messages.isEmpty else { continue }
            activity.touch()
            let batch = assembler.assemble(messages, expected: ledger.expectedNextOffset, now: now())
            guard !batch.progress.isEmpty else { continue }
            ledger.batchStarted(batch.progress.map(\.partition))
            var stored: [PartitionProgress]?
            defer { ledger.batchFinished(stored: stored) }
            stored = try await activity.storing { try await store(batch) }
        }
    }

    /// Stores the batch, retrying retriable failures with capped exponential backoff.
    ///
    /// A retry is safe even when the failed attempt's outcome is unknown (the connection
    /// broke after COMMIT was sent, or the transaction watchdog gave up on it): either it
    /// rolled back, and the retry stores the batch; or it committed, and the retry's fence
    /// finds the partitions' stored offsets moved past what the batch expected, refuses the
    /// whole batch as `.fenced` (storing nothing), and the loop continues from the stored
    /// offsets. The engine is reset on every failure and reloaded from the stored events,
    /// read in one snapshot with the offsets they reach (`PresenceKeeper.store`), so it holds
    /// the batch exactly when the store does. The fence's locks make a retry wait for an
    /// attempt the server is still committing (only possible after the watchdog closed a live
    /// connection during COMMIT).
    ///
    /// - Returns: the progress stored, or nil when the batch was fenced or abandoned because
    ///   its partitions were revoked and PostgreSQL still failed after `revokedBatchDeadline`.
    private func store(_ batch: EventBatch) async throws -> [PartitionProgress]? {
        var delay = configuration.initialRetryDelay
        var failedAttempts = 0
        let began = ContinuousClock.now
        while true {
            let failure: StoreError
            do {
                let started = ContinuousClock.now
                let outcome = try await presence.store(batch, in: store, owned: ledger.ownedPartitions, logger: logger)
                statistics.record(outcome)
                metrics.recordCommit(batch, outcome: outcome, duration: ContinuousClock.now - started)
                metrics.recordState(presence.memory)
                reportGaps(batch)
                if failedAttempts > 0 {
                    logger.warning("stored the batch after failed attempts; PostgreSQL is reachable again", metadata: [
                        "failedAttempts": "\(failedAttempts)",
                    ])
                }
                return batch.progress
            } catch {
                // The engine may hold this batch's events although they were not stored.
                presence.reset()
                failure = error
            }
            if failure.code == .fenced {
                // Another consumer owns the partition now, or owned it meanwhile, or (after a
                // failed attempt) that attempt committed after all: what this one read is
                // stored or stale. Drop it and continue from the stored offsets.
                let cause = failedAttempts > 0 ? "an earlier attempt may have committed it" : "another worker moved the partition on"
                logger.warning("batch fenced: \(cause)", metadata: ["error": "\(failure)"])
                try await resync(batch)
                return nil
            }
            guard failure.isRetriable else { throw failure }
            let partitions = batch.progress.map(\.partition)
            if ledger.anyRevoked(partitions), ContinuousClock.now - began >= configuration.revokedBatchDeadline {
                // Its new owner re-reads it from the stored offsets; this member stops holding it.
                logger.warning("batch abandoned: its partitions were revoked and PostgreSQL still fails", metadata: [
                    "partitions": "\(partitions)", "error": "\(failure)",
                ])
                return nil
            }
            failedAttempts += 1
            metrics.recordRetry()
            logger.error("storing a batch failed; retrying", metadata: [
                "error": "\(failure)", "attempt": "\(failedAttempts)", "retryIn": "\(delay)",
            ])
            try await Task.sleep(for: delay)
            delay = min(delay * 2, configuration.maximumRetryDelay)
        }
    }

    /// Re-reads the stored offsets of the batch's partitions and seeks there.
    private func resync(_ batch: EventBatch) async throws {
        let stored = try await store.storedOffsets(pipeline: batch.pipeline, topic: batch.topic)
        for progress in batch.progress {
            let next = stored[progress.partition]
            guard ledger.resynced(progress.partition, to: next) else { continue }
            try await consumer.seek(
                KafkaTopicPartition(topic: batch.topic, partition: progress.partition),
                to: next.map(KafkaOffset.init) ?? .beginning)
        }
    }

    /// Consumer lag per owned partition: the high watermark minus the stored next offset.
    ///
    /// The high watermark is the one the last fetch brought: asking each partition's leader
    /// took a round trip per partition on the poll thread, up to 1.7 s every 5 s in which no
    /// partition of this consumer was polled (the steady-state gap `bench rebalance` measured).
    ///
    /// - Returns: true when some owned partition is not caught up (messages waiting, not
    ///   running yet, or no fetch has told its high watermark yet).
    private func reportLag() async -> Bool {
        let running = ledger.runningPartitions
        var behind = ledger.ownedPartitions != running
        for partition in running {
            let topicPartition = KafkaTopicPartition(topic: configuration.pipeline.kafka.topic, partition: partition)
            guard let high = try? await consumer.cachedHighWatermark(for: topicPartition) else {
                behind = true
                continue
            }
            // Nothing stored yet: everything Kafka holds is lag (offsets start at 0 unless
            // retention removed some, which the lag then overstates).
            let next = (ledger.expectedNextOffset(partition) ?? nil) ?? 0
            let lag = max(0, high - next)
            metrics.recordLag(partition: partition, lag: lag)
            if lag > 0 { behind = true }
        }
        return behind
    }

    private func reportGaps(_ batch: EventBatch) {
        for gap in batch.gaps {
            metrics.recordGap(partition: gap.partition, missing: gap.count)
            logger.error("retention gap: Kafka deleted messages before they were processed; recorded, continuing from the log start", metadata: [
                "partition": "\(gap.partition)", "firstMissingOffset": "\(gap.firstMissingOffset)",
                "lastMissingOffset": "\(gap.lastMissingOffset)", "missing": "\(gap.count)",
            ])
        }
    }

    private func report(_ error: KafkaError) {
        if error.isOffsetOutOfRange {
            // Retention deleted messages nobody processed: the events are lost to Kafka.
            logger.error("offset out of range: messages were deleted before they were processed", metadata: ["error": "\(error)"])
        } else {
            logger.warning("consumer error", metadata: ["error": "\(error)"])
        }
    }
}
