import HeadcountCore

/// One simulated delivery: an event and the event-time moment it reaches Headcount.
public struct ScheduledDelivery: Sendable, Hashable {
    public var event: Event
    /// When the platform delivers it: at or after `event.at`, so under the same clock the
    /// delivery is never from the future.
    public var sendAt: Instant

    public init(event: Event, sendAt: Instant) {
        self.event = event
        self.sendAt = sendAt
    }
}

/// When each simulated event is delivered, for a run *as if live* (`headcount simulate`).
///
/// A first delivery arrives shortly after its moment (network and platform delays, so
/// arrival is shuffled within a few seconds); a repeat of an id already delivered (a webhook
/// retry, or a buggy adapter's reuse) arrives minutes later, always after the first, so
/// which delivery of an id stands is the same in Kafka as in the expected count. Seeded:
/// the same events and seed give the same schedule.
public struct DeliverySchedule: Sendable {
    /// First deliveries arrive up to this long after their moment; default 20 s.
    public var arrivalJitter: Duration = .seconds(20)
    /// Repeats arrive this long after the first delivery of their id; default 30 s ... 5 min.
    public var retryDelay: ClosedRange<Duration> = .seconds(30)...(.seconds(300))
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// The deliveries of one participant's events (as `AttendeeSimulator` writes them:
    /// originals, then repeats), in no particular order.
    public func deliveries(ofParticipant n: Int, events: [Event]) -> [ScheduledDelivery] {
        var rng = SplitMix64(seed: seed ^ 0x4C49_5645, stream: UInt64(n))
        var first: [String: Instant] = [:]
        var result: [ScheduledDelivery] = []
        result.reserveCapacity(events.count)
        let jitter = max(0, arrivalJitter.wholeMilliseconds)
        let low = retryDelay.lowerBound.wholeMilliseconds, high = max(low, retryDelay.upperBound.wholeMilliseconds)
        for event in events {
            let sendAt: Instant
            if let original = first[event.id] {
                // After the first delivery and after its own moment (a conflicting reuse may be later).
                sendAt = max(original, event.at) + .milliseconds(rng.inRange(low...high))
            } else {
                sendAt = event.at + .milliseconds(jitter > 0 ? rng.inRange(0...jitter) : 0)
                first[event.id] = sendAt
            }
            result.append(ScheduledDelivery(event: event, sendAt: sendAt))
        }
        return result
    }

    /// Every participant's deliveries in sending order (ties: by participant, then as written).
    ///
    /// - Parameter endingWithWindow: a run that ends when the window's last bucket can be
    ///   sealed. Events after the window's end happen at its end instead: presence is clipped
    ///   to the window, so a join, heartbeat or leave at or after `end` changes the counts
    ///   exactly as one at `end` does (it keeps an open session present to the end, or adds
    ///   nothing), and the numbers stay those of the full story. Repeats due more than the
    ///   allowed lateness after the end are not sent (a repeat never changes a number).
    public func deliveries(of simulator: AttendeeSimulator, endingWithWindow: Bool = false) -> [ScheduledDelivery] {
        let rules = simulator.rules
        var all: [(ScheduledDelivery, Int)] = []
        for n in 0..<simulator.participants {
            var events = simulator.events(ofParticipant: n)
            if endingWithWindow {
                for index in events.indices where events[index].at > rules.windowEnd { events[index].at = rules.windowEnd }
            }
            for delivery in deliveries(ofParticipant: n, events: events)
            where !endingWithWindow || delivery.sendAt <= rules.windowEnd + rules.allowedLateness {
                all.append((delivery, all.count))
            }
        }
        all.sort { $0.0.sendAt != $1.0.sendAt ? $0.0.sendAt < $1.0.sendAt : $0.1 < $1.1 }
        return all.map(\.0)
    }
}
