import HeadcountStore
import Kafka
import Synchronization

/// What one consumer knows of its partitions: which it owns and the next offset stored
/// for each, the fence its next commit must match.
///
/// Written by the rebalance listener on the consumer's thread and read by the batch loop;
/// a `Mutex` keeps the two consistent.
final class PartitionLedger: Sendable {
    private struct State {
        /// Owned partitions and their stored next offset (nil: nothing stored yet).
        var owned: [Int32: Int64?] = [:]
    }

    private let state = Mutex(State())

    func assign(_ offsets: [Int32: Int64?]) {
        state.withLock { $0.owned.merge(offsets) { _, new in new } }
    }

    func revoke(_ partitions: [Int32]) {
        state.withLock { state in
            for partition in partitions { state.owned.removeValue(forKey: partition) }
        }
    }

    /// The stored next offset of an owned partition: `.some(nil)` when owned with nothing
    /// stored, `nil` when not owned (any message from it is stale).
    func expectedNextOffset(_ partition: Int32) -> Int64?? {
        state.withLock { $0.owned[partition] }
    }

    /// The partitions this consumer owns now.
    var ownedPartitions: Set<Int32> {
        state.withLock { Set($0.owned.keys) }
    }

    func advance(_ progress: [PartitionProgress]) {
        state.withLock { state in
            for item in progress where state.owned[item.partition] != nil {
                state.owned[item.partition] = .some(item.nextOffset)
            }
        }
    }
}
