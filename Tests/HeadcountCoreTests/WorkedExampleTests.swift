import HeadcountCore
import Testing

/// The worked example of docs/counting.md, checked against both forms of the engine.
@Suite struct WorkedExampleTests {
    static let rules = try! CountingRules(
        windowStart: Instant(rfc3339: "2025-09-20T09:00:00Z")!, windowEnd: Instant(rfc3339: "2025-09-20T09:05:00Z")!,
        minimumPresence: .seconds(120))

    static let events: [Event] = [
        ("join", "ana", "laptop", "08:58:00"), ("leave", "budi", "web", "09:02:00"),
        ("leave", "ana", "laptop", "09:02:00"), ("join", "budi", "web", "09:01:30"),
        ("join", "ana", "phone", "09:02:30"), ("join", "budi", "web", "09:03:00"),
        ("join", "citra", "zoom", "09:04:20"), ("leave", "citra", "zoom", "09:04:50"),
        ("leave", "ana", "phone", "09:06:00"), ("leave", "dewi", "web", "09:03:00"),
    ].enumerated().map { index, row in
        Event(id: "e\(index + 1)", pipeline: "example", type: EventType(rawValue: row.0)!, participant: row.1,
              session: row.2, at: Instant(rfc3339: "2025-09-20T\(row.3)Z")!, source: "canonical")
    }

    /// active, peak, sustained peak (S = 10 s), unique, qualified.
    static let expected: [[Int]] = [[1, 1, 1, 1, 0], [2, 2, 2, 2, 1], [1, 1, 1, 2, 1], [2, 2, 2, 2, 1], [3, 3, 3, 3, 2]]

    @Test func batchFormMatchesTheDocumentedTable() {
        let count = BatchCount(events: Self.events, rules: Self.rules)
        #expect(count.buckets.map { [$0.active, $0.peak, $0.sustainedPeak, $0.unique, $0.qualified] } == Self.expected)
        #expect(count.outcome == CountOutcome(qualified: 2, peak: 3, sustainedPeak: 3))
        #expect(count.presence(of: "budi").intervals.map(\.description) == [
            "[2025-09-20T09:01:30.000Z, 2025-09-20T09:02:00.000Z)", "[2025-09-20T09:03:00.000Z, 2025-09-20T09:05:00.000Z)",
        ])
        #expect(count.presence(of: "dewi").isEmpty)
        #expect(count.qualifiedParticipants(atEndOf: 4) == ["ana", "budi"])
    }

    @Test func incrementalFormEventByEventMatchesToo() {
        var count = IncrementalCount(rules: Self.rules)
        for event in Self.events { _ = count.ingest([event]) }
        #expect(count.buckets(atOrBelow: Self.rules.windowEnd).map { [$0.active, $0.peak, $0.sustainedPeak, $0.unique, $0.qualified] } == Self.expected)
        #expect(count.buckets(atOrBelow: Instant(rfc3339: "2025-09-20T09:02:59.999Z")!).count == 2)
    }
}
