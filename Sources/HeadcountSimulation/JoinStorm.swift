import HeadcountCore

/// A rehearsal's load: every participant joins once within `joinWithin` of `start` and then
/// sends a heartbeat every `heartbeatPeriod` until `end`, on one session, never leaving
/// (presence runs to the last heartbeat plus the heartbeat timeout, clipped to the window).
///
/// Generated in time order without holding the event in memory: participant i joins at
/// start + (i + u) · joinWithin / participants with a seeded u in [0, 1), so join moments
/// grow with i, and so does every heartbeat round k (join + k · period). What each round
/// has sent so far is a prefix of the participants: the whole state is one cursor per round.
/// A million participants with 30 s heartbeats over 15 minutes are 30 million events from a
/// few hundred bytes of state.
public struct JoinStorm: Sendable, Hashable {
    public var pipelineID: String
    public var participants: Int
    public var start: Instant
    /// No event at or after this moment.
    public var end: Instant
    /// Default 10 minutes.
    public var joinWithin: Duration = .seconds(600)
    /// Default 30 s.
    public var heartbeatPeriod: Duration = .seconds(30)
    public var seed: UInt64

    public init(pipelineID: String, participants: Int, start: Instant, end: Instant, seed: UInt64) {
        self.pipelineID = pipelineID
        self.participants = participants
        self.start = start
        self.end = end
        self.seed = seed
    }

    /// When participant `n` joins (increasing in `n`).
    public func joinAt(_ n: Int) -> Instant {
        var rng = SplitMix64(seed: seed ^ 0x4A4F_494E, stream: UInt64(n))
        let slot = Double(max(0, joinWithin.wholeMilliseconds)) / Double(max(1, participants))
        return start + .milliseconds(Int64(((Double(n) + rng.unit()) * slot).rounded(.down)))
    }

    /// Event `k` of participant `n`: k = 0 is the join, k ≥ 1 the k-th heartbeat.
    public func event(participant n: Int, number k: Int) -> Event {
        let participant = AttendeeSimulator.participantKey(n)
        return Event(
            id: participant + ".s." + String(k), pipeline: pipelineID, type: k == 0 ? .join : .heartbeat,
            participant: participant, session: participant + ".s", at: at(participant: n, number: k), source: "rehearsal")
    }

    func at(participant n: Int, number k: Int) -> Instant {
        joinAt(n) + .milliseconds(Int64(k) * heartbeatPeriod.wholeMilliseconds)
    }

    /// How many events the whole load has (what a run must store).
    public var eventCount: Int {
        let period = max(1, heartbeatPeriod.wholeMilliseconds)
        var total = 0
        for n in 0..<participants {
            let join = joinAt(n)
            // The join and every heartbeat before `end`.
            if join < end { total += Int((end.milliseconds - 1 - join.milliseconds) / period) + 1 }
        }
        return total
    }

    /// Reads the load in time order: each call returns the events due up to a moment.
    public struct Cursor: Sendable {
        public let storm: JoinStorm
        /// sent[k]: participants whose event k has been returned (a prefix, by the order above).
        private var sent: [Int] = []

        public init(storm: JoinStorm) { self.storm = storm }

        /// Events returned so far.
        public private(set) var returned = 0

        /// Every event with `at` ≤ `moment` not returned yet, at most `limit` of them (the
        /// earliest rounds first; call again for the rest).
        public mutating func next(through moment: Instant, limit: Int) -> [Event] {
            var events: [Event] = []
            var k = 0
            let last = min(moment, storm.end - .milliseconds(1))
            while events.count < limit, storm.participants > 0 {
                // Round k starts at the first participant's k-th event; later rounds start later.
                guard storm.at(participant: 0, number: k) <= last else { break }
                if sent.count == k { sent.append(0) }
                while sent[k] < storm.participants, events.count < limit, storm.at(participant: sent[k], number: k) <= last {
                    events.append(storm.event(participant: sent[k], number: k))
                    sent[k] += 1
                }
                k += 1
            }
            returned += events.count
            return events
        }

        /// The earliest moment of an event not returned yet; nil when everything was.
        public var nextMoment: Instant? {
            var earliest: Instant?
            for k in 0...sent.count {
                let done = k < sent.count ? sent[k] : 0
                guard done < storm.participants else { continue }
                let at = storm.at(participant: done, number: k)
                if at < storm.end { earliest = min(earliest ?? at, at) }
                // Rounds past the first unstarted one start even later.
                if k == sent.count { break }
            }
            return earliest
        }

        public var isFinished: Bool { nextMoment == nil }
    }
}
