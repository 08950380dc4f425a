/// The first pass of the batch form: dead letters out, duplicates collapsed, participants
/// and sessions interned to dense integers, every accepted event reduced to a mark.
struct BatchIntake {
    var deadLetters: [DeadLetter] = []
    var duplicates = 0
    /// Participant keys by dense index, in order of first appearance.
    var participantKeys: [String] = []
    /// The participant of each dense session index.
    var sessionParticipant: [Int32] = []
    /// Per accepted event: its session and its mark.
    var eventSession: [Int32] = []
    var eventMark: [SessionMark] = []

    /// Sessions are looked up by both keys at once, so an event costs two hash lookups (id,
    /// session) and only a session's first event pays a third (participant).
    private struct SessionKey: Hashable {
        var participant: ExactKey
        var session: ExactKey
    }

    init(events: [Event], rules: CountingRules) {
        var firstByID: [ExactKey: Int32] = [:]
        firstByID.reserveCapacity(events.count)
        var participantIndex: [ExactKey: Int32] = [:]
        var sessionIndex: [SessionKey: Int32] = [:]
        eventSession.reserveCapacity(events.count)
        eventMark.reserveCapacity(events.count)
        for index in events.indices {
            let event = events[index]
            // The time test comes first: a dead letter is not "accepted", so it cannot win an id.
            guard rules.acceptsEventTime(event.at) else {
                deadLetters.append(.outsideWindow(index, event))
                continue
            }
            var isFirst = false
            let first = Self.intern(ExactKey(event.id), Int32(index), in: &firstByID, isNew: &isFirst)
            guard isFirst else {
                if events[Int(first)].hasSameContent(as: event) {
                    duplicates += 1
                } else {
                    deadLetters.append(.conflicting(index, event))
                }
                continue
            }
            let session = Self.intern(
                SessionKey(participant: ExactKey(event.participant), session: ExactKey(event.session)),
                Int32(sessionParticipant.count), in: &sessionIndex, isNew: &isFirst)
            if isFirst {
                let participant = Self.intern(
                    ExactKey(event.participant), Int32(participantKeys.count), in: &participantIndex, isNew: &isFirst)
                if isFirst { participantKeys.append(event.participant) }
                sessionParticipant.append(participant)
            }
            eventSession.append(session)
            eventMark.append(SessionMark(at: event.at, type: event.type))
        }
    }

    /// The value of `key`, inserting `candidate` when absent, with a single hash lookup.
    @inline(__always)
    private static func intern<Key: Hashable>(
        _ key: Key, _ candidate: Int32, in table: inout [Key: Int32], isNew: inout Bool
    ) -> Int32 {
        var inserted = false
        let value = Self.readOrSet(&table[key, default: -1], candidate, &inserted)
        isNew = inserted
        return value
    }

    @inline(__always)
    private static func readOrSet(_ slot: inout Int32, _ candidate: Int32, _ inserted: inout Bool) -> Int32 {
        if slot < 0 {
            slot = candidate
            inserted = true
        }
        return slot
    }

    /// Marks grouped by session and sorted inside each session, with the session boundaries.
    func marksBySession() -> (marks: [SessionMark], starts: [Int]) {
        let sessionCount = sessionParticipant.count
        let starts = Self.countingOffsets(of: eventSession, buckets: sessionCount)
        var marks = [SessionMark](repeating: SessionMark(rawValue: 0), count: eventMark.count)
        var cursor = starts
        for (session, mark) in zip(eventSession, eventMark) {
            marks[cursor[Int(session)]] = mark
            cursor[Int(session)] += 1
        }
        marks.withUnsafeMutableBufferPointer { buffer in
            for s in 0..<sessionCount where starts[s + 1] - starts[s] > 1 {
                // Sessions are short, so many small sorts beat one big sort of everything.
                var slice = UnsafeMutableBufferPointer(rebasing: buffer[starts[s]..<starts[s + 1]])
                slice.sort()
            }
        }
        return (marks, starts)
    }

    /// Sessions grouped by participant, with the participant boundaries.
    func sessionsByParticipant() -> (sessions: [Int32], starts: [Int]) {
        let starts = Self.countingOffsets(of: sessionParticipant, buckets: participantKeys.count)
        var sessions = [Int32](repeating: 0, count: sessionParticipant.count)
        var cursor = starts
        for (session, participant) in sessionParticipant.enumerated() {
            sessions[cursor[Int(participant)]] = Int32(session)
            cursor[Int(participant)] += 1
        }
        return (sessions, starts)
    }

    /// Prefix offsets of a counting sort: group g occupies starts[g] ..< starts[g + 1].
    private static func countingOffsets(of groups: [Int32], buckets: Int) -> [Int] {
        var starts = [Int](repeating: 0, count: buckets + 1)
        for group in groups { starts[Int(group) + 1] += 1 }
        for g in 0..<buckets { starts[g + 1] += starts[g] }
        return starts
    }
}
