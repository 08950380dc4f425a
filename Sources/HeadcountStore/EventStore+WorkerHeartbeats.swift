import HeadcountCore
import Logging
import PostgresNIO

/// One worker consumer as it last reported itself (`headcount.worker_heartbeats`, migration 9).
public struct WorkerHeartbeat: Sendable, Hashable {
    /// `host/pid/consumer index`: unique while the process lives.
    public var worker: String
    public var host: String
    public var pid: Int32
    public var consumer: Int
    /// The partitions it owned at its last report, ascending.
    public var partitions: [Int32]
    public var startedAt: Instant
    /// When its partitions last changed (the database's clock).
    public var partitionsAt: Instant
    public var lastSeen: Instant
    /// How long ago it last reported, by the database's clock (so no clock skew between the
    /// worker's machine and the reader's enters it).
    public var age: Duration

    public init(
        worker: String, host: String, pid: Int32, consumer: Int, partitions: [Int32], startedAt: Instant,
        partitionsAt: Instant, lastSeen: Instant, age: Duration
    ) {
        self.worker = worker
        self.host = host
        self.pid = pid
        self.consumer = consumer
        self.partitions = partitions
        self.startedAt = startedAt
        self.partitionsAt = partitionsAt
        self.lastSeen = lastSeen
        self.age = age
    }
}

extension EventStore {
    /// Writes this process's consumers and their partitions, and removes the rows of its
    /// consumers that stopped; rows nobody refreshed for `forgetAfter` (workers long dead)
    /// are deleted too, so the table stays as small as the group.
    public func recordHeartbeats(
        pipeline: String, host: String, pid: Int32, consumers: [Int: Set<Int32>], forgetAfter: Duration = .seconds(3600)
    ) async throws(StoreError) {
        do {
            for (consumer, owned) in consumers.sorted(by: { $0.key < $1.key }) {
                let worker = "\(host)/\(pid)/\(consumer)"
                try await client.query(
                    """
                    INSERT INTO headcount.worker_heartbeats (pipeline, worker, host, pid, consumer, partitions)
                    VALUES (\(pipeline), \(worker), \(host), \(pid), \(consumer), \(owned.sorted())::integer[])
                    ON CONFLICT (pipeline, worker) DO UPDATE SET
                        partitions = EXCLUDED.partitions, last_seen = now(),
                        partitions_at = CASE WHEN worker_heartbeats.partitions IS DISTINCT FROM EXCLUDED.partitions
                                             THEN now() ELSE worker_heartbeats.partitions_at END
                    """, logger: logger)
            }
            let running = consumers.keys.sorted()
            let forgetSeconds = Double(forgetAfter.components.seconds)
            try await client.query(
                """
                DELETE FROM headcount.worker_heartbeats
                WHERE pipeline = \(pipeline)
                  AND ((host = \(host) AND pid = \(pid) AND NOT consumer = ANY(\(running)::integer[]))
                       OR last_seen < now() - make_interval(secs => \(forgetSeconds)))
                """, logger: logger)
        } catch {
            throw StoreError.wrapping(error, while: "recording worker heartbeats")
        }
    }

    /// Deletes this process's rows: it left the group on a graceful shutdown.
    public func removeHeartbeats(pipeline: String, host: String, pid: Int32) async throws(StoreError) {
        do {
            try await client.query(
                "DELETE FROM headcount.worker_heartbeats WHERE pipeline = \(pipeline) AND host = \(host) AND pid = \(pid)",
                logger: logger)
        } catch {
            throw StoreError.wrapping(error, while: "removing worker heartbeats")
        }
    }

    /// Every worker consumer of the pipeline that reported itself, most recently seen first.
    public func workerHeartbeats(pipeline: String) async throws(StoreError) -> [WorkerHeartbeat] {
        do {
            var heartbeats: [WorkerHeartbeat] = []
            let rows = try await client.query(
                """
                SELECT worker, host, pid, consumer, partitions,
                       (extract(epoch FROM started_at) * 1000)::bigint, (extract(epoch FROM partitions_at) * 1000)::bigint,
                       (extract(epoch FROM last_seen) * 1000)::bigint, (extract(epoch FROM now() - last_seen) * 1000)::bigint
                FROM headcount.worker_heartbeats WHERE pipeline = \(pipeline)
                ORDER BY last_seen DESC, worker
                """, logger: logger)
            for try await row in rows.decode((String, String, Int32, Int, [Int32], Int64, Int64, Int64, Int64).self) {
                heartbeats.append(WorkerHeartbeat(
                    worker: row.0, host: row.1, pid: row.2, consumer: row.3, partitions: row.4,
                    startedAt: Instant(milliseconds: row.5), partitionsAt: Instant(milliseconds: row.6),
                    lastSeen: Instant(milliseconds: row.7), age: .milliseconds(max(0, row.8))))
            }
            return heartbeats
        } catch {
            throw StoreError.wrapping(error, while: "reading worker heartbeats")
        }
    }

    /// Whether PostgreSQL answers a trivial query now: the readiness probe of every service.
    public func ping() async throws(StoreError) {
        do {
            for try await _ in try await client.query("SELECT 1", logger: logger).decode(Int.self) {}
        } catch {
            throw StoreError.wrapping(error, while: "checking that PostgreSQL answers")
        }
    }
}
