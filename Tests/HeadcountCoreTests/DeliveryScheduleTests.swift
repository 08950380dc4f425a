import HeadcountCore
import HeadcountSimulation
import Testing

@Suite struct DeliveryScheduleTests {
    let rules = try! CountingRules(
        windowStart: Instant(rfc3339: "2025-09-20T02:00:00Z")!, windowEnd: Instant(rfc3339: "2025-09-20T04:00:00Z")!,
        bucket: .seconds(60), reconnectGrace: .seconds(60), minimumPresence: .seconds(1800),
        heartbeatTimeout: .seconds(90), allowedLateness: .seconds(120), sustainedPeak: .seconds(10))

    var simulator: AttendeeSimulator {
        AttendeeSimulator(rules: rules, pipelineID: "p", participants: 300, seed: 7)
    }

    @Test func everyEventIsDeliveredAtOrAfterItsMomentAndRepeatsAfterTheFirst() {
        let deliveries = DeliverySchedule(seed: 1).deliveries(of: simulator)
        #expect(deliveries.count == simulator.events().count)
        #expect(deliveries.allSatisfy { $0.sendAt >= $0.event.at })
        #expect(zip(deliveries, deliveries.dropFirst()).allSatisfy { $0.sendAt <= $1.sendAt })
        var firstSent: [String: Instant] = [:]
        var repeats = 0
        for delivery in deliveries {
            if let first = firstSent[delivery.event.id] {
                repeats += 1
                #expect(delivery.sendAt >= first + .seconds(30))
            } else {
                firstSent[delivery.event.id] = delivery.sendAt
            }
        }
        #expect(repeats > 0, "the profile's retries must be exercised")
    }

    @Test func theScheduleIsReproducible() {
        let a = DeliverySchedule(seed: 3).deliveries(of: simulator)
        let b = DeliverySchedule(seed: 3).deliveries(of: simulator)
        let c = DeliverySchedule(seed: 4).deliveries(of: simulator)
        #expect(a == b)
        #expect(a != c)
    }

    @Test func theExpectedResultIsTheBatchCountOfWhatWasSent() {
        let cut = rules.windowEnd + rules.allowedLateness
        let deliveries = DeliverySchedule(seed: 1).deliveries(of: simulator, endingWithWindow: true)
        #expect(deliveries.allSatisfy { $0.sendAt <= cut && $0.event.at <= rules.windowEnd })
        let sent = deliveries.map(\.event)
        let expected = ExpectedResult(pipeline: "p", participants: 300, seed: 7, sent: sent, rules: rules)
        #expect(expected.outcome == BatchCount(events: sent, rules: rules).outcome)
        #expect(expected.outcome.qualified > 0)
        // Ending the story with the window changes no bucket's numbers.
        let everything = DeliverySchedule(seed: 1).deliveries(of: simulator).map(\.event)
        #expect(BatchCount(events: everything, rules: rules).buckets == expected.buckets)
        #expect(expected.json.contains("\"qualified\": \(expected.outcome.qualified)"))
    }
}
