import HeadcountCore

/// Decides which scheduled deliveries go out next for a sender that keeps several requests in
/// flight, so a rehearsal keeps its schedule however long one request takes.
///
/// A request is a contiguous run of the schedule (so the deliveries sent, read request by
/// request, are the schedule itself). Two deliveries of one id are never in flight together:
/// a run stops before an id that is already in flight or already in the run, and waits for
/// that request to be answered, so which delivery of an id stands is the schedule's. And
/// the requests in flight together span at most `maximumSpan` of the schedule, so however
/// the answers overtake each other, Kafka's order is the schedule's within that span (the
/// watermark trusts it up to the allowed lateness).
///
/// Pure: the caller reads the clock and passes "now" in event time.
public struct DeliveryDispatcher: Sendable {
    /// One request: the schedule's deliveries `range`.
    public struct Request: Sendable, Hashable {
        public var range: Range<Int>
        /// The earliest moment a delivery of it was due: how far behind schedule it is.
        public var dueAt: Instant
    }

    public enum Action: Sendable, Hashable {
        /// Send this request now.
        case send(Request)
        /// Nothing to send before event time `until` (nil: not before a request is answered).
        case wait(until: Instant?)
        /// Everything was sent and answered.
        case finished
    }

    public let deliveries: [ScheduledDelivery]
    /// The most deliveries one request carries.
    public var maximumDeliveries: Int
    /// How long (event time) a due delivery may wait for others to fill its request.
    public var linger: Duration
    /// The most schedule time between the earliest delivery in flight and the latest.
    public var maximumSpan: Duration
    /// The first delivery not handed out yet.
    public private(set) var next = 0
    /// Requests handed out and not answered yet.
    public private(set) var inFlight = 0
    /// The most any answered request was behind schedule: answer time − `dueAt`.
    public private(set) var maximumBehind: Duration = .zero
    private var idsInFlight: [String: Int] = [:]
    /// When the first delivery of each request in flight was due, by its first index.
    private var dueInFlight: [Int: Instant] = [:]

    public init(deliveries: [ScheduledDelivery], maximumDeliveries: Int, linger: Duration = .zero, maximumSpan: Duration = .seconds(15)) {
        precondition(maximumDeliveries > 0, "a request carries at least one delivery")
        self.deliveries = deliveries
        self.maximumDeliveries = maximumDeliveries
        self.linger = linger
        self.maximumSpan = maximumSpan
    }

    /// What to do at event time `now` with `freeSlots` more requests allowed in flight.
    public mutating func nextAction(now: Instant, freeSlots: Int) -> Action {
        guard next < deliveries.count else { return inFlight == 0 ? .finished : .wait(until: nil) }
        let first = deliveries[next]
        guard first.sendAt <= now else { return .wait(until: first.sendAt) }
        guard freeSlots > 0, idsInFlight[first.event.id] == nil else { return .wait(until: nil) }
        let spanEnd = (dueInFlight.values.min() ?? first.sendAt) + maximumSpan
        guard first.sendAt <= spanEnd else { return .wait(until: nil) }
        var end = next
        var ids = Set<String>()
        while end < deliveries.count, end - next < maximumDeliveries, deliveries[end].sendAt <= now,
              deliveries[end].sendAt <= spanEnd,
              idsInFlight[deliveries[end].event.id] == nil, ids.insert(deliveries[end].event.id).inserted {
            end += 1
        }
        // A short run waits a little for company (fewer, fuller requests) when only time stops
        // it growing; one stopped by an id in flight or a repeat within it goes at once.
        let waitsForTime = end < deliveries.count && end - next < maximumDeliveries && deliveries[end].sendAt > now
            && deliveries[end].sendAt <= spanEnd
        if waitsForTime, now < first.sendAt + linger {
            return .wait(until: first.sendAt + linger)
        }
        for index in next..<end { idsInFlight[deliveries[index].event.id, default: 0] += 1 }
        let request = Request(range: next..<end, dueAt: first.sendAt)
        next = end
        inFlight += 1
        dueInFlight[request.range.lowerBound] = request.dueAt
        return .send(request)
    }

    /// Records that `request` was answered at event time `now`; returns how far behind schedule it was.
    @discardableResult
    public mutating func answered(_ request: Request, now: Instant) -> Duration {
        for index in request.range {
            let id = deliveries[index].event.id
            if let count = idsInFlight[id], count > 1 { idsInFlight[id] = count - 1 } else { idsInFlight[id] = nil }
        }
        inFlight -= 1
        dueInFlight[request.range.lowerBound] = nil
        let behind = Duration.milliseconds(max(0, now.milliseconds - request.dueAt.milliseconds))
        maximumBehind = max(maximumBehind, behind)
        return behind
    }

    /// How far behind schedule the sender is now: `now` − the moment the first delivery not
    /// handed out yet was due (zero when nothing is overdue).
    public func behind(now: Instant) -> Duration {
        guard next < deliveries.count else { return .zero }
        return .milliseconds(max(0, now.milliseconds - deliveries[next].sendAt.milliseconds))
    }
}
