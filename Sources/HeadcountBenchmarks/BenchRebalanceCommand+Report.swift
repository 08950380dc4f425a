import Foundation
import HeadcountPipeline
import HeadcountStore
import Synchronization

/// Each partition's stored next offset over time, sampled from PostgreSQL: when a partition
/// stored a batch is when its offset moved.
final class ProgressSampler: Sendable {
    /// Per partition, the moments its stored offset moved.
    private let moves = Mutex<[Int32: [ContinuousClock.Instant]]>([:])

    func sample(_ store: EventStore, pipeline: Pipeline, until stop: Moment) async throws {
        var last: [Int32: Int64] = [:]
        while stop.instant == nil {
            let offsets = try await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic)
            let now = ContinuousClock.now
            moves.withLock { moves in
                for (partition, offset) in offsets where last[partition] != offset { moves[partition, default: []].append(now) }
            }
            last = offsets
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Whether every one of `partitions` stored a batch after `instant`.
    func progressing(_ partitions: Set<Int32>, since instant: ContinuousClock.Instant) -> Bool {
        moves.withLock { moves in partitions.allSatisfy { (moves[$0]?.last).map { $0 > instant } ?? false } }
    }

    func firstProgress(after instant: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        moves.withLock { $0.values.compactMap { $0.first { $0 > instant } }.min() }
    }

    /// The partition's last store at or before `instant`, and its first after it.
    func around(_ partition: Int32, _ instant: ContinuousClock.Instant) -> (before: ContinuousClock.Instant?, after: ContinuousClock.Instant?) {
        moves.withLock { moves in
            let times = moves[partition] ?? []
            return (times.last { $0 <= instant }, times.first { $0 > instant })
        }
    }

    /// The longest time any of `partitions` went without storing, within [from, to].
    func longestGap(of partitions: Set<Int32>, in from: ContinuousClock.Instant, _ to: ContinuousClock.Instant) -> Duration? {
        moves.withLock { moves in
            partitions.compactMap { partition -> Duration? in
                let times = moves[partition] ?? []
                // The stores inside the span, and the one just before it (a pause may begin there).
                let inside = times.filter { $0 > from && $0 <= to }
                let edges = (times.last { $0 <= from }.map { [$0] } ?? []) + inside
                guard edges.count >= 2 else { return nil }
                return zip(edges, edges.dropFirst()).map { $1 - $0 }.max()
            }.max()
        }
    }
}

/// One membership change, as the workers' logs and the stored offsets tell it.
struct RebalanceReport {
    let changed: ContinuousClock.Instant
    let events: [WorkerLogEvent]
    let partitions: Set<Int32>
    let progress: ProgressSampler

    /// Partitions that changed owner: assigned anew after the change.
    var moved: Set<Int32> { Set(events.filter { $0.kind == .assigned }.flatMap(\.partitions)) }

    /// When the last rebalance round gave out partitions.
    var lastRound: ContinuousClock.Instant? { events.filter { $0.kind == .assigned }.map(\.at).max() }

    /// Headcount's own part: the longest from a rebalance callback to the resume.
    var ownPart: Duration? { events.filter { $0.kind == .started }.compactMap(\.sinceAssigned).max() }

    /// Per moved partition, the longest: from its last store before the change to its first
    /// after the last round (the whole pause), from the change to that first store (what the
    /// issue's "≤ 12 s after kill -9" counts), and from the last round to it.
    func movedPause() -> (pause: Duration?, sinceChange: Duration?, afterRound: Duration?) {
        guard let lastRound else { return (nil, nil, nil) }
        var pauses: [Duration] = []
        var sinceChange: [Duration] = []
        var afterRound: [Duration] = []
        for partition in moved {
            let (before, _) = progress.around(partition, changed)
            let (_, after) = progress.around(partition, lastRound)
            guard let after else { continue }
            pauses.append(after - (before ?? changed))
            sinceChange.append(after - changed)
            afterRound.append(after - lastRound)
        }
        return (pauses.max(), sinceChange.max(), afterRound.max())
    }

    func summary(target: Duration) -> String {
        let kept = partitions.subtracting(moved)
        let keptPause = lastRound.flatMap { progress.longestGap(of: kept, in: changed, $0 + .seconds(1)) }
        let (movedPause, sinceChange, afterRound) = movedPause()
        let rounds = lastRound.map { $0 - changed }
        let revokes = events.filter { $0.kind == .revoked }.map { $0.at - changed }.min()
        return [
            "\(moved.count) partitions moved \(moved.sorted()), \(kept.count) kept their owner",
            "cluster rounds: first revoke \(seconds(revokes)), last assignment \(seconds(rounds)) after the change",
            "Headcount's part (callback → offsets read → seek → resume) ≤ \(seconds(ownPart)) (target ≤ 0.2 s) \(verdict(ownPart, .milliseconds(200)))",
            "kept partitions paused ≤ \(seconds(keptPause)) (target ≤ 1 s) \(verdict(keptPause, .seconds(1)))",
            "moved partitions resumed \(seconds(afterRound)) after the last round (target ≤ 1 s) \(verdict(afterRound, .seconds(1))), "
                + "\(seconds(sinceChange)) after the change (target ≤ \(seconds(target))) \(verdict(sinceChange, target)); "
                + "paused \(seconds(movedPause)) in all, from their last store before the change",
        ].joined(separator: "; ")
    }
}

/// Polls `condition` until it holds; fails naming `what` after `timeout`.
func benchWait(
    _ what: String, timeout: Duration, every interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw BenchFailure(description: "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: interval)
    }
}
