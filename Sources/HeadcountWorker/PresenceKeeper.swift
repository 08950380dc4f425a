import HeadcountCore
import HeadcountStore
import Synchronization

/// The counting engine's state for the participants of the partitions a consumer owns.
///
/// Events are keyed by participant, so one consumer sees a participant's whole history. It
/// keeps that participant's presence in the incremental engine and, for every batch, hands
/// the store what changed (presences and contributions) to write in the batch's transaction.
/// A partition's state is rebuilt from its stored events when the consumer gets it: the
/// events are the truth, the engine only a cache of what they imply.
final class PresenceKeeper: Sendable {
    private struct State {
        var engine: IncrementalCount
        /// Partitions whose stored events are in `engine`.
        var loaded: Set<Int32> = []
    }

    private let rules: CountingRules
    private let state: Mutex<State>

    init(rules: CountingRules) {
        self.rules = rules
        // The store's unique key on the event id deduplicates; the engine gets each id once.
        self.state = Mutex(State(engine: IncrementalCount(rules: rules, deduplication: .upstream)))
    }

    /// Partitions owned but not yet in the engine.
    func unloaded(of owned: Set<Int32>) -> Set<Int32> {
        state.withLock { owned.subtracting($0.loaded) }
    }

    /// Feeds the stored events of newly owned partitions into the engine, without producing
    /// contributions: whoever stored them wrote those already.
    func load(_ events: [PositionedEvent], partitions: Set<Int32>) {
        state.withLock { state in
            _ = state.engine.ingest(events.map(\.event))
            state.loaded.formUnion(partitions)
        }
    }

    /// Forgets partitions this consumer no longer owns: if it gets them back, they are
    /// reloaded, since another consumer may have stored events for them meanwhile.
    func keepOnly(_ owned: Set<Int32>) {
        state.withLock { $0.loaded.formIntersection(owned) }
    }

    /// Drops everything: after a commit failed, the engine may be ahead of the store.
    func reset() {
        state.withLock { $0 = State(engine: IncrementalCount(rules: rules, deduplication: .upstream)) }
    }

    /// Ingests a batch's newly stored events and returns what their presence changes mean.
    func derive(_ events: [PositionedEvent]) -> DerivedPresence {
        var partitionOf: [String: Int32] = [:]
        for positioned in events { partitionOf[positioned.event.participant] = positioned.partition }
        let outcome = state.withLock { $0.engine.ingest(events.map(\.event)) }
        var derived = DerivedPresence()
        for change in outcome.changes {
            let contribution = PresenceContribution(presence: change.new, rules: rules)
            derived.add(
                PresenceUpdate(
                    participant: change.participant, partition: partitionOf[change.participant] ?? -1,
                    presence: change.new, uniqueBucket: contribution.uniqueBucket,
                    qualifiedBucket: contribution.qualifiedBucket),
                delta: change.delta)
        }
        return derived
    }
}
