import HeadcountCore
import Testing

/// The numbers of COUNTING.md section 3 and the edges of section 1, by example.
@Suite struct BucketNumberTests {
    typealias Spec = (EventType, String, String, Int64)

    static func count(_ specs: [Spec], rules: CountingRules) -> BatchCount {
        BatchCount(events: specs.map { Fixture.event($0.0, $0.1, $0.2, $0.3) }, rules: rules)
    }

    static func table(_ count: BatchCount) -> [[Int]] {
        count.buckets.map { [$0.active, $0.peak, $0.unique, $0.qualified] }
    }

    @Test func activePeakUniqueQualified() {
        // 3 buckets of 60 s; A all along, B in bucket 1 only, C on two devices in bucket 2.
        let rules = Fixture.rules(window: 180, minimum: 90)
        let count = Self.count([
            (.join, "A", "a", 0), (.join, "B", "b", 70), (.leave, "B", "b", 100),
            (.join, "C", "c1", 130), (.join, "C", "c2", 135), (.leave, "C", "c1", 150),
        ], rules: rules)
        #expect(Self.table(count) == [[1, 1, 1, 0], [2, 2, 2, 1], [2, 2, 3, 1]])
        #expect(count.outcome == CountOutcome(qualified: 1, peak: 2, sustainedPeak: 2))
        #expect(count.qualifiedParticipants(atEndOf: 0) == [])
        #expect(count.qualifiedParticipants(atEndOf: 1) == ["A"])
    }

    @Test func peakIsOverInstantsOfTheHalfOpenBucket() {
        // A leaves at 30 exactly when B arrives: never two at once. C ends at 60, D starts at 60.
        let rules = Fixture.rules(window: 120, grace: 0)
        let count = Self.count([
            (.join, "A", "a", 0), (.leave, "A", "a", 30), (.join, "B", "b", 30), (.leave, "B", "b", 50),
            (.join, "C", "c", 55), (.leave, "C", "c", 60), (.join, "D", "d", 60), (.leave, "D", "d", 90),
        ], rules: rules)
        #expect(count.buckets.map(\.peak) == [1, 1])
        #expect(count.buckets.map(\.active) == [3, 1])
    }

    @Test func lastBucketIsCutAtTheWindowEnd() {
        let rules = Fixture.rules(window: 150)
        #expect(rules.bucketCount == 3)
        let count = Self.count([(.join, "A", "a", 140)], rules: rules)
        #expect(count.buckets.map(\.bucketStart) == [Fixture.at(0), Fixture.at(60), Fixture.at(120)])
        #expect(Self.table(count) == [[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]])
        #expect(count.presence(of: "A").intervals == [PresenceInterval(from: Fixture.ms(140), to: Fixture.ms(150))])
    }

    @Test func qualifiedWithQZeroIsUnique() {
        let rules = Fixture.rules(window: 180, minimum: 0)
        let count = Self.count([(.join, "A", "a", 10), (.leave, "A", "a", 11), (.join, "B", "b", 100), (.join, "C", "c", 30), (.leave, "C", "c", 30)], rules: rules)
        #expect(count.buckets.map(\.unique) == count.buckets.map(\.qualified))
        #expect(count.buckets.map(\.qualified) == [1, 2, 2])
    }

    @Test func qualificationCountsPresenceAcrossPiecesUpToTheBucketEnd() {
        // 20 s + 20 s (gap ≥ G): qualified (Q = 30 s) once the second piece reaches 10 s, at 130 s.
        let rules = Fixture.rules(window: 240, minimum: 30)
        let count = Self.count([(.join, "A", "a", 10), (.leave, "A", "a", 30), (.join, "A", "a", 120), (.leave, "A", "a", 140)], rules: rules)
        #expect(count.buckets.map(\.qualified) == [0, 0, 1, 1])
        #expect(count.qualifiedBucket(of: "A") == 2)
    }

    @Test func qualificationExactlyAtABucketEndCountsInThatBucket() {
        let rules = Fixture.rules(window: 180, minimum: 60)
        let count = Self.count([(.join, "A", "a", 0), (.leave, "A", "a", 70)], rules: rules)
        #expect(count.buckets.map(\.qualified) == [1, 1, 1])
    }

    @Test func conflictingDuplicatesAreReportedAndTheFirstStands() {
        let rules = Fixture.rules()
        let first = Fixture.event(.join, "A", "a", 10, id: "x")
        var retry = first
        retry.source = "zoom"  // provenance, not content
        var conflict = first
        conflict.at = Fixture.at(20)
        let count = BatchCount(events: [first, retry, conflict], rules: rules)
        #expect(count.duplicateEvents == 1)
        #expect(count.conflictingDuplicates.map(\.index) == [2])
        #expect(Fixture.seconds(count.presence(of: "A")) == [[10, 600]])
        // Arrival order decides which one stands.
        let reversed = BatchCount(events: [conflict, first], rules: rules)
        #expect(Fixture.seconds(reversed.presence(of: "A")) == [[20, 600]])
        var incremental = IncrementalCount(rules: rules)
        _ = incremental.ingest([first])
        let outcome = incremental.ingest([retry, conflict])
        #expect(outcome.duplicateEvents == 1)
        #expect(outcome.deadLetters.map(\.rejection.reason) == [.conflictingDuplicate])
    }

    @Test func eventsBeyondADayAreDeadLettersAndWinNoID() {
        let rules = Fixture.rules()
        let far = Fixture.event(.join, "A", "a", -86_401, id: "x")
        let near = Fixture.event(.join, "A", "a", 5, id: "x")
        let edge = Fixture.event(.join, "B", "b", -86_400)
        let count = BatchCount(events: [far, near, edge], rules: rules)
        #expect(count.deadLetters.map(\.index) == [0])
        #expect(count.deadLetters[0].rejection.reason == .impossibleTimestamp)
        #expect(count.conflictingDuplicates.isEmpty)
        #expect(Fixture.seconds(count.presence(of: "A")) == [[5, 600]])
        #expect(Fixture.seconds(count.presence(of: "B")) == [[0, 600]])
    }
}
