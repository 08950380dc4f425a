import Synchronization

/// The ids of the events this process had acknowledged by Kafka most recently, so a
/// platform's retry of a delivery that already succeeded (Zoom retries for up to an hour
/// when an answer got lost) is answered 200 without producing the events again.
///
/// Exact ids, not hashes: skipping an event on a collision would lose it. Two generations
/// bound the memory: at least the last `generationSize` ids of each pipeline are kept, at
/// most twice that. What this process forgot, or another process saw, the worker's
/// deduplication by id still catches; this only keeps Kafka free of the common repeats.
final class AcknowledgedEventIDs: Sendable {
    private struct Generations {
        var newer: Set<String> = []
        var older: Set<String> = []
    }

    private let generationSize: Int
    private let state = Mutex(Generations())

    init(generationSize: Int) {
        self.generationSize = max(1, generationSize)
    }

    /// The events whose ids were not acknowledged yet (first of repeats within the request).
    func unacknowledged<Item>(_ items: [Item], id: (Item) -> String) -> [Item] {
        if items.count == 1 {
            // The common webhook: one event, no repeats to look for within the request.
            let key = id(items[0])
            return state.withLock { $0.newer.contains(key) || $0.older.contains(key) } ? [] : items
        }
        let ids = items.map(id)
        let keep: [Bool] = state.withLock { state in
            var seen = Set<String>()
            return ids.map { key in !state.newer.contains(key) && !state.older.contains(key) && seen.insert(key).inserted }
        }
        return zip(items, keep).compactMap { $1 ? $0 : nil }
    }

    func insert(_ ids: some Sequence<String>) {
        state.withLock { state in
            for id in ids {
                if state.newer.count >= generationSize {
                    state.older = state.newer
                    state.newer = Set(minimumCapacity: generationSize)
                }
                state.newer.insert(id)
            }
        }
    }
}
