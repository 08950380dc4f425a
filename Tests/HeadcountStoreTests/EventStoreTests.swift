import HeadcountCore
import HeadcountStore
import HeadcountTestSupport
import Testing

@Suite("PostgreSQL event store", .serialized, .timeLimit(.minutes(3)))
struct EventStoreTests {
    static func event(_ id: String, _ type: EventType = .join, participant: String = "p1", at: Int64 = 1_000) -> Event {
        Event(id: id, pipeline: "pipe", type: type, participant: participant, session: "s1",
              at: Instant(milliseconds: 1_758_333_600_000 + at), source: "test")
    }

    static func batch(_ events: [Event], partition: Int32 = 0, from first: Int64, expected: Int64?, dead: [DeadLetterMessage] = []) -> EventBatch {
        let positioned = events.enumerated().map { PositionedEvent(event: $1, partition: partition, offset: first + Int64($0)) }
        let next = first + Int64(events.count + dead.count)
        return EventBatch(
            pipeline: "pipe", topic: "topic", events: positioned, deadLetters: dead,
            progress: [PartitionProgress(partition: partition, expectedNextOffset: expected, nextOffset: next,
                                         maxEventAt: events.map(\.at).max())])
    }

    @Test("migrations are idempotent and safe to run concurrently")
    func migrations() async throws {
        try await TestDatabase.withStore { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await store.migrate() } }
                try await group.waitForAll()
            }
            #expect(try await store.eventCount(pipeline: "pipe") == 0)
        }
    }

    @Test("a batch stores events once, offsets with them, duplicates and conflicts apart")
    func commitBatch() async throws {
        try await TestDatabase.withStore { store, _ in
            let first = try await store.commit(Self.batch([Self.event("a"), Self.event("b"), Self.event("a")], from: 0, expected: nil))
            #expect(first == BatchOutcome(inserted: 2, duplicates: 1, conflictingDuplicates: 0, deadLetters: 0))
            #expect(try await store.storedOffsets(pipeline: "pipe", topic: "topic") == [0: 3])

            // A retried webhook (same content) and a conflicting one (same id, other time).
            let conflicting = Self.event("b", at: 9_999)
            let second = try await store.commit(Self.batch([Self.event("a"), conflicting, Self.event("c", .leave)], from: 3, expected: 3))
            #expect(second == BatchOutcome(inserted: 1, duplicates: 1, conflictingDuplicates: 1, deadLetters: 0))
            #expect(try await store.eventCount(pipeline: "pipe") == 3)
            #expect(try await store.deadLettersByReason(pipeline: "pipe") == ["conflicting_duplicate": 1])
            let stored = try await store.events(pipeline: "pipe").first { $0.id == "b" }
            #expect(stored?.at == Self.event("b").at, "the first version accepted stands")
        }
    }

    @Test("a batch from a worker left behind by a rebalance is fenced and stores nothing")
    func fencing() async throws {
        try await TestDatabase.withStore { store, _ in
            _ = try await store.commit(Self.batch([Self.event("a")], from: 0, expected: nil))
            await #expect(throws: StoreError.self) {
                _ = try await store.commit(Self.batch([Self.event("z")], from: 0, expected: nil))
            }
            #expect(try await store.eventCount(pipeline: "pipe") == 1)
            #expect(try await store.storedOffsets(pipeline: "pipe", topic: "topic") == [0: 1])
        }
    }

    @Test("dead letters keep the raw bytes and the reason; text with tabs and newlines survives COPY")
    func deadLettersAndEscaping() async throws {
        try await TestDatabase.withStore { store, _ in
            let letter = DeadLetterMessage(partition: 0, offset: 1, eventID: nil,
                                    rejection: EventRejection(.malformedJSON, "expected a JSON object at byte 1"),
                                    raw: Array("not json\u{0}".utf8))
            var odd = Self.event("tab\tnew\nline\\back")
            odd.participant = "Ибрагим\tх"
            let outcome = try await store.commit(Self.batch([odd], from: 0, expected: nil, dead: [letter]))
            #expect(outcome.deadLetters == 1)
            #expect(try await store.events(pipeline: "pipe") == [odd])
            #expect(try await store.deadLettersByReason(pipeline: "pipe") == ["malformed_json": 1])
        }
    }

    /// A batch whose first `fresh` events the worker believes new (`EventBatch.freshEventCount`).
    static func freshBatch(_ events: [Event], fresh: Int, partition: Int32 = 0, from first: Int64, expected: Int64?) -> EventBatch {
        var batch = batch(events, partition: partition, from: first, expected: expected)
        batch.freshEventCount = fresh
        return batch
    }

    @Test("fresh events are COPYed straight in; repeats behind them still deduplicate and conflict")
    func freshEvents() async throws {
        try await TestDatabase.withStore { store, _ in
            let first = try await store.commit(Self.freshBatch([Self.event("a"), Self.event("b"), Self.event("a")], fresh: 2, from: 0, expected: nil))
            #expect(first == BatchOutcome(inserted: 2, duplicates: 1, conflictingDuplicates: 0, deadLetters: 0))
            let second = try await store.commit(Self.freshBatch(
                [Self.event("c"), Self.event("b", at: 9_999), Self.event("c")], fresh: 1, from: 3, expected: 3))
            #expect(second == BatchOutcome(inserted: 1, duplicates: 1, conflictingDuplicates: 1, deadLetters: 0))
            #expect(try await store.eventCount(pipeline: "pipe") == 3)
            #expect(try await store.storedOffsets(pipeline: "pipe", topic: "topic") == [0: 6])
        }
    }

    @Test("a fresh event whose id is already stored sends the whole batch through the careful path")
    func freshHintWrong() async throws {
        try await TestDatabase.withStore { store, _ in
            _ = try await store.commit(Self.batch([Self.event("a"), Self.event("b")], partition: 1, from: 0, expected: nil))
            // The worker of partition 0 never saw "a" or "b": one is a retry of the same
            // content, the other a conflicting reuse of the id by another participant.
            let hinted = Self.freshBatch(
                [Self.event("x"), Self.event("a"), Self.event("b", participant: "p2"), Self.event("y")], fresh: 4,
                from: 0, expected: nil)
            let outcome = try await store.commit(hinted)
            #expect(outcome == BatchOutcome(inserted: 2, duplicates: 1, conflictingDuplicates: 1, deadLetters: 0))
            #expect(try await store.eventCount(pipeline: "pipe") == 4)
            #expect(try await store.storedOffsets(pipeline: "pipe", topic: "topic") == [0: 4, 1: 2])
            #expect(try await store.deadLettersByReason(pipeline: "pipe") == ["conflicting_duplicate": 1])
        }
    }

    @Test("a fresh event PostgreSQL refuses is isolated and dead-lettered; the rest of the batch is stored")
    func freshRejected() async throws {
        try await TestDatabase.withStore { store, _ in
            var poisoned = Self.event("p")
            poisoned.session = "tab-\u{0}-nul"
            let outcome = try await store.commit(Self.freshBatch([Self.event("a"), poisoned, Self.event("b")], fresh: 3, from: 0, expected: nil))
            #expect(outcome.inserted == 2)
            #expect(outcome.rejected == 1)
            #expect(try await store.deadLettersByReason(pipeline: "pipe") == ["rejected_by_database": 1])
            #expect(try await store.storedOffsets(pipeline: "pipe", topic: "topic") == [0: 3])
        }
    }

    @Test("a bad database URL is a clear configuration error without the password")
    func badURL() {
        #expect(throws: StoreError.self) { try DatabaseURL("mysql://x@y/z") }
        let url = try? DatabaseURL("postgres://u:secret@h:5433/db")
        #expect(url?.description == "postgres://u@h:5433/db")
        #expect(url?.port == 5433)
    }
}
