import HeadcountCertificate
import HeadcountCore
import Testing

/// A decrease of unique or qualified is certified exactly when an amendment of the previous
/// bucket explains it (docs/certificate.md, "Decreases").
@Suite struct DecreaseTests {
    static let start = Instant(rfc3339: "2025-09-20T02:00:00Z")!

    static func numbers(_ m: Int, unique: Int, qualified: Int) -> BucketNumbers {
        BucketNumbers(bucket: m, bucketStart: start + .seconds(60 * Int64(m)), active: 0, peak: 0, unique: unique, qualified: qualified)
    }

    @Test func aDecreaseNeedsAnAmendmentOfThePreviousBucketThatItDoesNotGoBelow() {
        let certified = Self.numbers(4, unique: 10, qualified: 8)
        let next = Self.numbers(5, unique: 9, qualified: 6)
        #expect(SnapshotChain.unexplainedDecrease(next, after: certified, corrections: [])?.contains("no amendment of bucket 4") == true)
        #expect(SnapshotChain.unexplainedDecrease(next, after: certified, corrections: [Self.numbers(4, unique: 9, qualified: 6)]) == nil)
        #expect(SnapshotChain.unexplainedDecrease(next, after: certified, corrections: [Self.numbers(4, unique: 9, qualified: 7)]) != nil,
                "below the correction")
        // unique and qualified must both hold against the same standing.
        let mixed = [Self.numbers(4, unique: 9, qualified: 8), Self.numbers(4, unique: 10, qualified: 6)]
        #expect(SnapshotChain.unexplainedDecrease(next, after: certified, corrections: mixed) != nil)
        #expect(SnapshotChain.unexplainedDecrease(Self.numbers(5, unique: 10, qualified: 8), after: certified, corrections: []) == nil)
    }

    @Test func theChainSealsAnExplainedDecreaseAndRefusesAnUnexplainedOne() throws {
        let fixture = try Fixture()
        let buckets = fixture.count.buckets
        var chain = try SnapshotChain(pipeline: fixture.pipeline, signingKey: fixture.signingKey)
        try chain.sealAll(Array(buckets.prefix(3)), participants: fixture.count.qualifiedParticipantList)
        var lower = buckets[3]
        lower.unique = buckets[2].unique - 1
        lower.qualified = min(lower.qualified, lower.unique)
        lower.active = min(lower.active, lower.unique)
        lower.peak = min(lower.peak, lower.active)
        lower.sustainedPeak = min(lower.sustainedPeak, lower.peak)
        let root = String(repeating: "a", count: 64)
        #expect(throws: CertificateError.self) { try chain.seal(lower, participantsRoot: root) }
        var corrected = buckets[2]
        corrected.unique = lower.unique
        corrected.qualified = lower.qualified
        chain.amend(corrected)
        try chain.seal(lower, participantsRoot: root)
        // A restart continues the chain only with the amendments it was sealed under.
        #expect(throws: CertificateError.self) {
            try SnapshotChain(pipeline: fixture.pipeline, signingKey: fixture.signingKey, continuing: chain.snapshots)
        }
        let resumed = try SnapshotChain(
            pipeline: fixture.pipeline, signingKey: fixture.signingKey, continuing: chain.snapshots, corrections: chain.corrections)
        #expect(resumed.nextBucket == 4)
    }

    @Test func participantsLeavingAndReenteringTheRoots() {
        let list = QualifiedParticipant.sorted([
            QualifiedParticipant(key: "a", bucket: 1),
            QualifiedParticipant(key: "b", bucket: 0, changes: [2, 4]),
            QualifiedParticipant(key: "c", bucket: 1, changes: [3]),
        ])
        #expect((0..<6).map { QualifiedParticipant.keys(in: list, atEndOf: $0) } == [
            ["b"], ["a", "b", "c"], ["a", "c"], ["a"], ["a", "b"], ["a", "b"],
        ])
        let roots = QualifiedParticipant.roots(of: list, bucketCount: 6)
        for m in 0..<6 {
            #expect(roots[m] == MerkleTree(participants: QualifiedParticipant.keys(in: list, atEndOf: m)).rootHex)
        }
    }
}
