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
        /// Whose tail (`ContributionTail`) is stored on the presence row rather than in the
        /// change rows, and where it is due.
        var tails = OpenTails()
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
        state.withLock { state in Self.load(contents, partitions: Set(partitions), into: &state) }
    }

    private static func load(_ contents: PartitionContents, partitions: Set<Int32>, into state: inout State) {
        let events = contents.events.filter { partitions.contains($0.partition) }
        _ = state.engine.ingest(events.map(\.event))
        for positioned in events {
            state.recent.insert(positioned.event.id)
            state.tails.saw(positioned.event.at.milliseconds, partition: positioned.partition)
        }
        for tail in contents.openTails where partitions.contains(tail.partition) {
            state.tails.keep(ExactKey(tail.participant), partition: tail.partition, earliest: tail.tail.earliest)
        }
        for partition in partitions { state.loaded[partition] = .some(contents.nextOffsets[partition]) }
    }

    /// `load`, for the partitions of `partitions` the engine holds nothing of yet: a
    /// partition a batch has loaded meanwhile (perhaps at a later offset) is left as it is.
    /// - Returns: the partitions loaded.
    func preload(_ contents: PartitionContents, partitions: [Int32]) -> [Int32] {
        state.withLock { state in
            let fresh = Set(partitions.filter { state.loaded[$0] == nil })
            guard !fresh.isEmpty else { return [] }
            Self.load(contents, partitions: fresh, into: &state)
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
        state.withLock { state in
            state.loaded = state.loaded.filter { owned.contains($0.key) }
            state.tails.keepOnly(owned)
        }
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
    ///
    /// A changed participant's tail stays on its presence row while event time on its
    /// partition has not reached it (the piece may still grow); otherwise, and for every kept
    /// tail that event time has now passed, it goes into the change rows. Either way the rows
    /// written are the difference between what the rows held and what they hold now.
    func derive(_ events: [PositionedEvent]) -> DerivedPresence {
        // Participant keys compare byte for byte, as the engine's do (not by Unicode equivalence).
        var partitionOf: [ExactKey: Int32] = [:]
        for positioned in events { partitionOf[ExactKey(positioned.event.participant)] = positioned.partition }
        let rules = self.rules
        return state.withLock { state in
            for positioned in events {
                state.recent.insert(positioned.event.id)
                state.tails.saw(positioned.event.at.milliseconds, partition: positioned.partition)
            }
            let outcome = state.engine.ingest(events.map(\.event))
            var derived = DerivedPresence()
            for change in outcome.changes {
                let key = ExactKey(change.participant)
                let partition = partitionOf[key] ?? -1
                let (old, new) = change.contributions
                    ?? (PresenceContribution(presence: change.old, rules: rules), PresenceContribution(presence: change.new, rules: rules))
                let wasKept = state.tails.isKept(key)
                let keep = new.tail.map { state.tails.mayKeep($0, partition: partition) } ?? false
                if keep, let tail = new.tail {
                    state.tails.keep(key, partition: partition, earliest: tail.earliest)
                } else {
                    state.tails.release(key)
                }
                derived.add(
                    PresenceUpdate(
                        participant: change.participant, partition: partition, presence: change.new,
                        uniqueBucket: new.uniqueBucket, qualifiedBucket: new.qualifiedBucket, tail: keep ? new.tail : nil),
                    delta: ContributionDelta(from: wasKept ? old.withoutTail : old, to: keep ? new.withoutTail : new))
            }
            for (key, partition) in state.tails.passed(partitions: Set(partitionOf.values)) {
                let participant = key.text
                let presence = state.engine.presence(of: participant)
                let contribution = PresenceContribution(presence: presence, rules: rules)
                guard let tail = contribution.tail else { continue }
                derived.add(
                    PresenceUpdate(
                        participant: participant, partition: partition, presence: presence,
                        uniqueBucket: contribution.uniqueBucket, qualifiedBucket: contribution.qualifiedBucket, tail: nil),
                    delta: tail.delta())
            }
            for partition in Set(partitionOf.values) { derived.keptTailsFrom[partition] = state.tails.earliestKept(partition: partition) }
            return derived
        }
    }
}

/// The participants whose tail a consumer keeps on their presence rows, by partition and
/// by the minute each tail becomes due.
///
/// A tail is kept while its earliest instant is at or after the latest event time stored on
/// the participant's partition: a heartbeat in the next half minute will move it again. Once
/// event time passes it, the session has most likely ended, and the tail goes into the rows,
/// so that the reporter's per-round read of kept tails behind its frontier stays small. When
/// that happens changes no number, only how many rows a batch writes and a round reads.
struct OpenTails: Sendable {
    private var kept: [ExactKey: (partition: Int32, minute: Int64)] = [:]
    private var due: [Int32: [Int64: Set<ExactKey>]] = [:]
    /// Per partition: the latest event time stored (Unix ms).
    private var eventTime: [Int32: Int64] = [:]

    mutating func saw(_ at: Int64, partition: Int32) {
        if at > eventTime[partition, default: .min] { eventTime[partition] = at }
    }

    func isKept(_ participant: ExactKey) -> Bool { kept[participant] != nil }

    func mayKeep(_ tail: ContributionTail, partition: Int32) -> Bool {
        tail.earliest >= eventTime[partition, default: .min]
    }

    mutating func keep(_ participant: ExactKey, partition: Int32, earliest: Int64) {
        release(participant)
        let minute = earliest.floorDivided(by: 60_000)
        kept[participant] = (partition, minute)
        due[partition, default: [:]][minute, default: []].insert(participant)
    }

    mutating func release(_ participant: ExactKey) {
        guard let (partition, minute) = kept.removeValue(forKey: participant) else { return }
        due[partition]?[minute]?.remove(participant)
        if due[partition]?[minute]?.isEmpty == true { due[partition]?[minute] = nil }
    }

    /// Releases and returns the kept tails of `partitions` due in a minute that event time
    /// there has left behind.
    mutating func passed(partitions: Set<Int32>) -> [(participant: ExactKey, partition: Int32)] {
        var result: [(ExactKey, Int32)] = []
        for partition in partitions {
            guard let time = eventTime[partition], let minutes = due[partition] else { continue }
            let current = time.floorDivided(by: 60_000)
            for (minute, participants) in minutes where minute < current {
                for participant in participants {
                    kept[participant] = nil
                    result.append((participant, partition))
                }
                due[partition]?[minute] = nil
            }
        }
        return result
    }

    /// At or before the earliest change of any tail kept on `partition` (nil: none kept).
    func earliestKept(partition: Int32) -> Int64? {
        due[partition]?.keys.min().map { $0 * 60_000 }
    }

    mutating func keepOnly(_ owned: Set<Int32>) {
        kept = kept.filter { owned.contains($0.value.partition) }
        due = due.filter { owned.contains($0.key) }
        eventTime = eventTime.filter { owned.contains($0.key) }
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return self % divisor < 0 ? quotient - 1 : quotient
    }
}
