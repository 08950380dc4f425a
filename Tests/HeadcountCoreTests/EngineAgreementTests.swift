import HeadcountCore
import HeadcountSimulation
import PropertyBased
import Testing

/// Both forms of the engine, the contribution arithmetic and a per-millisecond reference
/// must agree on thousands of random scenarios with repeats, conflicts, shuffles and splits.
@Suite struct EngineAgreementTests {
    /// Checks one scenario completely; returns nothing, records issues.
    static func check(seed: UInt64) {
        let scenario = RandomScenario(seed: seed)
        let rules = scenario.rules
        let reference = ReferenceCount(events: scenario.events, rules: rules)
        let batch = BatchCount(events: scenario.events, rules: rules)
        let expected = reference.numbers.map { [$0.active, $0.peak, $0.sustainedPeak, $0.unique, $0.qualified] }
        let actual = batch.buckets.map { [$0.active, $0.peak, $0.sustainedPeak, $0.unique, $0.qualified] }
        #expect(actual == expected, "batch vs reference, seed \(seed)")
        #expect(batch.conflictingDuplicates.count == reference.conflicting, "seed \(seed)")
        for participant in batch.participants {
            let want = reference.intervals(of: participant, start: rules.windowStart.milliseconds)
            #expect(batch.presence(of: participant).intervals == want, "presence of \(participant), seed \(seed)")
        }
        for m in 0..<rules.bucketCount {
            #expect(batch.qualifiedParticipants(atEndOf: m) == reference.qualifiedSets[m], "qualified set \(m), seed \(seed)")
        }
        checkContributions(batch: batch, rules: rules, seed: seed)
        checkIncremental(scenario: scenario, batch: batch, seed: seed)
    }

    /// Summing every participant's contribution gives the batch numbers.
    static func checkContributions(batch: BatchCount, rules: CountingRules, seed: UInt64) {
        var tally = BucketTally(rules: rules)
        for participant in batch.participants {
            tally.add(PresenceContribution(presence: batch.presence(of: participant), rules: rules))
        }
        #expect(tally.numbers() == batch.buckets, "contributions, seed \(seed)")
    }

    /// Random batch splits into the incremental form; after every batch, every sealable
    /// bucket matches a batch count of the events so far, and the deltas sum up too.
    static func checkIncremental(scenario: RandomScenario, batch: BatchCount, seed: UInt64) {
        var rng = SplitMix64(seed: seed, stream: 7)
        let rules = scenario.rules
        var incremental = IncrementalCount(rules: rules)
        var upstream = IncrementalCount(rules: rules, deduplication: .upstream)
        var fromDeltas = BucketTally(rules: rules)
        // What a worker writes when it keeps some tails on presence rows (chosen at random
        // here, as event time would): the rows plus the kept tails must be the whole.
        var rows = BucketTally(rules: rules)
        var kept: [ExactKey: ContributionTail] = [:]
        var tails = SplitMix64(seed: seed, stream: 11)
        var seen: [Event] = []
        var conflicting = 0
        for part in RandomScenario.batches(scenario.events, &rng) {
            let outcome = incremental.ingest(part)
            conflicting += outcome.deadLetters.filter { $0.rejection.reason == .conflictingDuplicate }.count
            for change in outcome.changes {
                fromDeltas.apply(change.delta)
                let old = PresenceContribution(presence: change.old, rules: rules)
                let new = PresenceContribution(presence: change.new, rules: rules)
                // Keys compare byte for byte, as the engine's (and the keeper's) do.
                let key = ExactKey(change.participant)
                #expect(kept[key] == nil || kept[key] == old.tail, "seed \(seed)")
                let keep = new.tail != nil && tails.chance(0.6)
                rows.apply(ContributionDelta(from: kept[key] != nil ? old.withoutTail : old, to: keep ? new.withoutTail : new))
                kept[key] = keep ? new.tail : nil
            }
            // Some kept tails go into the rows without any change of presence.
            for (participant, tail) in kept where tails.chance(0.3) {
                rows.apply(tail.delta())
                kept[participant] = nil
            }
            var whole = rows
            for tail in kept.values { whole.apply(tail.delta()) }
            #expect(whole.numbers() == fromDeltas.numbers(), "rows + kept tails vs whole deltas, seed \(seed)")
            // The upstream form gets exactly what the in-memory ledger accepted.
            let rejected = Set(outcome.deadLetters.map(\.index))
            _ = upstream.ingest(part.enumerated().filter { !rejected.contains($0.offset) }.map(\.element))
            seen += part
            let watermark = rules.windowStart + .milliseconds(rng.inRange(-5...(rules.windowEnd.milliseconds - rules.windowStart.milliseconds + 5)))
            let sealable = incremental.buckets(atOrBelow: watermark)
            let sofar = BatchCount(events: seen, rules: rules)
            #expect(sealable == Array(sofar.buckets.prefix(sealable.count)), "incremental vs batch so far, seed \(seed)")
            #expect(sealable.count == IncrementalCount.sealableBucketCount(rules: rules, watermark: watermark))
        }
        #expect(incremental.buckets(atOrBelow: rules.windowEnd) == batch.buckets, "incremental, seed \(seed)")
        #expect(upstream.buckets(atOrBelow: rules.windowEnd) == batch.buckets, "upstream, seed \(seed)")
        #expect(fromDeltas.numbers() == batch.buckets, "deltas, seed \(seed)")
        #expect(conflicting == batch.conflictingDuplicates.count, "seed \(seed)")
        for m in 0..<rules.bucketCount {
            #expect(incremental.qualifiedParticipants(atEndOf: m) == batch.qualifiedParticipants(atEndOf: m))
        }
        for participant in batch.participants {
            #expect(incremental.presence(of: participant) == batch.presence(of: participant), "seed \(seed)")
        }
    }

    @Test func agreeOnThreeThousandSeededScenarios() {
        for seed in 0..<3000 { Self.check(seed: UInt64(seed)) }
    }

    @Test func agreeOnPropertyBasedSeeds() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...Int.max)) { seed in
            Self.check(seed: UInt64(seed))
        }
    }

    /// A simulated webinar (realistic shapes, not tiny windows): batch and incremental agree,
    /// and so does the sum of per-participant deltas.
    @Test func agreeOnASimulatedWebinar() {
        let rules = try! CountingRules(
            windowStart: Fixture.t0, windowEnd: Fixture.t0 + .seconds(3600), minimumPresence: .seconds(900),
            heartbeatTimeout: .seconds(90))
        let simulator = AttendeeSimulator(rules: rules, pipelineID: "test", participants: 400, seed: 42)
        let events = simulator.events()
        let batch = BatchCount(events: events, rules: rules)
        var incremental = IncrementalCount(rules: rules)
        var fromDeltas = BucketTally(rules: rules)
        var rng = SplitMix64(seed: 9)
        for part in RandomScenario.batches(events, &rng) {
            for change in incremental.ingest(part).changes { fromDeltas.apply(change.delta) }
        }
        #expect(incremental.buckets(atOrBelow: rules.windowEnd) == batch.buckets)
        #expect(fromDeltas.numbers() == batch.buckets)
        #expect(batch.outcome.qualified > 300)
        #expect(!batch.conflictingDuplicates.isEmpty || events.count < 5000)
    }

    /// Event-by-event ingestion replaces records thousands of times, so the arena is compacted
    /// many times over; presence and numbers must come through unchanged.
    @Test func survivesArenaCompaction() {
        let rules = try! CountingRules(windowStart: Fixture.t0, windowEnd: Fixture.t0 + .seconds(3600), heartbeatTimeout: .seconds(90))
        let events = AttendeeSimulator(rules: rules, pipelineID: "test", participants: 60, seed: 5).events()
        var incremental = IncrementalCount(rules: rules)
        for event in events { _ = incremental.ingest([event]) }
        let batch = BatchCount(events: events, rules: rules)
        #expect(incremental.buckets(atOrBelow: rules.windowEnd) == batch.buckets)
        for participant in batch.participants {
            #expect(incremental.presence(of: participant) == batch.presence(of: participant))
        }
        incremental.compactMemory()
        #expect(incremental.memoryBreakdown.first { $0.part.contains("garbage") }?.bytes == 0)
        #expect(incremental.qualifiedParticipants(atEndOf: rules.bucketCount - 1) == batch.qualifiedParticipants(atEndOf: rules.bucketCount - 1))
    }
}
