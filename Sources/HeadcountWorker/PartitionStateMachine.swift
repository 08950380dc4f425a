import HeadcountStore

/// One consumer's partitions through rebalances: assigned (paused in Kafka, nothing read yet)
/// → loading (its stored offset being read from PostgreSQL) → running (fetched, batched,
/// stored) → revoking (taken away while a batch holding it is in flight) → gone.
///
/// Pure: each event updates the states and says what the caller must do next, which the caller
/// does outside the lock (reading PostgreSQL, seeking and resuming in Kafka).
struct PartitionStateMachine: Sendable {
    enum State: Hashable, Sendable {
        /// Assigned in the rebalance numbered `generation`, paused, its stored offset not asked yet.
        case assigned(generation: UInt64)
        /// Its stored offset is being read.
        case loading(generation: UInt64)
        /// Delivering from `nextOffset` (nil: nothing stored yet, start at the log's beginning),
        /// the fence its next commit must match.
        case running(nextOffset: Int64?)
        /// Revoked while the batch in flight holds it: that batch may still commit (the store's
        /// fence decides), then the partition goes.
        case revoking
    }

    /// What the caller does next.
    enum Action: Hashable, Sendable {
        /// Read the stored offsets and report them with `offsetsLoaded(_:asOf:)`.
        case loadStoredOffsets
        /// Seek each partition to its stored next offset (nil: the beginning) and resume it.
        case start([Int32: Int64?])
    }

    private(set) var states: [Int32: State] = [:]
    /// Rebalances seen so far: a read of the stored offsets answers for the partitions
    /// assigned up to the rebalance current when it began, not for later ones.
    private var generation: UInt64 = 0
    /// The partitions of the batch being stored now.
    private var inFlight: Set<Int32> = []

    /// The group gave these partitions (paused): their stored offsets must be read.
    mutating func assigned(_ partitions: [Int32]) -> [Action] {
        guard !partitions.isEmpty else { return [] }
        generation += 1
        for partition in partitions { states[partition] = .assigned(generation: generation) }
        return [.loadStoredOffsets]
    }

    /// The group took these partitions away: idle ones go now, those of the batch in flight
    /// when it finishes.
    mutating func revoked(_ partitions: [Int32]) {
        for partition in partitions {
            if inFlight.contains(partition), case .running = states[partition] {
                states[partition] = .revoking
            } else {
                states[partition] = nil
            }
        }
    }

    /// A read of the stored offsets begins: assigned partitions become loading. Returns the
    /// read's token for `offsetsLoaded`, or nil when nothing waits for one.
    ///
    /// A partition reassigned while the batch in flight holds it waits for that batch: its
    /// stored offset is not known until the batch commits or aborts.
    mutating func loadStarted() -> UInt64? {
        for (partition, state) in states where !inFlight.contains(partition) {
            if case .assigned(let assignedIn) = state { states[partition] = .loading(generation: assignedIn) }
        }
        let loading = states.values.contains { if case .loading = $0 { true } else { false } }
        return loading ? generation : nil
    }

    /// A read begun with `token` answered: the partitions it covers start where the store says.
    mutating func offsetsLoaded(_ stored: [Int32: Int64], asOf token: UInt64) -> [Action] {
        var start: [Int32: Int64?] = [:]
        for (partition, state) in states {
            guard case .loading(let assignedIn) = state, assignedIn <= token else { continue }
            states[partition] = .running(nextOffset: stored[partition])
            start.updateValue(stored[partition], forKey: partition)
        }
        var actions: [Action] = start.isEmpty ? [] : [.start(start)]
        if waitsForLoad { actions.append(.loadStoredOffsets) }
        return actions
    }

    /// Kafka refused to start these partitions: they are read and started again.
    mutating func startFailed(_ partitions: [Int32]) -> [Action] {
        var again = false
        for partition in partitions where states[partition] != nil && states[partition] != .revoking {
            states[partition] = .assigned(generation: generation)
            again = true
        }
        return again ? [.loadStoredOffsets] : []
    }

    /// A batch of these partitions goes to the store.
    mutating func batchStarted(_ partitions: [Int32]) {
        inFlight = Set(partitions)
    }

    /// The batch in flight was stored (`progress`) or abandoned (nil): running partitions
    /// advance, revoking ones go, and reassigned ones may now be read.
    mutating func batchFinished(stored progress: [PartitionProgress]?) -> [Action] {
        for item in progress ?? [] {
            if case .running = states[item.partition] { states[item.partition] = .running(nextOffset: item.nextOffset) }
        }
        for partition in inFlight where states[partition] == .revoking { states[partition] = nil }
        inFlight = []
        return waitsForLoad ? [.loadStoredOffsets] : []
    }

    /// After a fenced batch: a running partition continues from what the store holds.
    mutating func resynced(_ partition: Int32, to stored: Int64?) -> Bool {
        guard case .running = states[partition] else { return false }
        states[partition] = .running(nextOffset: stored)
        return true
    }

    /// The fence of a running partition: `.some(nil)` when nothing is stored yet, nil when the
    /// partition is not running here (any message from it is stale or early).
    func expectedNextOffset(_ partition: Int32) -> Int64?? {
        guard case .running(let next) = states[partition] else { return nil }
        return .some(next)
    }

    /// The partitions the group has given this consumer and not taken back.
    var owned: Set<Int32> { Set(states.filter { $0.value != .revoking }.keys) }

    /// The partitions being fetched and stored now.
    var running: Set<Int32> { Set(states.filter { if case .running = $0.value { true } else { false } }.keys) }

    /// Whether any of these partitions was taken away since the batch holding them began.
    func anyRevoked(_ partitions: [Int32]) -> Bool {
        partitions.contains { expectedNextOffset($0) == nil }
    }

    private var waitsForLoad: Bool {
        states.values.contains { if case .assigned = $0 { true } else { false } }
    }
}
