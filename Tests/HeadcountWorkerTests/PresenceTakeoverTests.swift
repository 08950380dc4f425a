import HeadcountCore
import HeadcountPipeline
import HeadcountStore
import HeadcountTestSupport
import Logging
import Testing

@testable import HeadcountReporter
@testable import HeadcountWorker

/// A partition changes owner while its previous owner still commits a batch of it (a batch
/// finishing after its revoke, a zombie thawed from SIGSTOP, a retry once PostgreSQL is back).
/// The new owner's counting engine must then hold exactly the stored events as of the offset
/// its batches continue from, or its derived rows are differences from a state nobody stored
/// and the reporter's two sums part: the qualified set (`qualification_changes`) and the tally
/// (`bucket_contributions`), "unsealable: N qualified participants for qualified = N+1".
///
/// Real PostgreSQL, no Kafka: the two consumers' `PresenceKeeper`s store hand-made batches in
/// the order a rebalance can interleave them.
@Suite("Worker: a partition's new owner derives from the stored state", .serialized, .timeLimit(.minutes(2)))
struct PresenceTakeoverTests {
    static let logger = Logger(label: "test.takeover")

    static func pipeline() throws -> Pipeline {
        try Pipeline.parse(yaml: """
            id: takeover-test
            window:
              start: 2025-09-20T09:00:00Z
              end: 2025-09-20T09:10:00Z
            rules:
              bucket: 60s
              reconnectGrace: 10s
              minimumPresence: 2m
            kafka:
              topic: takeover
              partitions: 2
            """, file: "takeover-test.yaml")
    }

    /// A batch of `events` of one partition, its offsets continuing from `expected`.
    static func batch(_ pipeline: Pipeline, partition: Int32, from expected: Int64?, _ events: [Event]) -> EventBatch {
        let first = expected ?? 0
        let positioned = events.enumerated().map { PositionedEvent(event: $0.element, partition: partition, offset: first + Int64($0.offset)) }
        return EventBatch(
            pipeline: pipeline.id, topic: pipeline.kafka.topic, events: positioned, deadLetters: [],
            progress: [PartitionProgress(
                partition: partition, expectedNextOffset: expected, nextOffset: first + Int64(events.count),
                maxEventAt: events.map(\.at).max())])
    }

    @Test("the previous owner commits after the new owner first stored: the new owner reloads, both sums agree with the engine")
    func previousOwnerCommitsLate() async throws {
        let pipeline = try Self.pipeline()
        let start = pipeline.rules.windowStart.milliseconds
        @Sendable func event(_ id: String, _ type: EventType, _ participant: String, _ session: String, _ second: Int64) -> Event {
            Event(id: id, pipeline: pipeline.id, type: type, participant: participant, session: session,
                  at: Instant(milliseconds: start + second * 1000), source: "test")
        }
        // Partition 0: "qualifier" joins, leaves after 30 s, rejoins at 60 s: qualified in
        // bucket 2 (30 s + 90 s by 150 s). "leaver" joins and leaves after 30 s: never
        // qualified. Partition 1: "other", in the whole window.
        let first = [event("q1", .join, "qualifier", "s1", 0), event("q2", .leave, "qualifier", "s1", 30), event("l1", .join, "leaver", "s1", 0)]
        let late = [event("q3", .join, "qualifier", "s2", 60), event("l2", .leave, "leaver", "s1", 30)]
        // What the new owner polls next: news that changes nothing the stored events imply
        // (a heartbeat of the open session, a repeated leave), but would change an engine
        // without `late` (re-qualifying "qualifier", shortening "leaver").
        let next = [event("q4", .heartbeat, "qualifier", "s2", 90), event("l3", .leave, "leaver", "s1", 45)]

        try await TestDatabase.withStore { store, url in
            let previous = PresenceKeeper(rules: pipeline.rules, recentEventIDs: 100)
            let new = PresenceKeeper(rules: pipeline.rules, recentEventIDs: 100)
            _ = try await previous.store(Self.batch(pipeline, partition: 0, from: nil, first), in: store, owned: [0], logger: Self.logger)
            // The rebalance gives partition 0 to `new`, which stores a batch of its other
            // partition first, while `previous` still has a batch of partition 0 in flight.
            _ = try await new.store(
                Self.batch(pipeline, partition: 1, from: nil, [event("o1", .join, "other", "s1", 0)]), in: store, owned: [0, 1], logger: Self.logger)
            _ = try await previous.store(Self.batch(pipeline, partition: 0, from: 3, late), in: store, owned: [0], logger: Self.logger)
            // `new` read the stored offsets after that commit: its batch continues from 5.
            _ = try await new.store(Self.batch(pipeline, partition: 0, from: 5, next), in: store, owned: [0, 1], logger: Self.logger)

            try await Self.expectReporterAgrees(store: store, url: url, pipeline: pipeline)
        }
    }

    @Test("the new owner's batch continues from offsets the previous owner has since moved past: fenced before anything is derived")
    func batchBehindTheStore() async throws {
        let pipeline = try Self.pipeline()
        let start = pipeline.rules.windowStart.milliseconds
        let join = Event(id: "a1", pipeline: pipeline.id, type: .join, participant: "a", session: "s", at: Instant(milliseconds: start), source: "test")
        let leave = Event(id: "a2", pipeline: pipeline.id, type: .leave, participant: "a", session: "s", at: Instant(milliseconds: start + 200_000), source: "test")
        let again = Event(id: "a3", pipeline: pipeline.id, type: .leave, participant: "a", session: "s", at: Instant(milliseconds: start + 250_000), source: "test")
        try await TestDatabase.withStore { store, url in
            let previous = PresenceKeeper(rules: pipeline.rules, recentEventIDs: 100)
            let new = PresenceKeeper(rules: pipeline.rules, recentEventIDs: 100)
            _ = try await previous.store(Self.batch(pipeline, partition: 0, from: nil, [join]), in: store, owned: [0], logger: Self.logger)
            _ = try await previous.store(Self.batch(pipeline, partition: 0, from: 1, [leave]), in: store, owned: [0], logger: Self.logger)
            // `new` read offset 1 before the second commit, and polled the leave again.
            let error = await #expect(throws: StoreError.self) {
                try await new.store(Self.batch(pipeline, partition: 0, from: 1, [leave, again]), in: store, owned: [0], logger: Self.logger)
            }
            #expect(error?.code == .fenced)
            // After the resync it continues from the stored offset.
            new.reset()
            _ = try await new.store(Self.batch(pipeline, partition: 0, from: 2, [again]), in: store, owned: [0], logger: Self.logger)
            try await Self.expectReporterAgrees(store: store, url: url, pipeline: pipeline)
        }
    }

    /// What a reporter taking the lock now would seal: per bucket, the tally of the stored
    /// contributions and the qualified set from `presence` and `qualification_changes`,
    /// against the counting engine over every stored event.
    static func expectReporterAgrees(store: EventStore, url: DatabaseURL, pipeline: Pipeline) async throws {
        let rules = pipeline.rules
        let truth = BatchCount(events: try await store.events(pipeline: pipeline.id), rules: rules).buckets
        let reporter = try await SealingConnection.open(url: url, logger: logger)
        var feed = ContributionFeed(rules: rules)
        var qualified = QualifiedSet()
        let fence = try await reporter.contributionFence()
        let counts = try await reporter.withRound(pipeline: pipeline.id) { round in
            try await feed.advance(round, pipeline: pipeline.id, to: fence)
            try await qualified.advance(round, pipeline: pipeline.id, to: fence.qualifications)
            return (0..<rules.bucketCount).map { qualified.root(atEndOf: $0).count }
        }
        await reporter.close()
        let tally = feed.numbers()
        #expect(tally == truth, "the contributions sum to the counting engine's numbers")
        #expect(counts == truth.map(\.qualified), "the qualified set has as many members as the tally counts")
    }
}
