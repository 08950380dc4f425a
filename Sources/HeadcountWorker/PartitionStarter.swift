import HeadcountStore
import Kafka
import Logging

/// Starts the partitions a rebalance assigned: reads their stored offsets from PostgreSQL,
/// seeks there and resumes them, beside the consumer's poll loop and outside librdkafka's
/// callback, so neither the group nor the other partitions wait for the database.
struct PartitionStarter {
    let ledger: PartitionLedger
    let consumer: KafkaConsumer
    let presence: PresenceKeeper
    let store: EventStore
    let pipeline: String
    let topic: String
    let initialRetryDelay: Duration
    let maximumRetryDelay: Duration
    let logger: Logger

    /// Serves load requests until the ledger finishes or the task is cancelled.
    func run() async {
        for await _ in ledger.loadRequests {
            await startAssigned()
        }
    }

    /// Reads and starts until no partition waits, retrying PostgreSQL with backoff; partitions
    /// assigned meanwhile join the next read.
    private func startAssigned() async {
        var delay = initialRetryDelay
        while !Task.isCancelled, let token = ledger.loadStarted() {
            let began = ContinuousClock.now
            let stored: [Int32: Int64]
            do {
                stored = try await store.storedOffsets(pipeline: pipeline, topic: topic)
            } catch {
                // Cancelled (the consumer stops): not a database problem to report.
                if Task.isCancelled { return }
                logger.error("cannot read stored offsets; retrying", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                guard (try? await Task.sleep(for: delay)) != nil else { return }
                delay = min(delay * 2, maximumRetryDelay)
                continue
            }
            delay = initialRetryDelay
            let loaded = ContinuousClock.now - began
            let start = ledger.offsetsLoaded(stored, asOf: token)
            guard !start.isEmpty else { continue }
            await self.start(start, loaded: loaded)
        }
    }

    private func start(_ start: [Int32: Int64?], loaded: Duration) async {
        let offsets = Dictionary(uniqueKeysWithValues: start.map { partition, next in
            // Nothing stored yet: the very beginning, never "latest".
            (KafkaTopicPartition(topic: topic, partition: partition), next.map(KafkaOffset.init) ?? .beginning)
        })
        do {
            let started = try await consumer.start(offsets).map(\.partition)
            let sinceAssigned = ledger.started(started)
            logger.info("partitions started", metadata: [
                "partitions": "\(started.sorted())",
                "offsets": "\(start.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.map(String.init) ?? "beginning")" })",
                "offsetsReadIn": "\(loaded.milliseconds) ms",
                "sinceAssigned": "\(sinceAssigned.map { "\($0.milliseconds) ms" } ?? "?")",
            ])
            await consumer.wakeFetchers(for: started.map { KafkaTopicPartition(topic: topic, partition: $0) })
            await preload(started)
        } catch {
            guard error.code != .destroyed else { return }
            logger.error("cannot start assigned partitions; reading their offsets again", metadata: ["error": "\(error)"])
            ledger.startFailed(Array(start.keys))
        }
    }
}

extension PartitionStarter {
    /// Reads the stored events of partitions just started into the counting engine while
    /// their first messages are fetched, so the first batch of a partition that moved here
    /// does not read them on the poll loop, where the consumer's other partitions would wait.
    ///
    /// Only a head start: the batch still checks that the engine holds the partition as of
    /// the offset it continues from (`PresenceKeeper.stale`) and reads it itself if not (a
    /// batch that came first, a previous owner that committed after this read).
    private func preload(_ partitions: [Int32]) async {
        guard !partitions.isEmpty, !Task.isCancelled else { return }
        let began = ContinuousClock.now
        do {
            let contents = try await store.partitionContents(pipeline: pipeline, topic: topic, partitions: partitions)
            let loaded = presence.preload(contents, partitions: partitions)
            logger.info("presence preloaded", metadata: [
                "partitions": "\(loaded.sorted())", "events": "\(contents.events.count)", "in": "\((ContinuousClock.now - began).milliseconds) ms",
            ])
        } catch {
            // The first batch reads them then; nothing is lost but the head start.
            if !Task.isCancelled { logger.warning("cannot preload the started partitions' events", metadata: ["error": "\(error)"]) }
        }
    }
}

extension Duration {
    /// Whole milliseconds, for logs and reports.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
