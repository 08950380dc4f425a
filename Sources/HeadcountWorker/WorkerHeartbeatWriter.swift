import Foundation
import HeadcountStore
import Logging
import ServiceLifecycle

/// Writes which partitions each of the process's consumers owns to
/// `headcount.worker_heartbeats`, for `headcount status` and the dashboard.
///
/// It only reads `Worker.partitionsByConsumer`, so nothing in the consumers or their
/// rebalance callbacks waits on it: a change of partitions is written within `checkInterval`,
/// and the rows are refreshed every `interval` so a reader can tell a dead worker (a row
/// older than a few intervals) from a quiet one. A failed write is logged and retried at the
/// next check: heartbeats inform operators, they never stop the worker. On graceful shutdown
/// (the worker has left the group by then: it stops first) the process's rows are deleted.
public struct WorkerHeartbeatWriter: Service {
    let worker: Worker
    let store: EventStore
    let host: String
    let pid: Int32
    /// How often the rows are refreshed when nothing changed; default 5 s.
    let interval: Duration
    /// How often the worker's partitions are compared with the last write; default 500 ms.
    let checkInterval: Duration
    let logger: Logger

    public init(
        worker: Worker, store: EventStore, host: String = ProcessInfo.processInfo.hostName,
        pid: Int32 = ProcessInfo.processInfo.processIdentifier, interval: Duration = .seconds(5),
        checkInterval: Duration = .milliseconds(500), logger: Logger
    ) {
        self.worker = worker
        self.store = store
        self.host = host
        self.pid = pid
        self.interval = interval
        self.checkInterval = checkInterval
        self.logger = logger
    }

    /// A worker whose row is older than this is reported stale: three refreshes missed.
    public static func staleAfter(interval: Duration = .seconds(5)) -> Duration { interval * 3 }

    public func run() async {
        let pipeline = worker.configuration.pipeline.id
        var written: [Int: Set<Int32>] = [:]
        var writtenAt: ContinuousClock.Instant?
        var failing = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let now = worker.partitionsByConsumer
            // Nothing to say before the first consumer runs (the schema may not exist yet).
            let due = now != written || writtenAt.map { ContinuousClock.now - $0 >= interval } ?? !now.isEmpty
            if due, !(now.isEmpty && written.isEmpty) {
                do {
                    try await store.recordHeartbeats(pipeline: pipeline, host: host, pid: pid, consumers: now)
                    written = now
                    writtenAt = .now
                    if failing { logger.info("worker heartbeats written again") }
                    failing = false
                } catch {
                    if !failing { logger.warning("cannot write worker heartbeats", metadata: ["error": "\(error)"]) }
                    failing = true
                }
            }
            try? await Task.sleep(for: checkInterval)
        }
        guard !written.isEmpty else { return }
        do {
            try await store.removeHeartbeats(pipeline: pipeline, host: host, pid: pid)
        } catch {
            logger.warning("cannot remove this worker's heartbeats; they will show as stale", metadata: ["error": "\(error)"])
        }
    }
}

extension Worker {
    /// Whether the process does its share: every consumer runs (subscribed and polling) and
    /// the group gave the process at least one partition; in plain words either way.
    ///
    /// A process in a group with more consumers than partitions stays not ready: it is spare
    /// capacity, which takes over partitions when another worker leaves.
    public var readiness: (isReady: Bool, detail: String) {
        let consumers = partitionsByConsumer
        let owned = consumers.values.reduce(into: Set<Int32>()) { $0.formUnion($1) }.sorted()
        let expected = configuration.concurrency
        if consumers.count < expected {
            return (false, "\(consumers.count) of \(expected) consumers running")
        }
        if owned.isEmpty {
            return (false, "\(expected) consumers in the group, no partition assigned yet (group forming, or more consumers than partitions)")
        }
        return (true, "\(expected) consumers in the group, partitions \(owned.map(String.init).joined(separator: ","))")
    }
}
