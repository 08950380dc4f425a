import HeadcountCore
import Testing

/// One table row per rule of COUNTING.md section 2; times are seconds after the window start.
@Suite struct PresenceRuleTests {
    struct Row: Sendable, CustomStringConvertible {
        var name: String
        var events: [(EventType, String, Int64)]  // type, session, seconds
        var expected: [[Int64]]
        var timeout: Int64? = nil
        var description: String { name }
    }

    static let rows: [Row] = [
        Row(name: "join then leave", events: [(.join, "a", 10), (.leave, "a", 100)], expected: [[10, 100]]),
        Row(name: "join and leave at the same instant give nothing", events: [(.leave, "a", 50), (.join, "a", 50)], expected: []),
        Row(name: "leave arriving before its join", events: [(.leave, "a", 100), (.join, "a", 10)], expected: [[10, 100]]),
        Row(name: "the same session rejoining", events: [(.join, "a", 10), (.leave, "a", 100), (.join, "a", 300), (.leave, "a", 400)],
            expected: [[10, 100], [300, 400]]),
        Row(name: "a second join on an open session changes nothing", events: [(.join, "a", 10), (.join, "a", 20), (.leave, "a", 30)],
            expected: [[10, 30]]),
        Row(name: "three devices are one person", events: [(.join, "a", 10), (.leave, "a", 100), (.join, "b", 50), (.leave, "b", 200), (.join, "c", 190), (.leave, "c", 300)],
            expected: [[10, 300]]),
        Row(name: "a gap of exactly G is not bridged", events: [(.join, "a", 0), (.leave, "a", 100), (.join, "a", 160), (.leave, "a", 200)],
            expected: [[0, 100], [160, 200]]),
        Row(name: "a gap shorter than G is bridged", events: [(.join, "a", 0), (.leave, "a", 100), (.join, "b", 159), (.leave, "b", 200)],
            expected: [[0, 200]]),
        Row(name: "orphan leaves are ignored", events: [(.leave, "a", 50), (.join, "a", 100), (.leave, "a", 150), (.leave, "a", 160)],
            expected: [[100, 150]]),
        Row(name: "heartbeat-only session stays open to the end without H", events: [(.heartbeat, "a", 10), (.heartbeat, "a", 40)],
            expected: [[10, 600]]),
        Row(name: "heartbeat-only session closes at last news + H", events: [(.heartbeat, "a", 10), (.heartbeat, "a", 40), (.heartbeat, "a", 70)],
            expected: [[10, 160]], timeout: 90),
        Row(name: "H closes an open session after its last join", events: [(.join, "a", 0), (.heartbeat, "a", 30)], expected: [[0, 120]], timeout: 90),
        Row(name: "H does not apply between events: a late leave still closes", events: [(.join, "a", 0), (.leave, "a", 500)],
            expected: [[0, 500]], timeout: 90),
        Row(name: "a leave between heartbeats is reopened by the next one", events: [(.heartbeat, "a", 0), (.heartbeat, "a", 30), (.heartbeat, "a", 200), (.leave, "a", 31)],
            expected: [[0, 31], [200, 290]], timeout: 90),
        Row(name: "before the start only", events: [(.join, "a", -100), (.leave, "a", -50)], expected: []),
        Row(name: "across the start is clipped", events: [(.join, "a", -100), (.leave, "a", 30)], expected: [[0, 30]]),
        Row(name: "across the end is clipped", events: [(.join, "a", 590), (.leave, "a", 700)], expected: [[590, 600]]),
        Row(name: "a rejoin after the end bridges nothing", events: [(.join, "a", 0), (.leave, "a", 599), (.join, "a", 605), (.leave, "a", 700)],
            expected: [[0, 599]]),
        Row(name: "a piece before the start bridges nothing", events: [(.join, "a", -100), (.leave, "a", -1), (.join, "a", 10), (.leave, "a", 20)],
            expected: [[10, 20]]),
        Row(name: "heartbeat on a closed session opens it", events: [(.join, "a", 0), (.leave, "a", 10), (.heartbeat, "a", 200), (.leave, "a", 250)],
            expected: [[0, 10], [200, 250]]),
    ]

    @Test(arguments: rows)
    func presence(_ row: Row) {
        let rules = Fixture.rules(timeout: row.timeout)
        let events = row.events.map { Fixture.event($0.0, "p", $0.1, $0.2) }
        let batch = BatchCount(events: events, rules: rules)
        #expect(Fixture.seconds(batch.presence(of: "p")) == row.expected)
        var incremental = IncrementalCount(rules: rules)
        for event in events { _ = incremental.ingest([event]) }
        #expect(Fixture.seconds(incremental.presence(of: "p")) == row.expected)
    }

    @Test func gapOneMillisecondShorterThanGraceIsBridged() {
        let rules = Fixture.rules()
        let a = Fixture.event(.leave, "p", "a", 100)
        var b = Fixture.event(.join, "p", "a", 160)
        b.at = b.at - .milliseconds(1)
        let events = [Fixture.event(.join, "p", "a", 0), a, b, Fixture.event(.leave, "p", "a", 200)]
        #expect(Fixture.seconds(BatchCount(events: events, rules: rules).presence(of: "p")) == [[0, 200]])
    }

    @Test func graceZeroStillJoinsTouchingPieces() {
        let rules = Fixture.rules(grace: 0)
        let events = [(EventType.join, "a", Int64(0)), (.leave, "a", 100), (.join, "b", 100), (.leave, "b", 150), (.join, "c", 151), (.leave, "c", 160)]
            .map { Fixture.event($0.0, "p", $0.1, $0.2) }
        #expect(Fixture.seconds(BatchCount(events: events, rules: rules).presence(of: "p")) == [[0, 150], [151, 160]])
    }

    @Test func keysAreComparedBytewiseNotByUnicodeEquivalence() {
        let rules = Fixture.rules()
        let events = [Fixture.event(.join, "\u{e9}", "a", 0), Fixture.event(.join, "e\u{301}", "a", 0)]
        let batch = BatchCount(events: events, rules: rules)
        #expect(batch.participants.count == 2)
        #expect(batch.buckets[0].unique == 2)
        #expect(batch.qualifiedParticipants(atEndOf: 0) == ["e\u{301}", "\u{e9}"])
    }
}
