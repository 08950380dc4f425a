import HeadcountCore
import HeadcountSimulation
import Testing

/// The rehearsal's load generator against the brute-force list of every event it must send.
@Suite("JoinStorm")
struct JoinStormTests {
    static func storm(participants: Int) -> JoinStorm {
        var storm = JoinStorm(
            pipelineID: "p", participants: participants, start: Instant(milliseconds: 1_000_000),
            end: Instant(milliseconds: 1_000_000 + 300_000), seed: 7)
        storm.joinWithin = .seconds(60)
        storm.heartbeatPeriod = .seconds(30)
        return storm
    }

    /// Every (participant, k) with its moment before the end.
    static func everyEvent(_ storm: JoinStorm) -> [Event] {
        var events: [Event] = []
        for n in 0..<storm.participants {
            var k = 0
            while storm.joinAt(n) + .milliseconds(Int64(k) * 30_000) < storm.end {
                events.append(storm.event(participant: n, number: k))
                k += 1
            }
        }
        return events
    }

    @Test("join moments grow with the participant and stay inside the join period")
    func joinMoments() {
        let storm = Self.storm(participants: 1_000)
        let joins = (0..<1_000).map(storm.joinAt)
        #expect(joins == joins.sorted())
        #expect(joins.allSatisfy { $0 >= storm.start && $0 < storm.start + .seconds(60) })
    }

    @Test("the cursor returns every event once, none before its moment, whatever the steps and limits", arguments: [1, 7, 500])
    func cursorIsComplete(limit: Int) {
        let storm = Self.storm(participants: 200)
        let expected = Self.everyEvent(storm)
        #expect(storm.eventCount == expected.count)
        var cursor = JoinStorm.Cursor(storm: storm)
        var returned: [Event] = []
        var moment = storm.start
        var previous = Instant(milliseconds: 0)
        while !cursor.isFinished {
            let batch = cursor.next(through: moment, limit: limit)
            #expect(batch.allSatisfy { $0.at <= moment && $0.at > previous || $0.at <= moment && batch.count == limit })
            returned += batch
            if batch.count < limit {
                previous = moment
                moment = moment + .milliseconds(777)
            }
        }
        #expect(returned.count == expected.count)
        #expect(Set(returned.map(\.id)) == Set(expected.map(\.id)))
        #expect(Set(returned) == Set(expected))
        #expect(cursor.returned == expected.count)
        #expect(returned.filter { $0.type == .join }.count == 200)
    }
}
