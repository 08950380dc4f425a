import HeadcountStore
import Synchronization

/// Running totals of what a worker process stored, shared by its consumers.
public final class WorkerStatistics: Sendable {
    public struct Totals: Sendable, Hashable {
        public var batches = 0
        public var inserted = 0
        public var duplicates = 0
        public var conflictingDuplicates = 0
        public var deadLetters = 0
        public var rejected = 0
    }

    private let totals = Mutex(Totals())

    public init() {}

    func record(_ outcome: BatchOutcome) {
        totals.withLock { totals in
            totals.batches += 1
            totals.inserted += outcome.inserted
            totals.duplicates += outcome.duplicates
            totals.conflictingDuplicates += outcome.conflictingDuplicates
            totals.deadLetters += outcome.deadLetters
            totals.rejected += outcome.rejected
        }
    }

    public var snapshot: Totals { totals.withLock { $0 } }
}
