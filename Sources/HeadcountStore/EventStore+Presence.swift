import HeadcountCore
import PostgresNIO

extension EventStore {
    /// Writes a batch's derived presence in the batch's transaction: upserted presences and
    /// appended contribution and qualification-change rows.
    func storeDerived(_ derived: DerivedPresence, pipeline: String, on connection: PostgresConnection) async throws {
        if !derived.presences.isEmpty {
            let updates = derived.presences
            // One statement for the whole batch: arrays unnested into rows.
            try await connection.query(
                """
                INSERT INTO headcount.presence (
                    pipeline, participant, kafka_partition, intervals, unique_bucket, qualified_bucket, tail_peak_at, tail_sustained_at)
                SELECT \(pipeline), p, k, i::int8multirange, NULLIF(u, -1), NULLIF(q, -1), NULLIF(tp, \(Self.noInstant)), NULLIF(ts, \(Self.noInstant))
                FROM unnest(\(updates.map(\.participant))::text[], \(updates.map(\.partition))::int[],
                            \(updates.map(\.presence.multirangeLiteral))::text[],
                            \(updates.map { Int32($0.uniqueBucket ?? -1) })::int[], \(updates.map { Int32($0.qualifiedBucket ?? -1) })::int[],
                            \(updates.map { $0.tail?.peakEnd ?? Self.noInstant })::bigint[],
                            \(updates.map { $0.tail?.sustainedEnd ?? Self.noInstant })::bigint[])
                     AS u(p, k, i, u, q, tp, ts)
                ON CONFLICT (pipeline, participant) DO UPDATE SET
                    intervals = EXCLUDED.intervals, unique_bucket = EXCLUDED.unique_bucket,
                    qualified_bucket = EXCLUDED.qualified_bucket, kafka_partition = EXCLUDED.kafka_partition,
                    tail_peak_at = EXCLUDED.tail_peak_at, tail_sustained_at = EXCLUDED.tail_sustained_at,
                    updated_at = now()
                """, logger: logger)
        }
        // After the presence upsert: its row lock makes a second writer of the same
        // participant wait for this commit before drawing its seq, so per participant seq
        // order is commit order (what the reporter relies on to keep the latest row).
        if !derived.requalified.isEmpty {
            try await connection.query(
                """
                INSERT INTO headcount.qualification_changes (pipeline, participant, qualified_bucket)
                SELECT \(pipeline), p, NULLIF(q, -1) FROM unnest(\(derived.requalified)::text[], \(derived.requalifiedBuckets)::int[]) AS c(p, q)
                """, logger: logger)
        }
        let buckets = derived.buckets
        if !buckets.isEmpty {
            try await connection.query(
                """
                INSERT INTO headcount.bucket_contributions (pipeline, bucket, active_delta, unique_delta, qualified_delta)
                SELECT \(pipeline), b, a, u, q
                FROM unnest(\(buckets.map(Int32.init))::int[], \(buckets.map { Int64(derived.active[$0] ?? 0) })::bigint[],
                            \(buckets.map { Int64(derived.unique[$0] ?? 0) })::bigint[], \(buckets.map { Int64(derived.qualified[$0] ?? 0) })::bigint[])
                     AS c(b, a, u, q)
                WHERE a <> 0 OR u <> 0 OR q <> 0
                """, logger: logger)
        }
        // One row per instant for both levels: the reporter reads them under one fence.
        let instants = Set(derived.peak.filter { $0.value != 0 }.keys)
            .union(derived.sustained.filter { $0.value != 0 }.keys).sorted()
        if !instants.isEmpty {
            try await connection.query(
                """
                INSERT INTO headcount.peak_changes (pipeline, at_ms, delta, sustained_delta)
                SELECT \(pipeline), t, d, s
                FROM unnest(\(instants)::bigint[], \(instants.map { Int64(derived.peak[$0] ?? 0) })::bigint[],
                            \(instants.map { Int64(derived.sustained[$0] ?? 0) })::bigint[]) AS c(t, d, s)
                """, logger: logger)
        }
    }

    /// Stands for "no tail instant" in the arrays of the upsert (PostgresNIO binds no NULLs
    /// inside arrays of integers).
    static let noInstant = Int64.min

    /// Every bucket's numbers summed from the stored contributions, through the counting
    /// engine's own tally: what the reporter seals, without rescanning events.
    public func contributedNumbers(pipeline: String, rules: CountingRules) async throws(StoreError) -> [BucketNumbers] {
        do {
            return try await client.withConnection { connection in
                try await CertificationQueries.contributedNumbers(pipeline: pipeline, rules: rules, on: connection, logger: self.logger)
            }
        } catch {
            throw StoreError.wrapping(error, while: "summing contributions")
        }
    }

    /// Stored presences as `participant|partition|intervals|unique|qualified`, ordered:
    /// two stores derived the same presence exactly when these lists are equal.
    public func presenceRows(pipeline: String) async throws(StoreError) -> [String] {
        do {
            var rows: [String] = []
            let result = try await client.query(
                """
                SELECT concat_ws('|', participant, kafka_partition, intervals::text, coalesce(unique_bucket, -1), coalesce(qualified_bucket, -1))
                FROM headcount.presence WHERE pipeline = \(pipeline) ORDER BY participant
                """, logger: logger)
            for try await row in result.decode(String.self) { rows.append(row) }
            return rows
        } catch {
            throw StoreError.wrapping(error, while: "reading presence")
        }
    }

    /// The stored events of some partitions, in Kafka order: how a worker that was just
    /// assigned those partitions rebuilds its participants' state exactly.
    public func events(pipeline: String, partitions: [Int32]) async throws(StoreError) -> [PositionedEvent] {
        do {
            return try await client.withConnection { connection in
                try await self.events(pipeline: pipeline, partitions: partitions, on: connection)
            }
        } catch {
            throw StoreError.wrapping(error, while: "reading events of partitions")
        }
    }

    /// The stored events of some partitions and their stored next offsets, read in one
    /// snapshot: the events are exactly those of the batches up to these offsets.
    ///
    /// A worker's counting engine must hold a partition's stored events as of the offset its
    /// next batch continues from; read apart, a batch another worker commits in between
    /// would be in one and not the other.
    public func partitionContents(pipeline: String, topic: String, partitions: [Int32]) async throws(StoreError) -> PartitionContents {
        do {
            let options = TransactionOptions(purpose: "reading the stored state of partitions", pipeline: pipeline, isolation: .repeatableRead, readOnly: true)
            return try await withTransaction(options) { connection in
                var contents = PartitionContents()
                let rows = try await connection.query(
                    """
                    SELECT kafka_partition, next_offset FROM headcount.partition_progress
                    WHERE pipeline = \(pipeline) AND topic = \(topic) AND kafka_partition = ANY(\(partitions)::int[])
                    """, logger: self.logger)
                for try await (partition, offset) in rows.decode((Int32, Int64).self) { contents.nextOffsets[partition] = offset }
                contents.events = try await self.events(pipeline: pipeline, partitions: partitions, on: connection)
                let tails = try await connection.query(
                    """
                    SELECT participant, kafka_partition, tail_peak_at, tail_sustained_at FROM headcount.presence
                    WHERE pipeline = \(pipeline) AND kafka_partition = ANY(\(partitions)::int[])
                      AND (tail_peak_at IS NOT NULL OR tail_sustained_at IS NOT NULL)
                    """, logger: self.logger)
                for try await (participant, partition, peak, sustained) in tails.decode((String, Int32, Int64?, Int64?).self) {
                    contents.openTails.append(
                        StoredTail(participant: participant, partition: partition, tail: ContributionTail(peakEnd: peak, sustainedEnd: sustained)))
                }
                return contents
            }
        } catch {
            throw StoreError.wrapping(error, while: "reading the stored state of partitions", pipeline: pipeline)
        }
    }

    private func events(pipeline: String, partitions: [Int32], on connection: PostgresConnection) async throws -> [PositionedEvent] {
        var events: [PositionedEvent] = []
        let rows = try await connection.query(
            """
            SELECT id, type, participant, session, (extract(epoch FROM at) * 1000)::bigint, source, kafka_partition, kafka_offset
            FROM headcount.events WHERE pipeline = \(pipeline) AND kafka_partition = ANY(\(partitions)::int[])
            ORDER BY kafka_partition, kafka_offset
            """, logger: logger)
        for try await (id, type, participant, session, at, source, partition, offset)
            in rows.decode((String, String, String, String, Int64, String, Int32, Int64).self) {
            // As in `events(pipeline:)`: a type the table's CHECK should have refused is an
            // error, never counted as a guess.
            guard let known = EventType(rawValue: type) else {
                throw StoreError(
                    .invalidData,
                    "stored event \(id) has type \"\(type.prefix(40))\", which this program does not know (join, leave, heartbeat)",
                    pipeline: pipeline)
            }
            let event = Event(
                id: id, pipeline: pipeline, type: known, participant: participant, session: session,
                at: Instant(milliseconds: at), source: source)
            events.append(PositionedEvent(event: event, partition: partition, offset: offset))
        }
        return events
    }
}

/// Some partitions' stored events and next offsets, from one snapshot.
public struct PartitionContents: Sendable {
    /// In Kafka order.
    public var events: [PositionedEvent] = []
    /// Partitions with nothing stored yet have none.
    public var nextOffsets: [Int32: Int64] = [:]
    /// The participants of these partitions whose tail is kept on the presence row.
    public var openTails: [StoredTail] = []

    public init() {}
}

/// A tail kept on a presence row (`ContributionTail`), not in the change rows.
public struct StoredTail: Sendable, Hashable {
    public var participant: String
    public var partition: Int32
    public var tail: ContributionTail

    public init(participant: String, partition: Int32, tail: ContributionTail) {
        self.participant = participant
        self.partition = partition
        self.tail = tail
    }
}
