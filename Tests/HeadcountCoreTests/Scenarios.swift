import HeadcountCore
import HeadcountSimulation

/// Helpers shared by the table tests: a fixed window starting at a round instant.
enum Fixture {
    static let t0 = Instant(rfc3339: "2025-09-20T02:00:00Z")!

    /// Rules over [t0, t0 + window) with everything in seconds.
    static func rules(
        window: Int64 = 600, bucket: Int64 = 60, grace: Int64 = 60, minimum: Int64 = 0, timeout: Int64? = nil
    ) -> CountingRules {
        try! CountingRules(
            windowStart: t0, windowEnd: t0 + .seconds(window), bucket: .seconds(bucket),
            reconnectGrace: .seconds(grace), minimumPresence: .seconds(minimum),
            heartbeatTimeout: timeout.map { .seconds($0) }, allowedLateness: .seconds(max(grace, 120)))
    }

    /// t0 + seconds.
    static func at(_ seconds: Int64) -> Instant { t0 + .seconds(seconds) }

    /// Milliseconds of t0 + seconds.
    static func ms(_ seconds: Int64) -> Int64 { at(seconds).milliseconds }

    /// An event with a fresh id unless one is given.
    static func event(
        _ type: EventType, _ participant: String, _ session: String, _ seconds: Int64, id: String? = nil
    ) -> Event {
        Event(
            id: id ?? "\(participant)/\(session)/\(type.rawValue)/\(seconds)", pipeline: "test", type: type,
            participant: participant, session: session, at: at(seconds), source: "canonical")
    }

    /// Presence as (from, to) pairs in seconds after t0.
    static func seconds(_ presence: Presence) -> [[Int64]] {
        presence.intervals.map { [($0.from - t0.milliseconds) / 1000, ($0.to - t0.milliseconds) / 1000] }
    }
}

/// A random scenario for property tests: few participants, tiny window, every edge likely.
struct RandomScenario {
    var rules: CountingRules
    var events: [Event]

    init(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let start = Instant(milliseconds: 1_758_333_600_000)
        let width = rng.inRange(20...400)
        let rules = try! CountingRules(
            windowStart: start, windowEnd: start + .milliseconds(width),
            bucket: .milliseconds(rng.inRange(1...max(1, width / 2 + 3))),
            reconnectGrace: .milliseconds(rng.chance(0.2) ? 0 : rng.inRange(1...40)),
            minimumPresence: .milliseconds(rng.chance(0.4) ? 0 : rng.inRange(1...width)),
            heartbeatTimeout: rng.chance(0.5) ? nil : .milliseconds(rng.inRange(1...60)),
            allowedLateness: .milliseconds(200))
        // S from a stream of its own, so that the events of every seed stay what they were.
        var periods = SplitMix64(seed: seed, stream: 13)
        let bucket = rules.bucket.wholeMilliseconds
        let period = periods.chance(0.2) ? bucket : (periods.chance(0.2) ? 1 : periods.inRange(1...bucket))
        self.rules = try! CountingRules(
            windowStart: rules.windowStart, windowEnd: rules.windowEnd, bucket: rules.bucket, reconnectGrace: rules.reconnectGrace,
            minimumPresence: rules.minimumPresence, heartbeatTimeout: rules.heartbeatTimeout, allowedLateness: rules.allowedLateness,
            sustainedPeak: .milliseconds(period))
        var events: [Event] = []
        let participants = Int(rng.inRange(1...5))
        for p in 0..<participants {
            let sessions = Int(rng.inRange(1...3))
            for _ in 0..<rng.inRange(0...14) {
                let type: EventType = [.join, .leave, .heartbeat][Int(rng.below(3))]
                let offset = rng.chance(0.03) ? (rng.chance(0.5) ? -86_400_001 : width + 86_400_001) : rng.inRange(-30...(width + 30))
                events.append(Event(
                    id: "e\(events.count)", pipeline: "test", type: type, participant: p == 1 ? "é" : "p\(p)",
                    session: "s\(rng.below(Int64(sessions)))", at: start + .milliseconds(offset), source: "a"))
            }
        }
        // A participant whose key differs from "é" only by Unicode normalisation is someone else.
        if rng.chance(0.3) {
            events.append(Event(id: "e-nfd", pipeline: "test", type: .join, participant: "e\u{301}", session: "s0",
                                at: start + .milliseconds(rng.inRange(0...width)), source: "a"))
        }
        Self.addRepeats(&events, &rng)
        rng.shuffle(&events)
        self.events = events
    }

    /// Exact repeats (some via another source) and conflicting reuses of ids.
    private static func addRepeats(_ events: inout [Event], _ rng: inout SplitMix64) {
        for event in events {
            if rng.chance(0.15) {
                var copy = event
                copy.source = rng.chance(0.5) ? "b" : "a"
                events.append(copy)
            }
            if rng.chance(0.05) {
                var conflict = event
                if rng.chance(0.5) { conflict.at = conflict.at + .milliseconds(rng.inRange(1...20)) } else { conflict.session = "other" }
                events.append(conflict)
            }
        }
    }

    /// Splits the events into 1 … 6 consecutive batches at random points.
    static func batches(_ events: [Event], _ rng: inout SplitMix64) -> [[Event]] {
        var cuts = (0..<rng.inRange(0...5)).map { _ in Int(rng.below(Int64(events.count + 1))) }
        cuts += [0, events.count]
        cuts.sort()
        return zip(cuts, cuts.dropFirst()).map { Array(events[$0..<$1]) }
    }
}
