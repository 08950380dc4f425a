import HeadcountCertificate
import HeadcountCore
import Testing

/// The hash chain of COUNTING.md section 5: exact bytes hashed, links, signatures, sealing rules.
@Suite struct SnapshotChainTests {
    static let root = String(repeating: "a", count: 64)
    static let previous = String(repeating: "b", count: 64)

    /// Pinned with `printf '%s' TEXT | sha256sum`, so the hashed bytes cannot drift unnoticed.
    /// Spec v1 (certificates issued before sustained_peak): nine keys, as it always was.
    @Test func hashesExactlyTheNineKeysOfSpecV1() throws {
        let numbers = BucketNumbers(bucket: 0, bucketStart: Fixture.start, active: 3, peak: 2, sustainedPeak: 1, unique: 3, qualified: 1)
        let payload = SnapshotPayload(
            pipeline: "demo-2025", numbers: numbers, participantsRoot: Self.root, prevHash: Self.previous, spec: .v1)
        let text = try payload.json.canonicalText()
        #expect(text == #"{"active":3,"bucket":0,"bucket_start":"2025-09-20T02:00:00.000Z","participants_root":"\#(Self.root)","peak":2,"pipeline":"demo-2025","prev_hash":"\#(Self.previous)","qualified":1,"unique":3}"#)
        #expect(payload.hash == "320e81cbde2067658c398c78284fed31367aad447ba83e37ea2de30ed07bca5c")
        #expect(payload.numbers.sustainedPeak == 0)
    }

    /// Spec v2: the same keys plus `sustained_peak` (COUNTING.md v2, section 5).
    @Test func hashesExactlyTheTenKeysOfSpecV2() throws {
        let numbers = BucketNumbers(bucket: 0, bucketStart: Fixture.start, active: 3, peak: 2, sustainedPeak: 1, unique: 3, qualified: 1)
        let payload = SnapshotPayload(pipeline: "demo-2025", numbers: numbers, participantsRoot: Self.root, prevHash: Self.previous)
        let text = try payload.json.canonicalText()
        #expect(text == #"{"active":3,"bucket":0,"bucket_start":"2025-09-20T02:00:00.000Z","participants_root":"\#(Self.root)","peak":2,"pipeline":"demo-2025","prev_hash":"\#(Self.previous)","qualified":1,"sustained_peak":1,"unique":3}"#)
        #expect(payload.hash == "5ffeedbcbfa76d2555e258907e9b8811d7554f01c2bbd4624fee58af951f7fa5")
        #expect(try SnapshotPayload(json: payload.json) == payload)
    }

    @Test func bindsTheRulesIntoTheGenesisHash() throws {
        let pipeline = try Fixture().pipeline
        #expect(pipeline.genesisHash == "d9cb178571498f57c39500065877835c3b44195f2077754dc422f63663965f5f")
        #expect(try PipelineCanonicalForm(json: pipeline.json) == pipeline)
        // The v1 object of the same rules is the one v1 certificates were issued with.
        let v1 = PipelineCanonicalForm(id: pipeline.id, title: pipeline.title, rules: pipeline.rules, spec: .v1)
        #expect(v1.genesisHash == "7d6952ad438f05b29ae4e0eee55a114aaa74b2aa876d0d46dec7d2a80996c13d")
        #expect(try PipelineCanonicalForm(json: v1.json) == v1)
        let base = pipeline.rules
        let variants: [CountingRules] = [
            try CountingRules(windowStart: base.windowStart, windowEnd: base.windowEnd + .seconds(1), bucket: base.bucket,
                              reconnectGrace: base.reconnectGrace, minimumPresence: base.minimumPresence, allowedLateness: base.allowedLateness),
            try CountingRules(windowStart: base.windowStart, windowEnd: base.windowEnd, bucket: .seconds(30),
                              reconnectGrace: base.reconnectGrace, minimumPresence: base.minimumPresence, allowedLateness: base.allowedLateness),
            try CountingRules(windowStart: base.windowStart, windowEnd: base.windowEnd, bucket: base.bucket,
                              reconnectGrace: .seconds(31), minimumPresence: base.minimumPresence, allowedLateness: base.allowedLateness),
            Fixture.rules(minimumPresence: .seconds(91)),
            try CountingRules(windowStart: base.windowStart, windowEnd: base.windowEnd, bucket: base.bucket,
                              reconnectGrace: base.reconnectGrace, minimumPresence: base.minimumPresence,
                              heartbeatTimeout: .seconds(45), allowedLateness: base.allowedLateness),
            try CountingRules(windowStart: base.windowStart, windowEnd: base.windowEnd, bucket: base.bucket,
                              reconnectGrace: base.reconnectGrace, minimumPresence: base.minimumPresence, allowedLateness: .seconds(61)),
            try CountingRules(windowStart: base.windowStart, windowEnd: base.windowEnd, bucket: base.bucket,
                              reconnectGrace: base.reconnectGrace, minimumPresence: base.minimumPresence,
                              allowedLateness: base.allowedLateness, sustainedPeak: .seconds(11)),
        ]
        var seen: Set<String> = [pipeline.genesisHash]
        for rules in variants {
            seen.insert(PipelineCanonicalForm(id: pipeline.id, title: pipeline.title, rules: rules).genesisHash)
        }
        seen.insert(PipelineCanonicalForm(id: "other", title: pipeline.title, rules: base).genesisHash)
        seen.insert(PipelineCanonicalForm(id: pipeline.id, title: "other", rules: base).genesisHash)
        #expect(seen.count == variants.count + 3)
    }

    @Test func linksEverySnapshotToThePreviousOne() throws {
        let fixture = try Fixture()
        let snapshots = fixture.chain.snapshots
        #expect(snapshots.count == fixture.pipeline.rules.bucketCount)
        #expect(snapshots[0].payload.prevHash == fixture.pipeline.genesisHash)
        for (m, snapshot) in snapshots.enumerated() {
            #expect(snapshot.payload.numbers == fixture.count.buckets[m])
            #expect(snapshot.hash == snapshot.payload.hash)
            if m > 0 { #expect(snapshot.payload.prevHash == snapshots[m - 1].hash) }
            #expect(fixture.signingKey.publicKey.isValidSignature(snapshot.signature, forHash: snapshot.hash))
            #expect(!Fixture.key(2).publicKey.isValidSignature(snapshot.signature, forHash: snapshot.hash))
            let qualified = fixture.count.qualifiedParticipants(atEndOf: m)
            #expect(snapshot.payload.participantsRoot == MerkleTree(participants: qualified).rootHex)
        }
        #expect(fixture.chain.headHash == snapshots.last?.hash)
    }

    @Test func continuesAChainAfterARestart() throws {
        let fixture = try Fixture()
        let sealed = Array(fixture.chain.snapshots.prefix(2))
        var resumed = try SnapshotChain(pipeline: fixture.pipeline, signingKey: fixture.signingKey, continuing: sealed)
        #expect(resumed.nextBucket == 2)
        try resumed.sealAll(fixture.count.buckets, participants: fixture.count.qualifiedParticipantList)
        #expect(resumed.snapshots.map(\.payload) == fixture.chain.snapshots.map(\.payload))
        #expect(throws: CertificateError.self) {
            try SnapshotChain(pipeline: fixture.pipeline, signingKey: Fixture.key(2), continuing: sealed)
        }
    }

    @Test func refusesSnapshotsTheVerifierWouldReject() throws {
        let fixture = try Fixture()
        let buckets = fixture.count.buckets
        var chain = try SnapshotChain(pipeline: fixture.pipeline, signingKey: fixture.signingKey)
        func expectRefused(_ numbers: BucketNumbers, root: String = Self.root) {
            #expect(throws: CertificateError.self, "\(numbers)") { try chain.seal(numbers, participantsRoot: root) }
        }
        expectRefused(buckets[1])
        var shifted = buckets[0]
        shifted.bucketStart = shifted.bucketStart + .seconds(1)
        expectRefused(shifted)
        var overPeak = buckets[0]
        overPeak.peak = overPeak.active + 1
        expectRefused(overPeak)
        expectRefused(buckets[0], root: "not-hex")
        try chain.seal(buckets[0], qualifiedParticipants: fixture.count.qualifiedParticipants(atEndOf: 0))
        var shrinking = buckets[1]
        shrinking.unique = buckets[0].unique - 1
        shrinking.active = min(shrinking.active, shrinking.unique)
        shrinking.peak = min(shrinking.peak, shrinking.active)
        shrinking.qualified = min(shrinking.qualified, shrinking.unique)
        if buckets[0].unique > 0 { expectRefused(shrinking) }
        #expect(throws: CertificateError.self) {
            try chain.seal(buckets[1], qualifiedParticipants: ["only-one"] + fixture.count.qualifiedParticipants(atEndOf: 1))
        }
        #expect(chain.nextBucket == 1)
    }
}
