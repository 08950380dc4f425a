import HeadcountCore
import HeadcountSimulation
import Testing

/// Why the live rehearsal amended sealed minutes although every event arrived on time, and
/// that the keep-alive story seals exactly: a model of a live run on one partition (events in
/// schedule order, the watermark = largest stored `at` − L, each bucket sealed with the
/// incremental engine's numbers as soon as the watermark allows).
@Suite struct LiveSealTests {
    let rules = try! CountingRules(
        windowStart: Instant(rfc3339: "2025-09-20T02:00:00Z")!, windowEnd: Instant(rfc3339: "2025-09-20T04:00:00Z")!,
        bucket: .seconds(60), reconnectGrace: .seconds(60), minimumPresence: .seconds(1800),
        heartbeatTimeout: .seconds(90), allowedLateness: .seconds(120), sustainedPeak: .seconds(10))

    /// Sealed numbers per bucket, sealing as a live reporter does; and the batch count of everything.
    func sealLive(_ profile: AttendeeProfile, participants: Int = 200) -> (sealed: [BucketNumbers], batch: [BucketNumbers]) {
        let simulator = AttendeeSimulator(rules: rules, pipelineID: "p", participants: participants, seed: 11, profile: profile)
        let deliveries = DeliverySchedule(seed: 11).deliveries(of: simulator, endingWithWindow: true)
        var engine = IncrementalCount(rules: rules)
        var sealed: [BucketNumbers] = []
        var largestAt = Instant(milliseconds: .min)
        var index = 0
        // One round per second of event time: what was due is stored, then what can be is sealed.
        var now = deliveries.first!.sendAt
        while index < deliveries.count {
            now = now + .seconds(1)
            var batch: [Event] = []
            while index < deliveries.count, deliveries[index].sendAt <= now {
                batch.append(deliveries[index].event)
                largestAt = max(largestAt, deliveries[index].event.at)
                index += 1
            }
            _ = engine.ingest(batch)
            let numbers = engine.buckets(atOrBelow: largestAt - rules.allowedLateness)
            if numbers.count > sealed.count { sealed += numbers[sealed.count...] }
        }
        sealed += engine.buckets(atOrBelow: rules.windowEnd)[sealed.count...]
        return (sealed, BatchCount(events: deliveries.map(\.event), rules: rules).buckets)
    }

    @Test func silentConnectionsWithALaterLeaveChangeSealedMinutes() {
        // The standard story: most connections send no heartbeats; under H one counts as gone
        // 90 s after its join until its leave, an hour later, proves it stayed.
        let (sealed, batch) = sealLive(.standard)
        let differing = zip(sealed, batch).filter { $0 != $1 }.count
        #expect(differing > 60, "expected most sealed minutes to differ from the final count, \(differing) did")
        #expect(sealed.map(\.peak).max()! < batch.map(\.peak).max()!)
    }

    @Test func keepAlivesWithinTheLimitSealEveryMinuteExactly() {
        var profile = AttendeeProfile.standard
        profile.keepAlivePeriod = AttendeeProfile.keepAliveFor(rules: rules, arrivalJitter: .seconds(20))
        #expect(profile.keepAlivePeriod == .seconds(140))
        let (sealed, batch) = sealLive(profile)
        #expect(sealed.count == rules.bucketCount)
        for (seal, final) in zip(sealed, batch) where seal != final {
            Issue.record("bucket \(final.bucket) sealed as \(seal), finally \(final)")
        }
    }

    @Test func noKeepAliveWithoutAHeartbeatTimeout() {
        var rules = self.rules
        rules.heartbeatTimeout = nil
        #expect(AttendeeProfile.keepAliveFor(rules: rules, arrivalJitter: .seconds(20)) == nil)
        // And the standard story's events stay as they were (the replay's numbers).
        let a = AttendeeSimulator(rules: rules, pipelineID: "p", participants: 50, seed: 3).events()
        var profile = AttendeeProfile.standard
        profile.keepAlivePeriod = nil
        #expect(a == AttendeeSimulator(rules: rules, pipelineID: "p", participants: 50, seed: 3, profile: profile).events())
    }
}

@Suite struct DeliveryDispatcherTests {
    func delivery(_ id: String, at seconds: Int64) -> ScheduledDelivery {
        let at = Instant(milliseconds: seconds * 1000)
        return ScheduledDelivery(
            event: Event(id: id, pipeline: "p", type: .join, participant: "a", session: "s", at: at, source: "x"), sendAt: at)
    }

    func instant(_ seconds: Int64) -> Instant { Instant(milliseconds: seconds * 1000) }

    @Test func requestsAreContiguousRunsOfWhatIsDue() {
        var dispatcher = DeliveryDispatcher(deliveries: (0..<10).map { delivery("e\($0)", at: Int64($0)) }, maximumDeliveries: 3)
        #expect(dispatcher.nextAction(now: instant(-1), freeSlots: 4) == .wait(until: instant(0)))
        guard case .send(let first) = dispatcher.nextAction(now: instant(4), freeSlots: 4) else { Issue.record("nothing sent"); return }
        #expect(first.range == 0..<3)
        guard case .send(let second) = dispatcher.nextAction(now: instant(4), freeSlots: 3) else { Issue.record("nothing sent"); return }
        #expect(second.range == 3..<5)
        #expect(dispatcher.nextAction(now: instant(4), freeSlots: 2) == .wait(until: instant(5)))
        #expect(dispatcher.answered(second, now: instant(6)) == .seconds(3))
        #expect(dispatcher.answered(first, now: instant(6)) == .seconds(6))
        #expect(dispatcher.maximumBehind == .seconds(6))
        #expect(dispatcher.inFlight == 0)
    }

    @Test func twoDeliveriesOfOneIdAreNeverInFlightTogether() {
        let deliveries = [delivery("a", at: 0), delivery("b", at: 0), delivery("a", at: 1), delivery("c", at: 1)]
        var dispatcher = DeliveryDispatcher(deliveries: deliveries, maximumDeliveries: 10)
        guard case .send(let first) = dispatcher.nextAction(now: instant(2), freeSlots: 4) else { Issue.record("nothing sent"); return }
        #expect(first.range == 0..<2, "the run stops before the repeat of a")
        #expect(dispatcher.nextAction(now: instant(2), freeSlots: 3) == .wait(until: nil), "a is in flight")
        dispatcher.answered(first, now: instant(2))
        guard case .send(let second) = dispatcher.nextAction(now: instant(2), freeSlots: 4) else { Issue.record("nothing sent"); return }
        #expect(second.range == 2..<4)
        dispatcher.answered(second, now: instant(2))
        #expect(dispatcher.nextAction(now: instant(2), freeSlots: 4) == .finished)
    }

    @Test func aShortRunLingersAndTheSpanInFlightIsBounded() {
        let deliveries = (0..<40).map { delivery("e\($0)", at: Int64($0)) }
        var dispatcher = DeliveryDispatcher(deliveries: deliveries, maximumDeliveries: 100, linger: .seconds(2), maximumSpan: .seconds(10))
        #expect(dispatcher.nextAction(now: instant(0), freeSlots: 4) == .wait(until: instant(2)))
        guard case .send(let first) = dispatcher.nextAction(now: instant(2), freeSlots: 4) else { Issue.record("nothing sent"); return }
        #expect(first.range == 0..<3)
        // Far behind: everything is due, but only 10 s of schedule may be in flight with e0.
        guard case .send(let second) = dispatcher.nextAction(now: instant(100), freeSlots: 4) else { Issue.record("nothing sent"); return }
        #expect(second.range == 3..<11)
        #expect(dispatcher.nextAction(now: instant(100), freeSlots: 4) == .wait(until: nil))
        dispatcher.answered(first, now: instant(100))
        guard case .send(let third) = dispatcher.nextAction(now: instant(100), freeSlots: 4) else { Issue.record("nothing sent"); return }
        #expect(third.range == 11..<14)
        #expect(dispatcher.behind(now: instant(100)) == .seconds(86))
    }
}
