import HeadcountCore
import HeadcountSimulation
import PropertyBased
import Testing

/// `sustained_peak` (COUNTING.md v2, section 3) at its edges, and against the literal
/// reading of the definition (every window start checked at millisecond resolution).
@Suite struct SustainedPeakTests {
    /// Rules in milliseconds after t0, with S given.
    static func rules(window: Int64, bucket: Int64, sustained: Int64, grace: Int64 = 0) -> CountingRules {
        try! CountingRules(
            windowStart: Fixture.t0, windowEnd: Fixture.t0 + .milliseconds(window), bucket: .milliseconds(bucket),
            reconnectGrace: .milliseconds(grace), allowedLateness: .seconds(120), sustainedPeak: .milliseconds(sustained))
    }

    /// One session per (from, to) pair in milliseconds after t0, each its own participant
    /// unless `participant` names one.
    static func events(_ pieces: [(Int64, Int64)], participant: String? = nil) -> [Event] {
        pieces.enumerated().flatMap { index, piece in
            let who = participant ?? "p\(index)"
            return [EventType.join, .leave].map { type in
                let at = type == .join ? piece.0 : piece.1
                return Event(
                    id: "\(who)/\(index)/\(type.rawValue)", pipeline: "test", type: type, participant: who,
                    session: "s\(index)", at: Fixture.t0 + .milliseconds(at), source: "test")
            }
        }
    }

    static func sustained(_ pieces: [(Int64, Int64)], _ rules: CountingRules, participant: String? = nil) -> [Int] {
        BatchCount(events: events(pieces, participant: participant), rules: rules).buckets.map(\.sustainedPeak)
    }

    @Test func aPieceExactlySLongCountsOnceAndOneMillisecondLessNever() {
        let rules = Self.rules(window: 180_000, bucket: 60_000, sustained: 10_000)
        #expect(Self.sustained([(20_000, 30_000)], rules) == [1, 0, 0])
        #expect(Self.sustained([(20_000, 29_999)], rules) == [0, 0, 0])
        // Its only window starts at 55 s, in bucket 0, and runs into bucket 1.
        #expect(Self.sustained([(55_000, 65_000)], rules) == [1, 0, 0])
        // Two participants whose S-periods never coincide: the best period holds one.
        #expect(Self.sustained([(0, 10_000), (5_000, 15_000)], rules) == [1, 0, 0])
        #expect(Self.sustained([(0, 15_000), (5_000, 15_000)], rules) == [2, 0, 0])
    }

    @Test func piecesEndingAtTheWindowEndAndTheLastShortBucket() {
        // 150 s: buckets [0,60), [60,120), [120,150); the last is 30 s long.
        let rules = Self.rules(window: 150_000, bucket: 60_000, sustained: 10_000)
        #expect(Self.sustained([(140_000, 150_000)], rules) == [0, 0, 1])
        #expect(Self.sustained([(140_001, 150_000)], rules) == [0, 0, 0])
        // A session left open runs to the end: every start up to end − S counts.
        let open = [Fixture.event(.join, "A", "a", 130)]
        #expect(BatchCount(events: open, rules: rules).buckets.map(\.sustainedPeak) == [0, 0, 1])
        // Presence after the end is clipped, so it cannot complete a period.
        #expect(Self.sustained([(145_000, 200_000)], rules) == [0, 0, 0])
        // A window whose last bucket is shorter than S has no start there.
        let tiny = Self.rules(window: 125_000, bucket: 60_000, sustained: 10_000)
        #expect(Self.sustained([(0, 125_000)], tiny) == [1, 1, 0])
    }

    @Test func sEqualToTheBucket() {
        let rules = Self.rules(window: 180_000, bucket: 60_000, sustained: 60_000)
        #expect(Self.sustained([(30_000, 90_000)], rules) == [1, 0, 0])
        #expect(Self.sustained([(60_000, 120_000)], rules) == [0, 1, 0])
        #expect(Self.sustained([(60_000, 180_000), (0, 179_000)], rules) == [1, 2, 1])
    }

    @Test func gapsBridgedByTheGraceAreOnePiece() {
        let bridged = Self.rules(window: 60_000, bucket: 60_000, sustained: 10_000, grace: 1_000)
        #expect(Self.sustained([(0, 5_000), (5_500, 10_000)], bridged, participant: "A") == [1])
        let broken = Self.rules(window: 60_000, bucket: 60_000, sustained: 10_000, grace: 500)
        #expect(Self.sustained([(0, 5_000), (5_500, 10_000)], broken, participant: "A") == [0])
    }

    @Test func bucketWaitsForPresenceUpToItsEndPlusS() {
        let rules = Self.rules(window: 150_000, bucket: 60_000, sustained: 10_000)
        let t0 = Fixture.t0
        #expect(IncrementalCount.sealableBucketCount(rules: rules, watermark: t0 + .milliseconds(69_999)) == 0)
        #expect(IncrementalCount.sealableBucketCount(rules: rules, watermark: t0 + .milliseconds(70_000)) == 1)
        #expect(IncrementalCount.sealableBucketCount(rules: rules, watermark: t0 + .milliseconds(130_000)) == 2)
        // The last bucket waits for min(E + S, end) = end.
        #expect(IncrementalCount.sealableBucketCount(rules: rules, watermark: t0 + .milliseconds(149_999)) == 2)
        #expect(IncrementalCount.sealableBucketCount(rules: rules, watermark: t0 + .milliseconds(150_000)) == 3)
        // Why it must wait: a leave at 62 s (after E_0, before E_0 + S) takes bucket 0's period away.
        var count = IncrementalCount(rules: rules)
        _ = count.ingest(Self.events([(55_000, 62_000)]).filter { $0.type == .join })
        let early = count.buckets(atOrBelow: t0 + .milliseconds(150_000))
        _ = count.ingest(Self.events([(55_000, 62_000)]).filter { $0.type == .leave })
        #expect(early.first?.sustainedPeak == 1)
        #expect(count.buckets(atOrBelow: t0 + .milliseconds(70_000)).map(\.sustainedPeak) == [0])
    }

    @Test func defaultIsTenSecondsOrTheBucket() throws {
        let minute = try CountingRules(windowStart: Fixture.t0, windowEnd: Fixture.t0 + .seconds(600))
        #expect(minute.sustainedPeak == .seconds(10))
        let short = try CountingRules(windowStart: Fixture.t0, windowEnd: Fixture.t0 + .seconds(600), bucket: .seconds(5))
        #expect(short.sustainedPeak == .seconds(5))
        #expect(throws: CountingRulesError.self) {
            try CountingRules(windowStart: Fixture.t0, windowEnd: Fixture.t0 + .seconds(600), sustainedPeak: .seconds(61))
        }
        #expect(throws: CountingRulesError.self) {
            try CountingRules(windowStart: Fixture.t0, windowEnd: Fixture.t0 + .seconds(600), sustainedPeak: .zero)
        }
    }

    /// Random pieces on a tiny window: the engine against every window start, ms by ms.
    @Test func agreesWithEveryWindowStartOnRandomPieces() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...Int.max)) { seed in
            var rng = SplitMix64(seed: UInt64(seed))
            let window = rng.inRange(5...300)
            let bucket = rng.inRange(1...window)
            let rules = Self.rules(
                window: window, bucket: bucket, sustained: rng.inRange(1...bucket), grace: rng.chance(0.5) ? 0 : rng.inRange(1...20))
            let pieces = (0..<rng.inRange(0...8)).map { _ -> (Int64, Int64) in
                let from = rng.inRange(-10...window)
                return (from, from + rng.inRange(1...window))
            }
            let participants = (0..<pieces.count).map { _ in "p\(rng.below(4))" }
            let events = zip(pieces, participants).enumerated().flatMap { index, pair in
                Self.events([pair.0]).map { event in
                    var event = event
                    event.id = "\(index)/\(event.id)"
                    event.participant = pair.1
                    event.session = "s\(index)"
                    return event
                }
            }
            let reference = ReferenceCount(events: events, rules: rules)
            let batch = BatchCount(events: events, rules: rules)
            #expect(batch.buckets.map(\.sustainedPeak) == reference.numbers.map(\.sustainedPeak), "seed \(seed)")
            #expect(batch.buckets.allSatisfy { $0.sustainedPeak <= $0.peak }, "seed \(seed)")
        }
    }
}
