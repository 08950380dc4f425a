import HeadcountCertificate
import HeadcountCore
@testable import HeadcountReporter
import HeadcountStore
import HeadcountTestSupport
import PostgresNIO
import Testing

/// The reporter's qualified set, advanced by `qualification_changes` rows read under the
/// fence, gives every bucket the same participants and root as reading them from scratch.
@Suite("Reporter: qualified set kept incrementally", .serialized, .timeLimit(.minutes(2)))
struct QualifiedSetTests {
    typealias Support = ReporterSupport
    typealias Feed = ContributionFeedTests

    @Test("every bucket's root equals the root from scratch: takeover, removals, moves, rows committed out of seq order")
    func incrementalRootsEqualScratch() async throws {
        try await TestDatabase.withStore { _, url in
            let pipeline = try Support.pipeline(topic: "qualified").id
            let writer = Writer(pipeline: pipeline)
            let early = try await Feed.connect(url, id: 31), late = try await Feed.connect(url, id: 32)
            let reporter = try await SealingConnection.open(url: url, logger: Support.logger)
            var set = QualifiedSet()

            // Stored before the reporter takes the lock: read from `presence` once. Two keys
            // that are canonically equivalent but different bytes are two participants.
            for (participant, bucket) in [("alice", 0), ("bob", 2), ("e\u{301}", 1), ("\u{e9}", 3), ("zed", nil)] as [(String, Int?)] {
                try await writer.qualify(participant, bucket, on: late)
            }
            try await Self.round(reporter, &set, pipeline: pipeline, buckets: 0...1)

            // `early` draws the lower seqs and commits after `late`; the fence must wait for it.
            try await early.query("BEGIN", logger: Support.logger)
            try await writer.qualify("carol", 1, on: early)
            try await writer.qualify("alice", nil, on: early)  // a late leave: alice leaves the roots
            try await writer.qualify("dave", 2, on: late)
            let fence = try await Feed.fenceCommitting(early, observer: late, reporter: reporter)
            // Committed after the fence, before the snapshot: read now and again next round.
            try await writer.qualify("erin", 0, on: late)
            try await Self.round(reporter, &set, pipeline: pipeline, buckets: 2...3, fence: fence)

            // Re-entering, a member removed, a member moved earlier, one moved past the
            // bucket being sealed (it leaves, then re-enters), a newcomer further on.
            try await writer.qualify("alice", 4, on: late)
            try await writer.qualify("bob", nil, on: late)
            try await writer.qualify("\u{e9}", 1, on: late)
            try await writer.qualify("carol", 7, on: late)
            try await writer.qualify("zed", 5, on: late)
            try await Self.round(reporter, &set, pipeline: pipeline, buckets: 4...5)
            try await Self.round(reporter, &set, pipeline: pipeline, buckets: 6...8)
            #expect(set.members.count == 7, "alice, carol, dave, both e-acutes, erin, zed")
            for connection in [early, late] { try await connection.close() }
            await reporter.close()
        }
    }

    @Test("merging newcomers and removals into the sorted leaves agrees with a tree from scratch (random)")
    func randomChanges() {
        var generator = SystemRandomNumberGenerator()
        var set = QualifiedSet()
        var truth: [String: Int] = [:]
        for bucket in 0..<40 {
            for _ in 0..<Int.random(in: 0...30, using: &generator) {
                let participant = "p\(Int.random(in: 0..<200, using: &generator))"
                let qualified: Int? = Bool.random(using: &generator) ? Int.random(in: 0..<45, using: &generator) : nil
                truth[participant] = qualified
                set.record(participant, qualified)
            }
            let root = set.root(atEndOf: bucket)
            let scratch = truth.compactMap { $0.value <= bucket ? $0.key : nil }
            #expect(root.rootHex == MerkleTree(participants: scratch).rootHex, "bucket \(bucket)")
            #expect(root.count == scratch.count)
        }
    }

    /// One round: advance under a fence, then each bucket's root against the one built from
    /// the participants `presence` qualifies in the same snapshot.
    static func round(
        _ reporter: SealingConnection, _ set: inout QualifiedSet, pipeline: String, buckets: ClosedRange<Int>,
        fence given: ContributionFence? = nil
    ) async throws {
        var fence = given ?? .origin
        if given == nil { fence = try await reporter.contributionFence() }
        try await reporter.withRound(pipeline: pipeline) { round in
            try await set.advance(round, pipeline: pipeline, to: fence.qualifications)
            for bucket in buckets {
                let root = set.root(atEndOf: bucket)
                let scratch = try await round.qualifiedParticipants(pipeline: pipeline, atEndOf: bucket)
                #expect(root.rootHex == MerkleTree(participants: scratch).rootHex, "bucket \(bucket)")
                #expect(root.count == scratch.count, "bucket \(bucket)")
                #expect(set.members.map { Array($0.utf8) } == scratch.map { Array($0.utf8) }, "bucket \(bucket)")
            }
        }
        #expect(set.fence == max(fence.qualifications, set.fence ?? 0))
    }

    /// Writes a participant's qualification as a worker's batch does: presence first, then
    /// the change row.
    struct Writer {
        let pipeline: String

        func qualify(_ participant: String, _ bucket: Int?, on connection: PostgresConnection) async throws {
            let stored = bucket.map(Int32.init)
            try await connection.query(
                """
                INSERT INTO headcount.presence (pipeline, participant, kafka_partition, intervals, unique_bucket, qualified_bucket)
                VALUES (\(pipeline), \(participant), 0, '{}', \(stored), \(stored))
                ON CONFLICT (pipeline, participant) DO UPDATE SET qualified_bucket = EXCLUDED.qualified_bucket
                """, logger: Support.logger)
            try await connection.query(
                "INSERT INTO headcount.qualification_changes (pipeline, participant, qualified_bucket) VALUES (\(pipeline), \(participant), \(stored))",
                logger: Support.logger)
        }
    }
}
