@testable import HeadcountCore
import HeadcountSimulation
import Testing

@Suite struct ReportAndEncodingTests {
    @Test func jsonHasTheDocumentedShape() {
        let rules = Fixture.rules(window: 90)
        let count = BatchCount(events: [Fixture.event(.join, "A", "a", 10)], rules: rules)
        let report = CountReport(pipeline: "demo", count: count)
        #expect(report.json() == """
            {"pipeline": "demo", "buckets": [{"bucket": 0, "bucket_start": "2025-09-20T02:00:00.000Z", "active": 1, "peak": 1, "sustained_peak": 1, "unique": 1, "qualified": 1}, \
            {"bucket": 1, "bucket_start": "2025-09-20T02:01:00.000Z", "active": 1, "peak": 1, "sustained_peak": 1, "unique": 1, "qualified": 1}], \
            "result": {"qualified": 1, "peak": 1, "sustained_peak": 1}, "conflicting_duplicates": 0}
            """)
        #expect(report.table().contains("result: qualified 1, peak 1, sustained peak 1"))
    }

    @Test func recordsRoundTripMarksOfEveryShape() {
        var rng = SplitMix64(seed: 1)
        let origin: Int64 = 1_758_333_600_000 * 4
        for _ in 0..<200 {
            var record = ParticipantRecord(key: Array("participant-é".utf8))
            for s in 0..<rng.inRange(0...4) {
                var marks = Set<Int64>()
                for _ in 0..<rng.inRange(1...50) { marks.insert(origin + rng.inRange(-400_000_000...400_000_000)) }
                record.sessions.append(.init(key: Array("s\(s)".utf8), marks: marks.sorted().map(SessionMark.init(rawValue:))))
            }
            let decoded = ParticipantRecord(decoding: record.encoded(origin: origin), origin: origin)
            #expect(decoded.key == record.key)
            #expect(decoded.sessions.map(\.marks) == record.sessions.map(\.marks))
            #expect(decoded.sessions.map(\.key) == record.sessions.map(\.key))
        }
    }

    @Test func contributionDeltasCancelExactly() {
        let rules = Fixture.rules(window: 600, minimum: 60)
        let old = Presence(normalized: [PresenceInterval(from: Fixture.ms(10), to: Fixture.ms(100))])
        let new = Presence(normalized: [PresenceInterval(from: Fixture.ms(10), to: Fixture.ms(250))])
        let delta = ContributionDelta(from: old, to: new, rules: rules)
        #expect(delta.active == [ActiveChange(buckets: 2..<5, delta: 1)])
        #expect(delta.peak == [PeakChange(at: Fixture.ms(100), delta: 1), PeakChange(at: Fixture.ms(250), delta: -1)])
        #expect(delta.unique.isEmpty && delta.qualified.isEmpty)
        #expect(ContributionDelta(from: new, to: new, rules: rules).isEmpty)
    }
}

@Suite struct SimulatorTests {
    static let rules = try! CountingRules(
        windowStart: Fixture.t0, windowEnd: Fixture.t0 + .seconds(7200), minimumPresence: .seconds(1800))

    @Test func sameSeedSameEventsAndChunksMatchTheWhole() {
        let simulator = AttendeeSimulator(rules: Self.rules, pipelineID: "sim", participants: 300, seed: 7)
        let whole = simulator.events()
        #expect(whole == simulator.events())
        let chunked = simulator.chunks(ofParticipants: 64).flatMap { $0 }
        #expect(Set(chunked.map(CanonicalEvent.encode)) == Set(whole.map(CanonicalEvent.encode)))
        #expect(chunked.count == whole.count)
        #expect(AttendeeSimulator(rules: Self.rules, pipelineID: "sim", participants: 300, seed: 8).events() != whole)
    }

    @Test func producesTheBehavioursItPromises() {
        let simulator = AttendeeSimulator(rules: Self.rules, pipelineID: "sim", participants: 2000, seed: 3)
        let events = simulator.events()
        let start = Self.rules.windowStart, end = Self.rules.windowEnd
        #expect(events.contains { $0.at < start })
        #expect(events.contains { $0.at > end })
        #expect(events.contains { $0.type == .heartbeat })
        #expect(events.contains { $0.session == "orphan" })
        let count = BatchCount(events: events, rules: Self.rules)
        #expect(count.duplicateEvents > 0)
        #expect(!count.conflictingDuplicates.isEmpty)
        let multiDevice = Dictionary(grouping: events, by: \.participant).values.filter { Set($0.map(\.session)).count >= 3 }
        #expect(!multiDevice.isEmpty)
        let outcome = count.outcome
        #expect(outcome.qualified > 1000 && outcome.qualified < 2000)
        #expect(outcome.peak > 1000 && outcome.peak <= 2000)
    }
}
