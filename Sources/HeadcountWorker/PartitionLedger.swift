import HeadcountStore
import Kafka
import Synchronization

/// What one consumer knows of its partitions, shared between librdkafka's rebalance callback
/// (through `StoredOffsetListener`), the task that starts assigned partitions and the batch
/// loop: the state machine of each partition behind one lock.
///
/// Its methods return at once; the I/O an event calls for (reading stored offsets, seeking,
/// resuming) is signalled to `PartitionStarter` through `loadRequests`.
final class PartitionLedger: Sendable {
    private struct State {
        var machine = PartitionStateMachine()
        /// When each partition not yet running was assigned: the start of Headcount's own part of a move.
        var assignedAt: [Int32: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())
    /// One element whenever stored offsets should be read; the newest request covers older ones.
    let loadRequests: AsyncStream<Void>
    private let loadRequested: AsyncStream<Void>.Continuation

    init() {
        (loadRequests, loadRequested) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Ends `loadRequests`: the consumer is closing.
    func finish() { loadRequested.finish() }

    func assigned(_ partitions: [Int32]) {
        let now = ContinuousClock.now
        let actions = state.withLock { state in
            for partition in partitions { state.assignedAt[partition] = now }
            return state.machine.assigned(partitions)
        }
        _ = perform(actions)
    }

    func revoked(_ partitions: [Int32]) {
        state.withLock { state in
            state.machine.revoked(partitions)
            for partition in partitions { state.assignedAt.removeValue(forKey: partition) }
        }
    }

    func loadStarted() -> UInt64? { state.withLock { $0.machine.loadStarted() } }

    /// Records the stored offsets a read begun with `token` found; returns the partitions to start.
    func offsetsLoaded(_ stored: [Int32: Int64], asOf token: UInt64) -> [Int32: Int64?] {
        perform(state.withLock { $0.machine.offsetsLoaded(stored, asOf: token) })
    }

    func startFailed(_ partitions: [Int32]) {
        _ = perform(state.withLock { $0.machine.startFailed(partitions) })
    }

    /// How long ago each of these partitions was assigned (and forgets it: they run now).
    func started(_ partitions: [Int32]) -> Duration? {
        let now = ContinuousClock.now
        return state.withLock { state in
            let times = partitions.compactMap { state.assignedAt.removeValue(forKey: $0) }
            return times.min().map { now - $0 }
        }
    }

    func batchStarted(_ partitions: [Int32]) { state.withLock { $0.machine.batchStarted(partitions) } }

    func batchFinished(stored progress: [PartitionProgress]?) {
        _ = perform(state.withLock { $0.machine.batchFinished(stored: progress) })
    }

    /// After a fenced batch: whether the partition still runs here, now from `stored`.
    func resynced(_ partition: Int32, to stored: Int64?) -> Bool {
        state.withLock { $0.machine.resynced(partition, to: stored) }
    }

    /// The stored next offset of a running partition: `.some(nil)` when nothing is stored
    /// yet, `nil` when not running here (any message from it is stale).
    func expectedNextOffset(_ partition: Int32) -> Int64?? {
        state.withLock { $0.machine.expectedNextOffset(partition) }
    }

    /// The partitions this consumer owns now (running or being started).
    var ownedPartitions: Set<Int32> { state.withLock { $0.machine.owned } }

    /// The partitions being fetched and stored now.
    var runningPartitions: Set<Int32> { state.withLock { $0.machine.running } }

    /// Whether any of these partitions was taken away since its batch began.
    func anyRevoked(_ partitions: [Int32]) -> Bool { state.withLock { $0.machine.anyRevoked(partitions) } }

    /// Signals loads, returns starts.
    private func perform(_ actions: [PartitionStateMachine.Action]) -> [Int32: Int64?] {
        var start: [Int32: Int64?] = [:]
        for action in actions {
            switch action {
            case .loadStoredOffsets: loadRequested.yield()
            case .start(let offsets): start.merge(offsets) { $1 }
            }
        }
        return start
    }
}
