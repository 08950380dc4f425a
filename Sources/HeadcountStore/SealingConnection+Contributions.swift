import HeadcountCore
import PostgresNIO

/// A position in the contribution tables below which every row is final: each row with a
/// smaller or equal `seq` was either committed before the fence was taken or never will be.
///
/// `seq` alone is not a position: it is drawn when a row is inserted, not when its
/// transaction commits, so a batch with a lower `seq` can commit after one with a higher
/// `seq`. A fence is a `seq` that no transaction still in flight can lie below.
public struct ContributionFence: Sendable, Hashable {
    /// The last `seq` of `headcount.bucket_contributions` covered.
    public var buckets: Int64
    /// The last `seq` of `headcount.peak_changes` covered.
    public var peaks: Int64
    /// The last `seq` of `headcount.qualification_changes` covered.
    public var qualifications: Int64

    public init(buckets: Int64, peaks: Int64, qualifications: Int64 = 0) {
        self.buckets = buckets
        self.peaks = peaks
        self.qualifications = qualifications
    }

    /// Before any row.
    public static let origin = ContributionFence(buckets: 0, peaks: 0, qualifications: 0)
}

/// Contribution rows read by `seq`, for a tally kept between rounds.
public struct ContributionRows: Sendable {
    public struct Bucket: Sendable, Hashable {
        public var seq: Int64
        public var bucket: Int
        public var active: Int
        public var unique: Int
        public var qualified: Int
    }

    /// A change point of concurrency (`change`) and of the S-covering level (`sustained`).
    public struct Peak: Sendable, Hashable {
        public var seq: Int64
        public var change: PeakChange
        public var sustained: Int
    }

    public var buckets: [Bucket] = []
    public var peaks: [Peak] = []

    public init() {}
}

extension SealingConnection {
    /// Takes a fence: reads the three sequences, then waits until every transaction that held a
    /// write lock on the contribution tables at that moment has ended.
    ///
    /// Why this is exact: an INSERT takes its ROW EXCLUSIVE lock on the table before it
    /// draws `seq` (the lock is taken when the statement is analysed, `nextval` runs when
    /// rows are produced), and keeps it until its transaction ends, after the commit is
    /// visible to new snapshots. So a transaction that drew a `seq` ≤ the value read holds
    /// that lock when pg_locks is read next, or has already ended. Once those holders are
    /// gone, every snapshot taken afterwards sees every committed row up to the fence.
    /// Writers are never blocked: the reporter only watches the lock table.
    ///
    /// Runs outside any transaction, so the round's REPEATABLE READ snapshot is taken after it.
    public func contributionFence(timeout: Duration = .seconds(30)) async throws(StoreError) -> ContributionFence {
        guard !connection.isClosed else { throw StoreError(.unavailable, "the reporter's connection was closed") }
        do {
            var fence = ContributionFence.origin
            let values = try await connection.query(
                """
                SELECT coalesce(pg_sequence_last_value('headcount.bucket_contributions_seq_seq'), 0),
                       coalesce(pg_sequence_last_value('headcount.peak_changes_seq_seq'), 0),
                       coalesce(pg_sequence_last_value('headcount.qualification_changes_seq_seq'), 0)
                """, logger: logger)
            for try await (buckets, peaks, qualifications) in values.decode((Int64, Int64, Int64).self) {
                fence = ContributionFence(buckets: buckets, peaks: peaks, qualifications: qualifications)
            }
            var writers: [String] = []
            let holders = try await connection.query(
                """
                SELECT DISTINCT virtualtransaction FROM pg_locks
                WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted AND pid <> pg_backend_pid()
                  AND relation IN ('headcount.bucket_contributions'::regclass, 'headcount.peak_changes'::regclass,
                                   'headcount.qualification_changes'::regclass)
                """, logger: logger)
            for try await writer in holders.decode(String.self) { writers.append(writer) }
            try await waitUntilEnded(writers, timeout: timeout)
            return fence
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.wrapping(error, while: "taking the contribution fence")
        }
    }

    /// Polls until none of `transactions` (virtual transaction ids) is running: each holds
    /// the lock on its own virtual xid for exactly its lifetime.
    private func waitUntilEnded(_ transactions: [String], timeout: Duration) async throws {
        guard !transactions.isEmpty else { return }
        let deadline = ContinuousClock.now + timeout
        var pause = Duration.milliseconds(1)
        while true {
            var running = 0
            let rows = try await connection.query(
                "SELECT count(*)::bigint FROM pg_locks WHERE locktype = 'virtualxid' AND virtualxid = ANY(\(transactions)::text[])",
                logger: logger)
            for try await count in rows.decode(Int.self) { running = count }
            if running == 0 { return }
            guard ContinuousClock.now < deadline else {
                throw StoreError(.unavailable, "\(running) transactions writing contributions did not end within \(timeout)")
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
    }
}

extension SealingRound {
    /// The contributions with `seq` ≤ `fence`, summed per bucket and per instant: a tally's
    /// starting point, read once when the reporter takes the lock.
    public func summedContributions(pipeline: String, upTo fence: ContributionFence) async throws -> ContributionRows {
        var result = ContributionRows()
        let buckets = try await connection.query(
            """
            SELECT bucket, sum(active_delta)::bigint, sum(unique_delta)::bigint, sum(qualified_delta)::bigint
            FROM headcount.bucket_contributions WHERE pipeline = \(pipeline) AND seq <= \(fence.buckets) GROUP BY bucket
            """, logger: logger)
        for try await (bucket, active, unique, qualified) in buckets.decode((Int, Int, Int, Int).self) {
            result.buckets.append(.init(seq: 0, bucket: bucket, active: active, unique: unique, qualified: qualified))
        }
        let peaks = try await connection.query(
            """
            SELECT at_ms, sum(delta)::bigint, sum(sustained_delta)::bigint FROM headcount.peak_changes
            WHERE pipeline = \(pipeline) AND seq <= \(fence.peaks)
            GROUP BY at_ms HAVING sum(delta) <> 0 OR sum(sustained_delta) <> 0
            """, logger: logger)
        for try await (at, delta, sustained) in peaks.decode((Int64, Int, Int).self) {
            result.peaks.append(.init(seq: 0, change: PeakChange(at: at, delta: delta), sustained: sustained))
        }
        return result
    }

    /// Every contribution row this round's snapshot sees with `seq` above `fence`, row by row
    /// (the caller skips the ones it already counted). Reads the primary key's range only.
    public func contributions(pipeline: String, after fence: ContributionFence) async throws -> ContributionRows {
        var result = ContributionRows()
        let buckets = try await connection.query(
            """
            SELECT seq, bucket, active_delta, unique_delta, qualified_delta FROM headcount.bucket_contributions
            WHERE seq > \(fence.buckets) AND pipeline = \(pipeline) ORDER BY seq
            """, logger: logger)
        for try await (seq, bucket, active, unique, qualified) in buckets.decode((Int64, Int, Int, Int, Int).self) {
            result.buckets.append(.init(seq: seq, bucket: bucket, active: active, unique: unique, qualified: qualified))
        }
        let peaks = try await connection.query(
            """
            SELECT seq, at_ms, delta, sustained_delta FROM headcount.peak_changes
            WHERE seq > \(fence.peaks) AND pipeline = \(pipeline) ORDER BY seq
            """, logger: logger)
        for try await (seq, at, delta, sustained) in peaks.decode((Int64, Int64, Int, Int).self) {
            result.peaks.append(.init(seq: seq, change: PeakChange(at: at, delta: delta), sustained: sustained))
        }
        return result
    }
}

extension SealingRound {
    /// The tails kept on presence rows (`ContributionTail`) of `partitions`' participants that
    /// change anything before `cut` (Unix ms): with the rows, the whole contributions as far as
    /// buckets ending by `cut` can see. Workers move a tail into the rows once event time
    /// passes it, so the caller names only the partitions whose `keptTailsFrom` lies before
    /// `cut` (in a live event, none but idle ones).
    public func openTails(pipeline: String, partitions: [Int32], before cut: Int64) async throws -> [ContributionTail] {
        guard !partitions.isEmpty else { return [] }
        let rows = try await connection.query(
            """
            SELECT tail_peak_at, tail_sustained_at FROM headcount.presence
            WHERE pipeline = \(pipeline) AND kafka_partition = ANY(\(partitions)::int[])
              AND least(tail_peak_at, tail_sustained_at) < \(cut)
            """, logger: logger)
        var tails: [ContributionTail] = []
        for try await (peak, sustained) in rows.decode((Int64?, Int64?).self) {
            tails.append(ContributionTail(peakEnd: peak, sustainedEnd: sustained))
        }
        return tails
    }
}

extension SealingRound {
    /// Every currently qualified participant with its first qualified bucket, from
    /// `presence`: the qualification state's starting point, read once when the reporter
    /// takes the lock. Two array values rather than a row per participant (decoding cost).
    public func qualifiedBuckets(pipeline: String) async throws -> [(participant: String, bucket: Int)] {
        let rows = try await connection.query(
            """
            SELECT coalesce(array_agg(participant), '{}'), coalesce(array_agg(qualified_bucket), '{}')
            FROM headcount.presence WHERE pipeline = \(pipeline) AND qualified_bucket IS NOT NULL
            """, logger: logger)
        var result: [(participant: String, bucket: Int)] = []
        for try await (participants, buckets) in rows.decode(([String], [Int32]).self) {
            result = zip(participants, buckets).map { ($0, Int($1)) }
        }
        return result
    }

    /// The qualification changes this round's snapshot sees with `seq` above `fence`, in
    /// `seq` order; bucket nil: no longer qualified. Reads the primary key's range only.
    public func qualificationChanges(
        pipeline: String, after fence: Int64
    ) async throws -> [(seq: Int64, participant: String, bucket: Int?)] {
        var result: [(seq: Int64, participant: String, bucket: Int?)] = []
        let rows = try await connection.query(
            """
            SELECT seq, participant, qualified_bucket FROM headcount.qualification_changes
            WHERE seq > \(fence) AND pipeline = \(pipeline) ORDER BY seq
            """, logger: logger)
        for try await (seq, participant, bucket) in rows.decode((Int64, String, Int32?).self) {
            result.append((seq, participant, bucket.map(Int.init)))
        }
        return result
    }
}
