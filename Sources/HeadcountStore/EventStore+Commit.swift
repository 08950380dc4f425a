import HeadcountCore
import PostgresNIO

extension EventStore {
    /// Stores one polled batch in one transaction: new events (bulk COPY), conflicting
    /// duplicates and the caller's dead letters, and each partition's next offset.
    ///
    /// Either everything is stored or nothing is, which is what makes the effect
    /// exactly-once: a worker that dies before the commit re-reads the same messages from
    /// the offsets stored here. Throws `.fenced` (and stores nothing) when another worker
    /// moved one of the partitions on since this batch was read.
    ///
    /// - Parameter derive: what the batch's newly stored events change (see
    ///   `PresenceDerivation`); stored in the same transaction.
    public func commit(
        _ batch: EventBatch, derive: PresenceDerivation = { _ in nil }
    ) async throws(StoreError) -> BatchOutcome {
        do {
            return try await commit(batch, isolating: false, derive: derive)
        } catch let error where error.isDataRefusal && !batch.events.isEmpty {
            // PostgreSQL refused something in the batch. Rather than stop or retry forever,
            // find the offending events by splitting the batch, dead-letter them and store
            // the rest, still in one transaction with the offsets.
            logger.warning("batch rejected by PostgreSQL; isolating the offending events", metadata: ["error": "\(error)"])
            return try await commit(batch, isolating: true, derive: derive)
        }
    }

    private func commit(
        _ batch: EventBatch, isolating: Bool, derive: PresenceDerivation
    ) async throws(StoreError) -> BatchOutcome {
        do {
            return try await withTransaction(TransactionOptions(purpose: "committing a batch", pipeline: batch.pipeline)) { connection in
                try await self.checkFence(batch, on: connection)
                var stored = EventSliceOutcome()
                if isolating {
                    try await self.storeIsolating(batch.events[...], batch: batch, on: connection, into: &stored)
                } else if try await self.copyFresh(batch, on: connection) {
                    let fresh = batch.events[..<batch.freshEventCount]
                    stored = try await self.storeEvents(batch.events[batch.freshEventCount...], batch: batch, on: connection)
                    stored.insertedIDs.formUnion(fresh.lazy.map(\.event.id))
                } else {
                    stored = try await self.storeEvents(batch.events[...], batch: batch, on: connection)
                }
                for letter in batch.deadLetters + stored.rejected {
                    try await self.insertDeadLetter(letter, batch: batch, on: connection)
                }
                let derived = try derive(Self.firstOccurrences(batch.events, among: stored.insertedIDs))
                if let derived {
                    try await self.storeDerived(derived, pipeline: batch.pipeline, on: connection)
                }
                try await self.storeGaps(batch, on: connection)
                try await self.storeProgress(batch, on: connection)
                if let derived { try await self.storeKeptTails(derived, batch: batch, on: connection) }
                return BatchOutcome(
                    inserted: stored.insertedIDs.count,
                    duplicates: batch.events.count - stored.insertedIDs.count - stored.conflicting - stored.rejected.count,
                    conflictingDuplicates: stored.conflicting, deadLetters: batch.deadLetters.count,
                    rejected: stored.rejected.count)
            }
        } catch {
            throw StoreError.wrapping(error, while: "committing a batch", pipeline: batch.pipeline)
        }
    }

    /// COPYs the batch's fresh events straight into `headcount.events`, under a savepoint.
    ///
    /// Returns false, with nothing stored, when PostgreSQL reports one of their ids as already
    /// stored (an id the worker had forgotten, or one from another partition): the caller then
    /// stores every event of the batch through the staging table, which handles that case.
    /// Any other refusal is thrown, for the batch isolation of `commit(_:derive:)`.
    private func copyFresh(_ batch: EventBatch, on connection: PostgresConnection) async throws -> Bool {
        guard batch.freshEventCount > 0 else { return true }
        try await connection.query("SAVEPOINT fresh", logger: logger)
        do {
            // copyFrom quotes the table name whole; the schema comes from the search path,
            // set for this transaction only.
            try await connection.query("SET LOCAL search_path TO headcount", logger: logger)
            try await copyRows(batch.events[..<batch.freshEventCount], into: "events", columns: CopyText.columns, on: connection)
            try await connection.query("RELEASE SAVEPOINT fresh", logger: logger)
            return true
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            try await connection.query("ROLLBACK TO SAVEPOINT fresh", logger: logger)
            try await connection.query("RELEASE SAVEPOINT fresh", logger: logger)
            logger.debug("a fresh event id was already stored; storing the batch through staging")
            return false
        }
    }

    /// One COPY of events in the text format, in one write.
    private func copyRows(
        _ events: ArraySlice<PositionedEvent>, into table: String, columns: [String]? = nil, on connection: PostgresConnection
    ) async throws {
        try await connection.copyFrom(table: table, columns: columns ?? [], logger: logger) { writer in
            // One write: PostgresNIO 1.33 loses a COPY whose writer is waiting for the channel
            // to drain when the server dies (the wait's promise is dropped and the transaction
            // never ends). Only a later write can wait; the first finds the channel idle.
            var buffer = ByteBuffer()
            buffer.reserveCapacity(events.count * 128)
            for positioned in events { CopyText.appendRow(positioned, to: &buffer) }
            try await writer.write(buffer)
        }
    }

    /// What storing a slice of a batch's events did.
    struct EventSliceOutcome {
        var insertedIDs = Set<String>()
        var conflicting = 0
        var rejected: [DeadLetterMessage] = []
    }

    /// Stores a slice of events inside a savepoint; when PostgreSQL refuses it, rolls the
    /// savepoint back and tries each half, down to the single events it refuses.
    private func storeIsolating(
        _ events: ArraySlice<PositionedEvent>, batch: EventBatch, on connection: PostgresConnection,
        into outcome: inout EventSliceOutcome
    ) async throws {
        guard !events.isEmpty else { return }
        try await connection.query("SAVEPOINT isolate", logger: logger)
        do {
            let stored = try await storeEvents(events, batch: batch, isolating: true, on: connection)
            try await connection.query("RELEASE SAVEPOINT isolate", logger: logger)
            outcome.insertedIDs.formUnion(stored.insertedIDs)
            outcome.conflicting += stored.conflicting
        } catch let error as PSQLError where StoreError.wrapping(error, while: "isolating").isDataRefusal {
            // Only a refusal of the data blames the events; a timeout or a lost connection
            // fails the whole attempt.
            try await connection.query("ROLLBACK TO SAVEPOINT isolate", logger: logger)
            try await connection.query("RELEASE SAVEPOINT isolate", logger: logger)
            guard events.count > 1 else {
                let event = events[events.startIndex]
                let reason = error.serverInfo?[.message] ?? "refused"
                outcome.rejected.append(DeadLetterMessage(
                    partition: event.partition, offset: event.offset, eventID: event.event.id,
                    rejection: EventRejection(.rejectedByDatabase, "PostgreSQL refused the event: \(reason)"),
                    raw: Array(CanonicalEvent.encode(event.event).utf8)))
                return
            }
            let middle = events.startIndex + events.count / 2
            try await storeIsolating(events[..<middle], batch: batch, on: connection, into: &outcome)
            try await storeIsolating(events[middle...], batch: batch, on: connection, into: &outcome)
        }
    }

    private func storeEvents(
        _ events: ArraySlice<PositionedEvent>, batch: EventBatch, isolating: Bool = false, on connection: PostgresConnection
    ) async throws -> EventSliceOutcome {
        guard !events.isEmpty else { return EventSliceOutcome() }
        let inserted = try await insertEvents(events, isolating: isolating, on: connection)
        // Only an id this batch did not insert can belong to a stored event with other content.
        let candidates = Set(events.map(\.event.id)).subtracting(inserted)
        let conflicting = candidates.isEmpty ? 0 : try await deadLetterConflicts(batch, candidates: Array(candidates), on: connection)
        return EventSliceOutcome(insertedIDs: inserted, conflicting: conflicting)
    }

    /// The first event of each id in Kafka order (the one `INSERT … DISTINCT ON` stores),
    /// kept when its id was inserted by this batch.
    static func firstOccurrences(_ events: [PositionedEvent], among inserted: Set<String>) -> [PositionedEvent] {
        guard !inserted.isEmpty else { return [] }
        var seen = Set<String>()
        let ordered = events.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        return ordered.filter { inserted.contains($0.event.id) && seen.insert($0.event.id).inserted }
    }

    /// Locks the batch's partitions and their progress rows and checks that they still say
    /// what this worker last saw. Only the batch's own rows: consumers of other partitions must
    /// not wait for this transaction.
    private func checkFence(_ batch: EventBatch, on connection: PostgresConnection) async throws {
        // A partition's first batch has no progress row to lock yet; a transaction-scoped
        // advisory lock per partition serialises those too, so a retry whose earlier attempt
        // is still committing (its connection closed by the watchdog mid-COMMIT) waits for
        // it and is then fenced, instead of storing beside it. Taken in partition order
        // (`progress` is sorted), so two batches cannot deadlock on them.
        // Read to the end: a lock wait cut short by the statement timeout reports its error
        // only with the rows.
        for try await _ in try await connection.query(
            """
            SELECT pg_advisory_xact_lock(hashtext(\("headcount.partition:" + batch.pipeline + "/" + batch.topic)), k)
            FROM unnest(\(batch.progress.map(\.partition))::int[]) WITH ORDINALITY AS p(k, n) ORDER BY n
            """, logger: logger) {}
        var stored: [Int32: Int64] = [:]
        let rows = try await connection.query(
            """
            SELECT kafka_partition, next_offset FROM headcount.partition_progress
            WHERE pipeline = \(batch.pipeline) AND topic = \(batch.topic)
              AND kafka_partition = ANY(\(batch.progress.map(\.partition))::int[])
            FOR UPDATE
            """, logger: logger)
        for try await (partition, offset) in rows.decode((Int32, Int64).self) { stored[partition] = offset }
        for progress in batch.progress where stored[progress.partition] != progress.expectedNextOffset {
            throw StoreError(
                .fenced,
                "partition \(progress.partition) of \(batch.topic) is at offset \(stored[progress.partition].map(String.init) ?? "none") in the store, this batch expected \(progress.expectedNextOffset.map(String.init) ?? "none")")
        }
    }

    private func insertEvents(
        _ events: ArraySlice<PositionedEvent>, isolating: Bool, on connection: PostgresConnection
    ) async throws -> Set<String> {
        // A temporary table lives as long as the pooled connection; ON COMMIT DELETE ROWS
        // empties it after every batch, so each connection creates it once.
        try await connection.query(
            """
            CREATE TEMPORARY TABLE IF NOT EXISTS event_staging (
                id text, pipeline text, type text, participant text, session text,
                at timestamptz, source text, kafka_partition integer, kafka_offset bigint
            ) ON COMMIT DELETE ROWS
            """, logger: logger)
        // Isolating a rejected batch stages it piece by piece in one transaction, so each
        // piece empties the table first; otherwise ON COMMIT DELETE ROWS already has.
        if isolating { try await connection.query("TRUNCATE event_staging", logger: logger) }
        try await copyRows(events, into: "event_staging", on: connection)
        // A temporary table is never analysed automatically: without statistics the planner
        // may join it to headcount.events by scanning the whole table instead of probing the
        // primary key, a cost that grows with every event stored.
        try await connection.query("ANALYZE event_staging", logger: logger)
        // The first version of an id in Kafka order stands (COUNTING.md section 1); later
        // ones with other content are dead-lettered by `deadLetterConflicts`.
        let rows = try await connection.query(
            """
            WITH inserted AS (
                INSERT INTO headcount.events (id, pipeline, type, participant, session, at, source, kafka_partition, kafka_offset)
                SELECT DISTINCT ON (id) id, pipeline, type, participant, session, at, source, kafka_partition, kafka_offset
                FROM event_staging ORDER BY id, kafka_partition, kafka_offset
                ON CONFLICT (id) DO NOTHING
                RETURNING id
            )
            SELECT id FROM inserted
            """, logger: logger)
        var inserted = Set<String>()
        for try await id in rows.decode(String.self) { inserted.insert(id) }
        return inserted
    }

    private func deadLetterConflicts(
        _ batch: EventBatch, candidates: [String], on connection: PostgresConnection
    ) async throws -> Int {
        let rows = try await connection.query(
            """
            WITH conflicts AS (
                INSERT INTO headcount.dead_letters (pipeline, topic, kafka_partition, kafka_offset, event_id, reason, message, raw)
                SELECT s.pipeline, \(batch.topic), s.kafka_partition, s.kafka_offset, s.id, 'conflicting_duplicate',
                       'same id as the event stored from partition ' || e.kafka_partition || ' offset ' || e.kafka_offset || ', different content',
                       convert_to(json_build_object('id', s.id, 'pipeline', s.pipeline, 'type', s.type, 'participant', s.participant,
                           'session', s.session, 'at', to_char(s.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                           'source', s.source)::text, 'UTF8')
                FROM event_staging s JOIN headcount.events e ON e.id = s.id
                WHERE s.id = ANY(\(candidates)::text[])
                  AND (e.pipeline, e.type, e.participant, e.session, e.at)
                      IS DISTINCT FROM (s.pipeline, s.type, s.participant, s.session, s.at)
                ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
                RETURNING 1
            )
            SELECT count(*) FROM conflicts
            """, logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    private func insertDeadLetter(_ letter: DeadLetterMessage, batch: EventBatch, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO headcount.dead_letters (pipeline, topic, kafka_partition, kafka_offset, event_id, reason, message, raw)
            VALUES (\(batch.pipeline), \(batch.topic), \(letter.partition), \(letter.offset), \(letter.eventID),
                    \(letter.rejection.reason.rawValue), \(letter.rejection.message), \(ByteBuffer(bytes: letter.raw)))
            ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
            """, logger: logger)
    }

    private func storeGaps(_ batch: EventBatch, on connection: PostgresConnection) async throws {
        for gap in batch.gaps {
            try await connection.query(
                """
                INSERT INTO headcount.retention_gaps (pipeline, topic, kafka_partition, first_missing_offset, last_missing_offset)
                VALUES (\(batch.pipeline), \(batch.topic), \(gap.partition), \(gap.firstMissingOffset), \(gap.lastMissingOffset))
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    private func storeProgress(_ batch: EventBatch, on connection: PostgresConnection) async throws {
        guard !batch.progress.isEmpty else { return }
        // One statement for every partition of the batch: a consumer's batch spans many.
        try await connection.query(
            """
            INSERT INTO headcount.partition_progress (pipeline, topic, kafka_partition, next_offset, max_event_at, updated_at)
            SELECT \(batch.pipeline), \(batch.topic), k, o, NULLIF(m, '')::timestamptz, COALESCE(\(batch.processedAt?.rfc3339)::timestamptz, now())
            FROM unnest(\(batch.progress.map(\.partition))::int[], \(batch.progress.map(\.nextOffset))::bigint[],
                        \(batch.progress.map { $0.maxEventAt?.rfc3339 ?? "" })::text[]) AS p(k, o, m)
            ON CONFLICT (pipeline, topic, kafka_partition) DO UPDATE SET
                next_offset = EXCLUDED.next_offset,
                max_event_at = GREATEST(partition_progress.max_event_at, EXCLUDED.max_event_at),
                updated_at = EXCLUDED.updated_at
            """, logger: logger)
    }
}

extension EventStore {
    /// Where the tails kept on each partition's presence rows begin, after the batch's progress
    /// row exists: the reporter reads kept tails only of partitions where this lies behind it.
    fileprivate func storeKeptTails(_ derived: DerivedPresence, batch: EventBatch, on connection: PostgresConnection) async throws {
        guard !derived.keptTailsFrom.isEmpty else { return }
        let partitions = derived.keptTailsFrom.keys.sorted()
        try await connection.query(
            """
            UPDATE headcount.partition_progress SET kept_tails_from = NULLIF(t, \(Self.noInstant))
            FROM unnest(\(partitions)::int[], \(partitions.map { (derived.keptTailsFrom[$0] ?? nil) ?? Self.noInstant })::bigint[]) AS k(p, t)
            WHERE pipeline = \(batch.pipeline) AND topic = \(batch.topic) AND kafka_partition = k.p
            """, logger: logger)
    }
}

/// What a batch's newly stored events change beyond the events themselves: given the first
/// event of each id that the batch stores for the first time, in Kafka order, the presence
/// and contributions they imply (the worker's counting engine), or nil for none.
///
/// Runs inside the batch's transaction, between its statements, at most once per attempt
/// (the events it is given are known only there): pure computation, no I/O and no waiting,
/// since the transaction's idle timeout runs meanwhile. When the attempt then fails, whatever
/// state the derivation advanced is ahead of the store, and its owner must drop it.
public typealias PresenceDerivation = ([PositionedEvent]) throws -> DerivedPresence?

/// PostgreSQL's COPY text format: tab-separated columns, backslash escapes.
///
/// `package`: the ingest benchmark writes the very same rows for its raw COPY baseline.
package enum CopyText {
    /// The columns of `headcount.events` a row fills, in order; `stored_at` takes its default.
    package static let columns = ["id", "pipeline", "type", "participant", "session", "at", "source", "kafka_partition", "kafka_offset"]

    package static func appendRow(_ positioned: PositionedEvent, to buffer: inout ByteBuffer) {
        let event = positioned.event
        appendField(event.id, to: &buffer)
        appendField(event.pipeline, to: &buffer)
        buffer.writeString(event.type.rawValue)
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendField(event.participant, to: &buffer)
        appendField(event.session, to: &buffer)
        buffer.writeString(event.at.rfc3339)
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendField(event.source, to: &buffer)
        buffer.writeString(String(positioned.partition))
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(String(positioned.offset))
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// Writes one text column and its tab, escaping what COPY would read as structure.
    static func appendField(_ text: String, to buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { bytes in
            // Almost every field has nothing to escape: then it goes in as one copy.
            guard bytes.contains(where: needsEscape) else {
                buffer.writeBytes(bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\t"))
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }
}
