import HeadcountCore

/// A deliberately naive reading of COUNTING.md, written apart from the engine: one Bool per
/// millisecond of the window per participant. Only usable on windows of a few thousand ms.
struct ReferenceCount {
    struct Numbers: Equatable {
        var active = 0, peak = 0, sustainedPeak = 0, unique = 0, qualified = 0
    }

    /// Participant (UTF-8 bytes: identity is bytewise) → one Bool per millisecond of W.
    var presence: [[UInt8]: [Bool]] = [:]
    var numbers: [Numbers] = []
    var qualifiedSets: [[String]] = []
    var conflicting = 0

    init(events: [Event], rules: CountingRules) {
        let start = rules.windowStart.milliseconds
        let end = rules.windowEnd.milliseconds
        let width = Int(end - start)
        // Section 1: the time test, then "first accepted id stands".
        var byID: [[UInt8]: Event] = [:]
        var accepted: [Event] = []
        for event in events where rules.acceptsEventTime(event.at) {
            let key = Array(event.id.utf8)
            if let first = byID[key] {
                let same = Array(first.participant.utf8) == Array(event.participant.utf8)
                    && Array(first.session.utf8) == Array(event.session.utf8)
                    && first.type == event.type && first.at == event.at
                    && Array(first.pipeline.utf8) == Array(event.pipeline.utf8)
                if !same { conflicting += 1 }
                continue
            }
            byID[key] = event
            accepted.append(event)
        }
        // Section 2: walk each session, paint its intervals onto the participant's milliseconds.
        var sessions: [[UInt8]: [Event]] = [:]
        for event in accepted {
            sessions[Array(event.participant.utf8) + [0] + Array(event.session.utf8), default: []].append(event)
        }
        for (_, list) in sessions {
            let participant = Array(list[0].participant.utf8)
            var row = presence[participant] ?? Array(repeating: false, count: width)
            for (from, to) in Self.walk(list, rules: rules) {
                var t = max(from, start)
                while t < min(to, end) { row[Int(t - start)] = true; t += 1 }
            }
            presence[participant] = row
        }
        for (participant, row) in presence {
            presence[participant] = Self.bridge(row, grace: Int(rules.reconnectGrace.wholeMilliseconds))
        }
        tallyBuckets(rules: rules)
    }

    /// The raw, unclipped intervals of one session.
    static func walk(_ events: [Event], rules: CountingRules) -> [(Int64, Int64)] {
        let ordered = events.sorted { a, b in
            if a.at != b.at { return a.at < b.at }
            if a.type.rank != b.type.rank { return a.type.rank < b.type.rank }
            return a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
        }
        var intervals: [(Int64, Int64)] = []
        var openedAt: Int64? = nil
        for event in ordered {
            switch event.type {
            case .join, .heartbeat:
                if openedAt == nil { openedAt = event.at.milliseconds }
            case .leave:
                if let opened = openedAt { intervals.append((opened, event.at.milliseconds)); openedAt = nil }
            }
        }
        if let opened = openedAt {
            var close = rules.windowEnd.milliseconds
            if let timeout = rules.heartbeatTimeout { close = min(close, ordered.last { $0.type != .leave }!.at.milliseconds + timeout.wholeMilliseconds) }
            intervals.append((opened, close))
        }
        return intervals
    }

    /// Fills every run of absent milliseconds, with presence on both sides, shorter than G.
    static func bridge(_ row: [Bool], grace: Int) -> [Bool] {
        var result = row
        var lastPresent: Int? = nil
        for t in row.indices where row[t] {
            if let last = lastPresent, t - last - 1 > 0, t - last - 1 < grace {
                for gap in (last + 1)..<t { result[gap] = true }
            }
            lastPresent = t
        }
        return result
    }

    mutating func tallyBuckets(rules: CountingRules) {
        let start = rules.windowStart.milliseconds
        let minimum = max(1, Int(rules.minimumPresence.wholeMilliseconds))
        for m in 0..<rules.bucketCount {
            let low = Int(rules.bucketStart(m).milliseconds - start)
            let high = Int(rules.bucketEnd(m).milliseconds - start)
            var numbers = Numbers()
            for t in low..<high {
                numbers.peak = max(numbers.peak, presence.values.filter { $0[t] }.count)
            }
            numbers.sustainedPeak = Self.sustainedPeak(presence.values, starts: low..<high, period: Int(rules.sustainedPeak.wholeMilliseconds))
            var qualified: [[UInt8]] = []
            for (participant, row) in presence {
                if row[low..<high].contains(true) { numbers.active += 1 }
                let before = row[0..<high].filter { $0 }.count
                if before > 0 { numbers.unique += 1 }
                if before >= minimum { qualified.append(participant) }
            }
            numbers.qualified = qualified.count
            self.numbers.append(numbers)
            qualifiedSets.append(qualified.sorted { $0.lexicographicallyPrecedes($1) }.map { String(decoding: $0, as: UTF8.self) })
        }
    }

    /// Section 3 read literally: for every window start t of the bucket with t + S ≤ end,
    /// count the participants present at every millisecond of [t, t + S); take the maximum.
    static func sustainedPeak(_ rows: some Collection<[Bool]>, starts: Range<Int>, period: Int) -> Int {
        var best = 0
        for t in starts {
            guard let first = rows.first, t + period <= first.count else { break }
            best = max(best, rows.filter { row in row[t..<(t + period)].allSatisfy { $0 } }.count)
        }
        return best
    }

    /// The reference presence of one participant as half-open intervals in absolute milliseconds.
    func intervals(of participant: String, start: Int64) -> [PresenceInterval] {
        guard let row = presence[Array(participant.utf8)] else { return [] }
        var result: [PresenceInterval] = []
        var runStart: Int? = nil
        for t in 0...row.count {
            let present = t < row.count && row[t]
            if present, runStart == nil { runStart = t }
            if !present, let from = runStart {
                result.append(PresenceInterval(from: start + Int64(from), to: start + Int64(t)))
                runStart = nil
            }
        }
        return result
    }
}
