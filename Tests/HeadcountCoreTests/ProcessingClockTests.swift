import HeadcountCore
import Testing

@Suite struct ProcessingClockTests {
    let start = Instant(rfc3339: "2025-06-14T01:45:00Z")!
    let wall = Instant(rfc3339: "2026-12-03T10:00:00Z")!

    @Test func wallIsTheIdentity() throws {
        let clock = try ProcessingClock(parsing: "wall")
        #expect(!clock.isRehearsal)
        #expect(clock.now(wall: wall) == wall)
        #expect(clock.wallTime(of: start, anchoredAt: wall) == start)
        #expect(clock.description == "wall")
    }

    @Test func rehearsalMapsWallTimeOntoEventTime() throws {
        let clock = try ProcessingClock(parsing: "rehearsal:2025-06-14T01:45:00Z@60,wall=2026-12-03T10:00:00Z")
        #expect(clock.isRehearsal)
        #expect(clock.now(wall: wall) == start)
        // One wall second is a minute of the event.
        #expect(clock.now(wall: wall + .seconds(1)) == start + .seconds(60))
        #expect(clock.now(wall: wall + .seconds(120)) == start + .seconds(7200))
        // Before the anchor the event's time runs backwards from START, as a clock would.
        #expect(clock.now(wall: wall - .seconds(1)) == start - .seconds(60))
    }

    @Test func wallTimeIsTheInverseOfNow() throws {
        let clock = try ProcessingClock(parsing: "rehearsal:2025-06-14T01:45:00Z@37.5,wall=2026-12-03T10:00:00Z")
        for offset: Int64 in [0, 1, 999, 60_000, 7_200_123, -90_000] {
            let event = start + .milliseconds(offset)
            let sendAt = clock.wallTime(of: event, anchoredAt: wall)
            // Sent no earlier than its moment: the event is never from the future when it arrives.
            #expect(clock.now(wall: sendAt) >= event)
            #expect(clock.now(wall: sendAt - .milliseconds(1)) < event)
        }
    }

    @Test func anchoringFixesTheStartOnce() throws {
        let clock = try ProcessingClock(parsing: "rehearsal:2025-06-14T01:45:00Z@60")
        let anchored = clock.anchored(at: wall)
        #expect(anchored.description == "rehearsal:2025-06-14T01:45:00.000Z@60,wall=2026-12-03T10:00:00.000Z")
        #expect(anchored.anchored(at: wall + .seconds(5)) == anchored)
        #expect(try ProcessingClock(parsing: anchored.description) == anchored)
        #expect(try ProcessingClock(parsing: " rehearsal:2025-06-14T01:45:00Z@2.5 ").description == "rehearsal:2025-06-14T01:45:00.000Z@2.5")
    }

    @Test(arguments: [
        ("", "must be \"wall\""),
        ("Wall", "must be \"wall\""),
        ("rehearsal:", "needs START@SPEED"),
        ("rehearsal:2025-06-14T01:45:00Z", "needs START@SPEED"),
        ("rehearsal:yesterday@60", "START \"yesterday\" is not an RFC 3339 instant"),
        ("rehearsal:2025-06-14T01:45:00Z@", "SPEED \"\" must be a number above 0"),
        ("rehearsal:2025-06-14T01:45:00Z@0", "SPEED \"0\" must be"),
        ("rehearsal:2025-06-14T01:45:00Z@-3", "SPEED \"-3\" must be"),
        ("rehearsal:2025-06-14T01:45:00Z@fast", "SPEED \"fast\" must be"),
        ("rehearsal:2025-06-14T01:45:00Z@inf", "SPEED \"inf\" must be"),
        ("rehearsal:2025-06-14T01:45:00Z@20000", "at most 10000"),
        ("rehearsal:2025-06-14T01:45:00Z@60,from=now", "the only option after \",\" is wall="),
        ("rehearsal:2025-06-14T01:45:00Z@60,wall=soon", "wall= must be an RFC 3339 instant"),
    ])
    func malformedSpecsSayWhatIsWrong(text: String, expected: String) {
        #expect {
            try ProcessingClock(parsing: text)
        } throws: { error in
            let description = (error as? ProcessingClockError)?.description ?? ""
            return description.contains(expected) && description.hasPrefix("clock \"")
        }
    }
}
