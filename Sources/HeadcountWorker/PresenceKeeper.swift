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
        /// Partitions whose stored events are in `engine`, each with the stored next offset
        /// those events reach (nil: nothing was stored yet): the offset a batch must continue
        /// from for the engine's state of its participants to be the stored one.
        var loaded: [Int32: Int64?] = [:]
        /// Ids of events stored on those partitions, the latest of them at least.
        var recent: RecentEventIDs
    }

    private let rules: CountingRules
    private let recentEventIDs: Int
    private let state: Mutex<State>

    /// - Parameter recentEventIDs: how many stored ids at least to remember for telling new
    ///   events from repeats (see `RecentEventIDs`).
    init(rules: CountingRules, recentEventIDs: Int) {
        self.rules = rules
        self.recentEventIDs = recentEventIDs
        self.state = Mutex(Self.emptyState(rules: rules, recentEventIDs: recentEventIDs))
    }

    private static func emptyState(rules: CountingRules, recentEventIDs: Int) -> State {
        // The store's unique key on the event id deduplicates; the engine gets each id once.
        State(
            engine: IncrementalCount(rules: rules, deduplication: .upstream),
            recent: RecentEventIDs(generationSize: recentEventIDs))
    }

    /// The batch's partitions whose stored events the engine does not hold as of the offset
    /// the batch continues from: never loaded, or loaded when the store stood elsewhere.
    func stale(_ progress: [PartitionProgress]) -> [Int32] {
        state.withLock { state in
            progress.filter { state.loaded[$0.partition] != .some($0.expectedNextOffset) }.map(\.partition)
        }
    }

    /// Feeds partitions' stored events into the engine, without producing contributions:
    /// whoever stored them wrote those already. The engine only ever holds stored events, so
    /// adding every stored event of a partition again leaves it holding exactly those.
    func load(_ contents: PartitionContents, partitions: [Int32]) {
        state.withLock { state in
            _ = state.engine.ingest(contents.events.map(\.event))
            for positioned in contents.events { state.recent.insert(positioned.event.id) }
            for partition in partitions { state.loaded[partition] = .some(contents.nextOffsets[partition]) }
        }
    }

    /// `load`, for the partitions of `partitions` the engine holds nothing of yet: a
    /// partition a batch has loaded meanwhile (perhaps at a later offset) is left as it is.
    /// - Returns: the partitions loaded.
    func preload(_ contents: PartitionContents, partitions: [Int32]) -> [Int32] {
        state.withLock { state in
            let fresh = Set(partitions.filter { state.loaded[$0] == nil })
            guard !fresh.isEmpty else { return [] }
            let events = contents.events.filter { fresh.contains($0.partition) }
            _ = state.engine.ingest(events.map(\.event))
            for positioned in events { state.recent.insert(positioned.event.id) }
            for partition in fresh { state.loaded[partition] = .some(contents.nextOffsets[partition]) }
            return Array(fresh)
        }
    }

    /// A batch was committed: its partitions' stored events, and the engine, now reach its offsets.
    func committed(_ progress: [PartitionProgress]) {
        state.withLock { state in
            for item in progress where state.loaded[item.partition] != nil { state.loaded[item.partition] = .some(item.nextOffset) }
        }
    }

    /// Forgets partitions this consumer no longer owns: if it gets them back, they are
    /// reloaded, since another consumer may have stored events for them meanwhile.
    func keepOnly(_ owned: Set<Int32>) {
        state.withLock { $0.loaded = $0.loaded.filter { owned.contains($0.key) } }
    }

    /// Drops everything: after a commit failed, the engine may be ahead of the store.
    func reset() {
        state.withLock { $0 = Self.emptyState(rules: rules, recentEventIDs: recentEventIDs) }
    }

    /// What the keeper holds: the engine's accounting of its arrays, and the remembered ids.
    struct Memory: Sendable, Hashable {
        var participants: Int
        var engineBytes: Int
        var recentEventIDBytes: Int
    }

    var memory: Memory {
        state.withLock { state in
            Memory(
                participants: state.engine.participantCount, engineBytes: state.engine.approximateBytes,
                recentEventIDBytes: state.recent.approximateBytes)
        }
    }

    /// Puts the batch's fresh events first and counts them (`EventBatch.freshEventCount`):
    /// the first of each id in Kafka order, when no stored event of these partitions had it.
    func classify(_ batch: inout EventBatch) {
        let ordered = batch.events.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        var fresh: [PositionedEvent] = []
        var repeats: [PositionedEvent] = []
        fresh.reserveCapacity(ordered.count)
        var seen = Set<String>(minimumCapacity: ordered.count)
        state.withLock { state in
            for positioned in ordered {
                let id = positioned.event.id
                if seen.insert(id).inserted, !state.recent.mayContain(id) {
                    fresh.append(positioned)
                } else {
                    repeats.append(positioned)
                }
            }
        }
        batch.freshEventCount = fresh.count
        batch.events = fresh + repeats
    }

    /// Ingests a batch's newly stored events and returns what their presence changes mean.
    func derive(_ events: [PositionedEvent]) -> DerivedPresence {
        var partitionOf: [String: Int32] = [:]
        for positioned in events { partitionOf[positioned.event.participant] = positioned.partition }
        let outcome = state.withLock { state in
            for positioned in events { state.recent.insert(positioned.event.id) }
            return state.engine.ingest(events.map(\.event))
        }
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
