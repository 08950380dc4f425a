import HeadcountStore
import Metrics

/// The worker's swift-metrics instruments; exported by whatever backend the process
/// bootstrapped (Prometheus at `/metrics` for `headcount work`).
struct WorkerMetrics: Sendable {
    let pipeline: String
    /// The consumer's index in its process, for what each consumer holds on its own.
    var consumer = 0

    private var dimensions: [(String, String)] { [("pipeline", pipeline)] }

    /// After a batch was committed.
    func recordCommit(_ batch: EventBatch, outcome: BatchOutcome, duration: Duration) {
        Counter(label: "headcount_events_stored_total", dimensions: dimensions).increment(by: outcome.inserted)
        Counter(label: "headcount_events_duplicate_total", dimensions: dimensions).increment(by: outcome.duplicates)
        Counter(label: "headcount_messages_processed_total", dimensions: dimensions)
            .increment(by: batch.events.count + batch.deadLetters.count)
        if outcome.conflictingDuplicates > 0 {
            Counter(label: "headcount_dead_letters_total", dimensions: dimensions + [("reason", "conflicting_duplicate")])
                .increment(by: outcome.conflictingDuplicates)
        }
        for letter in batch.deadLetters {
            Counter(label: "headcount_dead_letters_total", dimensions: dimensions + [("reason", letter.rejection.reason.rawValue)])
                .increment()
        }
        Recorder(label: "headcount_batch_size", dimensions: dimensions)
            .record(batch.events.count + batch.deadLetters.count)
        Metrics.Timer(label: "headcount_batch_commit_seconds", dimensions: dimensions).recordInterval(duration)
    }

    /// Messages between the stored offset and the partition's high watermark.
    func recordLag(partition: Int32, lag: Int64) {
        Gauge(label: "headcount_consumer_lag", dimensions: dimensions + [("partition", String(partition))]).record(lag)
    }

    /// Offsets lost to retention before anyone processed them.
    func recordGap(partition: Int32, missing: Int64) {
        Counter(label: "headcount_retention_gap_messages_total", dimensions: dimensions + [("partition", String(partition))])
            .increment(by: Int(missing))
    }

    /// The counting state a consumer holds for its partitions' participants: the capacity
    /// model's "worker state per participant" is `bytes / participants` (docs/scaling.md).
    func recordState(_ state: PresenceKeeper.Memory) {
        let consumer = dimensions + [("consumer", String(self.consumer))]
        Gauge(label: "headcount_worker_participants", dimensions: consumer).record(state.participants)
        Gauge(label: "headcount_worker_state_bytes", dimensions: consumer + [("part", "engine")]).record(state.engineBytes)
        Gauge(label: "headcount_worker_state_bytes", dimensions: consumer + [("part", "recent_event_ids")]).record(state.recentEventIDBytes)
    }

    /// A commit that failed and will be retried.
    func recordRetry() {
        Counter(label: "headcount_commit_retries_total", dimensions: dimensions).increment()
    }
}

extension Metrics.Timer {
    func recordInterval(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
