/// The batch form of the counting engine: every event at once, as the recount uses it.
///
/// Input order matters only for conflicting duplicates (the first accepted one stands);
/// everything else is sorted internally. The incremental form (`IncrementalCount`) gives the
/// same numbers for the same events in the same arrival order.
public struct BatchCount: Sendable {
    public let rules: CountingRules
    /// The numbers of every bucket, 0 ..< M.
    public let buckets: [BucketNumbers]
    /// Events outside [start − 1 day, end + 1 day] and conflicting duplicates, by input position.
    public let deadLetters: [DeadLetter]
    /// Distinct events that were counted.
    public let acceptedEvents: Int
    /// Repeats of an accepted event (same id, same content), collapsed into it.
    public let duplicateEvents: Int
    /// Every participant with at least one accepted event, sorted bytewise by UTF-8.
    public let participants: [String]
    /// Per participant (aligned with `participants`): the bucket it qualified in, or −1.
    private let qualifiedBuckets: [Int32]
    /// Per participant: its pieces are intervals[pieceStarts[i] ..< pieceStarts[i + 1]].
    private let pieceStarts: [Int]
    private let pieces: [PresenceInterval]

    /// Counts `events` under `rules`.
    public init(events: [Event], rules: CountingRules) {
        self.rules = rules
        let intake = BatchIntake(events: events, rules: rules)
        deadLetters = intake.deadLetters
        duplicateEvents = intake.duplicates
        acceptedEvents = intake.eventMark.count

        var tally = BucketTally(rules: rules)
        let (presences, qualified) = Self.presences(of: intake, rules: rules.milliseconds, into: &tally)
        buckets = tally.numbers()

        // The certificate lists participants in bytewise order; sort once here.
        let order = intake.participantKeys.indices.sorted {
            intake.participantKeys[$0].bytewisePrecedes(intake.participantKeys[$1])
        }
        participants = order.map { intake.participantKeys[$0] }
        qualifiedBuckets = order.map { qualified[$0] }
        var starts = [0]
        var flat: [PresenceInterval] = []
        for index in order {
            flat += presences[index].intervals
            starts.append(flat.count)
        }
        pieceStarts = starts
        pieces = flat
    }

    /// Walks every session, builds every participant's presence and adds its contribution.
    private static func presences(
        of intake: BatchIntake, rules: RuleMilliseconds, into tally: inout BucketTally
    ) -> ([Presence], [Int32]) {
        let (marks, markStarts) = intake.marksBySession()
        let (sessions, sessionStarts) = intake.sessionsByParticipant()
        var presences: [Presence] = []
        presences.reserveCapacity(intake.participantKeys.count)
        var qualified: [Int32] = []
        qualified.reserveCapacity(intake.participantKeys.count)
        var scratch: [PresenceInterval] = []
        for participant in intake.participantKeys.indices {
            scratch.removeAll(keepingCapacity: true)
            for session in sessions[sessionStarts[participant]..<sessionStarts[participant + 1]] {
                let range = markStarts[Int(session)]..<markStarts[Int(session) + 1]
                SessionWalk.appendIntervals(of: marks[range], rules: rules, to: &scratch)
            }
            let presence = Presence(unionOf: &scratch, grace: rules.grace)
            let contribution = PresenceContribution(presence: presence, rules: rules)
            tally.add(contribution)
            presences.append(presence)
            qualified.append(Int32(contribution.qualifiedBucket ?? -1))
        }
        return (presences, qualified)
    }

    /// The attempt's result: last bucket's `qualified`, highest `peak`.
    public var outcome: CountOutcome { CountOutcome(buckets: buckets) }

    /// The dead letters that are conflicting duplicates.
    public var conflictingDuplicates: [DeadLetter] {
        deadLetters.filter { $0.rejection.reason == .conflictingDuplicate }
    }

    /// P(p); empty for an unknown participant.
    public func presence(of participant: String) -> Presence {
        guard let index = index(of: participant) else { return .empty }
        return Presence(normalized: Array(pieces[pieceStarts[index]..<pieceStarts[index + 1]]))
    }

    /// The first bucket at whose end the participant is qualified, or nil.
    public func qualifiedBucket(of participant: String) -> Int? {
        guard let index = index(of: participant), qualifiedBuckets[index] >= 0 else { return nil }
        return Int(qualifiedBuckets[index])
    }

    /// The qualified participants at E_m, sorted bytewise: the leaves of `participants_root`.
    public func qualifiedParticipants(atEndOf bucket: Int) -> [String] {
        var result: [String] = []
        for (index, key) in participants.enumerated() where qualifiedBuckets[index] >= 0 && Int(qualifiedBuckets[index]) <= bucket {
            result.append(key)
        }
        return result
    }

    /// Binary search in the bytewise order.
    private func index(of participant: String) -> Int? {
        var low = 0
        var high = participants.count
        while low < high {
            let middle = (low + high) / 2
            if participants[middle].bytewisePrecedes(participant) { low = middle + 1 } else { high = middle }
        }
        return low < participants.count && participants[low].bytewiseEquals(participant) ? low : nil
    }
}
