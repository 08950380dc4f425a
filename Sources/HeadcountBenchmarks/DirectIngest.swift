import HeadcountCore
import HeadcountPipeline
import HeadcountSimulation
import HeadcountStore

/// Stores simulated events as the workers would, without Kafka: keyed to partitions by
/// participant, in batches with their presence and contributions, through the store's own
/// commit.
///
/// Several loaders run at once, each on its own connection with its own participants and
/// its own share of the partitions, so that no two of them extend one partition's offsets
/// (the commit's offset fence would refuse it). Participants are generated `chunk` at a
/// time; they are disjoint, so each chunk gets a fresh counting engine and memory stays
/// bounded.
struct DirectIngest: Sendable {
    let pipeline: Pipeline
    let store: EventStore
    var loaders = 1
    var chunk = 100_000
    var batchSize = 5_000

    /// Stores every participant's events; returns how many were inserted.
    func store(_ simulator: AttendeeSimulator) async throws -> Int {
        let loaders = max(1, min(self.loaders, pipeline.kafka.partitions))
        let share = (simulator.participants + loaders - 1) / loaders
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for k in 0..<loaders {
                let range = min(simulator.participants, k * share)..<min(simulator.participants, (k + 1) * share)
                group.addTask { try await load(simulator, participants: range, loader: k, of: loaders) }
            }
            return try await group.reduce(0, +)
        }
    }

    private func load(_ simulator: AttendeeSimulator, participants: Range<Int>, loader: Int, of loaders: Int) async throws -> Int {
        var next = [Int64](repeating: 0, count: pipeline.kafka.partitions)
        var stored = 0
        for start in stride(from: participants.lowerBound, to: participants.upperBound, by: max(1, chunk)) {
            let events = simulator.events(forParticipants: start..<min(participants.upperBound, start + max(1, chunk)))
            var engine = IncrementalCount(rules: pipeline.rules, deduplication: .upstream)
            for batchStart in stride(from: 0, to: events.count, by: batchSize) {
                let slice = events[batchStart..<min(events.count, batchStart + batchSize)]
                stored += try await commit(slice, engine: &engine, next: &next, loader: loader, of: loaders)
            }
        }
        return stored
    }

    private func commit(
        _ events: ArraySlice<Event>, engine: inout IncrementalCount, next: inout [Int64], loader: Int, of loaders: Int
    ) async throws -> Int {
        var positioned: [PositionedEvent] = []
        var progress: [Int32: (from: Int64, maxAt: Instant?)] = [:]
        for event in events {
            // This loader's partitions are loader, loader + loaders, …
            let partition = Int32(Self.partitionOf(event.participant, count: next.count / loaders) * loaders + loader)
            let offset = next[Int(partition)]
            next[Int(partition)] += 1
            positioned.append(PositionedEvent(event: event, partition: partition, offset: offset))
            let seen = progress[partition] ?? (offset, nil)
            progress[partition] = (seen.from, max(seen.maxAt ?? event.at, event.at))
        }
        let ends = next
        let batch = EventBatch(
            pipeline: pipeline.id, topic: pipeline.kafka.topic, events: positioned, deadLetters: [],
            progress: progress.map { partition, seen in
                PartitionProgress(
                    partition: partition, expectedNextOffset: seen.from == 0 ? nil : seen.from,
                    nextOffset: ends[Int(partition)], maxEventAt: seen.maxAt)
            })
        let rules = pipeline.rules
        return try await store.commit(batch) { fresh in
            // Only what the store inserted: retried and conflicting duplicates count once, as the workers do.
            var partitionOf: [String: Int32] = [:]
            for item in fresh { partitionOf[item.event.participant] = item.partition }
            var derived = DerivedPresence()
            for change in engine.ingest(fresh.map(\.event)).changes {
                let contribution = PresenceContribution(presence: change.new, rules: rules)
                derived.add(
                    PresenceUpdate(
                        participant: change.participant, partition: partitionOf[change.participant] ?? -1, presence: change.new,
                        uniqueBucket: contribution.uniqueBucket, qualifiedBucket: contribution.qualifiedBucket),
                    delta: change.delta)
            }
            return derived
        }.inserted
    }

    /// FNV-1a of the key: a stable partition per participant, as keyed Kafka messages have.
    static func partitionOf(_ participant: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in participant.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(hash % UInt64(max(1, count)))
    }
}
