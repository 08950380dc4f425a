import HeadcountCore

/// A seeded, deterministic generator of canonical events for simulated attendees.
///
/// Each participant's events come from its own substream of the seed, so a participant's
/// events are the same whether it is generated alone, in a chunk or with everybody: the demo,
/// the tests and the benchmarks can stream a million participants chunk by chunk.
public struct AttendeeSimulator: Sendable {
    public let rules: CountingRules
    public let pipelineID: String
    public let participants: Int
    public let seed: UInt64
    public let profile: AttendeeProfile

    public init(rules: CountingRules, pipelineID: String, participants: Int, seed: UInt64, profile: AttendeeProfile = .standard) {
        self.rules = rules
        self.pipelineID = pipelineID
        self.participants = participants
        self.seed = seed
        self.profile = profile
    }

    /// The stable key of participant `n` (a pseudonym, as adapters produce them).
    public static func participantKey(_ n: Int) -> String {
        let digits = String(n)
        return "t" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
    }

    /// Every participant's events, in arrival order (shuffled when the profile says so).
    public func events() -> [Event] {
        events(forParticipants: 0..<participants)
    }

    /// The events of participants `range`, shuffled among themselves when the profile says so.
    public func events(forParticipants range: Range<Int>) -> [Event] {
        var all: [Event] = []
        for n in range { all += events(ofParticipant: n) }
        if profile.shuffled {
            var rng = SplitMix64(seed: seed, stream: UInt64(bitPattern: Int64(range.lowerBound)) ^ 0x5348_5546)
            rng.shuffle(&all)
        }
        return all
    }

    /// The events of all participants, `size` participants at a time.
    public func chunks(ofParticipants size: Int) -> some Sequence<[Event]> {
        stride(from: 0, to: participants, by: max(1, size)).lazy.map { start in
            self.events(forParticipants: start..<min(self.participants, start + max(1, size)))
        }
    }

    /// One participant's events, in time order.
    public func events(ofParticipant n: Int) -> [Event] {
        var writer = AttendeeWriter(
            rules: rules, pipelineID: pipelineID, participant: Self.participantKey(n),
            rng: SplitMix64(seed: seed, stream: UInt64(n)), profile: profile)
        writer.writeAll()
        return writer.events
    }
}

/// Writes one participant's story: devices, connections, drops, heartbeats, retries.
struct AttendeeWriter {
    let rules: CountingRules
    let pipelineID: String
    let participant: String
    var rng: SplitMix64
    let profile: AttendeeProfile
    var events: [Event] = []
    private var sequence = 0
    private var sessionCount = 0

    init(rules: CountingRules, pipelineID: String, participant: String, rng: SplitMix64, profile: AttendeeProfile) {
        self.rules = rules
        self.pipelineID = pipelineID
        self.participant = participant
        self.rng = rng
        self.profile = profile
    }

    private var start: Int64 { rules.windowStart.milliseconds }
    private var end: Int64 { rules.windowEnd.milliseconds }
    private var length: Int64 { end - start }

    mutating func writeAll() {
        let draw = rng.unit()
        let devices = draw < profile.thirdDeviceShare ? 3 : draw < profile.thirdDeviceShare + profile.secondDeviceShare ? 2 : 1
        for _ in 0..<devices { writeDevice() }
        if rng.chance(profile.orphanLeaveShare) {
            emit(.leave, session: "orphan", at: start + rng.below(length))
        }
        addRetriesAndConflicts()
    }

    /// One device: an arrival, a departure, and connections between them, with drops.
    private mutating func writeDevice() {
        let arrival = arrivalTime()
        let departure = max(arrival + 1000, departureTime(after: arrival))
        var session = newSession()
        var from = arrival
        var drops = 0
        while true {
            var to = departure
            let dropping = drops < 3 && departure - from > 120_000 && rng.chance(profile.reconnectShare)
            if dropping { to = rng.inRange((from + 60_000)...(departure - 60_000)) }
            let isLast = !dropping
            writeConnection(session: session, from: from, to: to, sendsLeave: !(isLast && rng.chance(profile.missingLeaveShare)))
            guard dropping else { return }
            drops += 1
            let grace = rules.reconnectGrace.wholeMilliseconds
            let gap = rng.chance(profile.shortGapShare) ? rng.inRange(1...max(1, grace - 1)) : rng.inRange(grace...(grace + 600_000))
            from = to + gap
            if from >= departure { return }
            if !rng.chance(profile.sameSessionRejoinShare) { session = newSession() }
        }
    }

    private mutating func arrivalTime() -> Int64 {
        let draw = rng.unit()
        if draw < profile.earlyJoinShare { return start - rng.inRange(1...900_000) }
        if draw < profile.earlyJoinShare + profile.lateJoinShare { return start + rng.inRange(600_000...max(600_000, length * 8 / 10)) }
        return start + rng.below(min(length, 600_000))
    }

    private mutating func departureTime(after arrival: Int64) -> Int64 {
        let draw = rng.unit()
        if draw < profile.earlyLeaveShare { return rng.inRange(arrival...max(arrival, end - 300_000)) }
        if draw < profile.earlyLeaveShare + profile.stayAfterEndShare { return end + rng.below(600_000) }
        return end - rng.below(min(length, 300_000))
    }

    /// One connection: its join (unless heartbeat-only), heartbeats, and its leave.
    private mutating func writeConnection(session: String, from: Int64, to: Int64, sendsLeave: Bool) {
        let heartbeats = rng.chance(profile.heartbeatSessionShare)
        if !(heartbeats && rng.chance(profile.heartbeatOnlyShare)) { emit(.join, session: session, at: from) }
        // Without a period there are no draws here, so the standard story stays as it was.
        if let period = heartbeats ? profile.heartbeatPeriod : profile.keepAlivePeriod {
            let period = period.wholeMilliseconds
            let jitter = profile.heartbeatJitterMilliseconds
            var beat = from + period
            while beat < to {
                let at = beat + (jitter > 0 ? rng.inRange(-jitter...jitter) : 0)
                // A heartbeat after the connection's own leave would reopen it: not this story.
                if at < to { emit(.heartbeat, session: session, at: at) }
                beat += period
            }
        }
        if sendsLeave { emit(.leave, session: session, at: to) }
    }

    private mutating func newSession() -> String {
        sessionCount += 1
        return "s\(sessionCount)"
    }

    private mutating func emit(_ type: EventType, session: String, at: Int64) {
        sequence += 1
        events.append(Event(
            id: participant + "." + String(sequence), pipeline: pipelineID, type: type, participant: participant,
            session: session, at: Instant(milliseconds: at), source: "canonical"))
    }

    /// Webhook retries (same id, same content, maybe another relay) and a few conflicting reuses of an id.
    private mutating func addRetriesAndConflicts() {
        let originals = events
        for event in originals {
            if rng.chance(profile.retryShare) {
                var retry = event
                if rng.chance(0.5) { retry.source = "relay" }
                events.append(retry)
            }
            if rng.chance(profile.conflictShare) {
                var conflict = event
                conflict.at = conflict.at + .milliseconds(rng.inRange(1...5000))
                events.append(conflict)
            }
        }
    }
}
