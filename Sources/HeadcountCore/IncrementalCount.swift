/// The incremental form of the counting engine: events in any order, in any batches.
///
/// After any sequence of `ingest` calls, `buckets(atOrBelow:)` answers exactly what
/// `BatchCount` answers for the same events in the same arrival order, for every bucket
/// whose end is at or below the watermark. Each ingest reports, per participant whose
/// presence changed, the old and the new presence and their `ContributionDelta`: what a
/// worker persists and a reporter sums.
public struct IncrementalCount: Sendable {
    /// Who makes sure that one id is one event.
    public enum Deduplication: Sendable, Hashable {
        /// This value remembers every accepted event (exact, but memory grows with events).
        case inMemory
        /// The caller hands over only first occurrences of ids, or exact repeats (for example,
        /// what a store with a unique key on the event id accepted). Exact repeats are harmless
        /// either way: a session's presence depends on its set of (at, type) only.
        case upstream
    }

    public let rules: CountingRules
    public let deduplication: Deduplication
    private let millis: RuleMilliseconds
    /// Where packed marks are measured from: a mark near the window start packs into few bytes.
    private let origin: Int64
    private var store = ParticipantStore()
    private var tally: BucketTally
    private var ledger: [ExactKey: Event] = [:]

    public init(rules: CountingRules, deduplication: Deduplication = .inMemory) {
        self.rules = rules
        self.deduplication = deduplication
        self.millis = rules.milliseconds
        self.origin = rules.windowStart.milliseconds &* 4
        self.tally = BucketTally(rules: rules)
    }

    /// Participants with at least one accepted event.
    public var participantCount: Int { store.count }

    /// Takes a batch of events; returns what was accepted, rejected and changed.
    public mutating func ingest(_ events: [Event]) -> IngestOutcome {
        var outcome = IngestOutcome()
        var accepted: [(participant: Int, event: Int)] = []
        accepted.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            guard rules.acceptsEventTime(event.at) else {
                outcome.deadLetters.append(.outsideWindow(index, event))
                continue
            }
            if deduplication == .inMemory, let first = ledger[ExactKey(event.id)] {
                if first.hasSameContent(as: event) {
                    outcome.duplicateEvents += 1
                } else {
                    outcome.deadLetters.append(.conflicting(index, event))
                }
                continue
            }
            if deduplication == .inMemory { ledger[ExactKey(event.id)] = event }
            outcome.acceptedEvents += 1
            accepted.append((store.indexInserting(event.participant, origin: origin), index))
        }
        // One decode and one encode per participant per batch, however many events it got.
        accepted.sort { ($0.participant, $0.event) < ($1.participant, $1.event) }
        var groupStart = 0
        while groupStart < accepted.count {
            let participant = accepted[groupStart].participant
            var groupEnd = groupStart
            while groupEnd < accepted.count, accepted[groupEnd].participant == participant { groupEnd += 1 }
            let group = accepted[groupStart..<groupEnd].lazy.map { events[$0.event] }
            if let change = apply(group, to: participant) { outcome.changes.append(change) }
            groupStart = groupEnd
        }
        return outcome
    }

    /// Adds one participant's new events; returns the change of its presence, if any.
    private mutating func apply(_ events: some Sequence<Event>, to participant: Int) -> PresenceChange? {
        var record = ParticipantRecord(decoding: store.arena, at: store.offset(of: participant), origin: origin)
        let old = record.presence(rules: millis)
        var inserted = false
        for event in events {
            inserted = record.insert(SessionMark(at: event.at, type: event.type), session: event.session.utf8) || inserted
        }
        guard inserted else { return nil }
        store.replaceRecord(participant, with: record.encoded(origin: origin))
        let new = record.presence(rules: millis)
        guard new != old else { return nil }
        let oldContribution = PresenceContribution(presence: old, rules: millis)
        let newContribution = PresenceContribution(presence: new, rules: millis)
        let delta = ContributionDelta(from: oldContribution, to: newContribution)
        tally.apply(delta)
        store.qualifiedBuckets[participant] = Int32(newContribution.qualifiedBucket ?? -1)
        var change = PresenceChange(participant: String(decoding: record.key, as: UTF8.self), old: old, new: new, delta: delta)
        change.contributions = (oldContribution, newContribution)
        return change
    }

    /// The numbers of every bucket that `watermark` lets be sealed (see `sealableBucketCount`).
    ///
    /// Mutating only because the tally merges pending changes when asked.
    public mutating func buckets(atOrBelow watermark: Instant) -> [BucketNumbers] {
        tally.numbers(count: Self.sealableBucketCount(rules: rules, watermark: watermark))
    }

    /// How many buckets `watermark` lets be sealed: bucket m once the watermark reaches
    /// min(E_m + S, end) (COUNTING.md section 4), since its `sustained_peak` looks at the
    /// S-second periods that start in it and may run into the next bucket.
    public static func sealableBucketCount(rules: CountingRules, watermark: Instant) -> Int {
        if watermark >= rules.windowEnd { return rules.bucketCount }
        // Below the end, min(E_m + S, end) ≤ watermark means E_m + S ≤ watermark.
        let elapsed = watermark.milliseconds - rules.sustainedPeak.wholeMilliseconds - rules.windowStart.milliseconds
        return elapsed <= 0 ? 0 : min(rules.bucketCount, Int(elapsed / rules.bucket.wholeMilliseconds))
    }

    /// P(p) now; empty for an unknown participant.
    public func presence(of participant: String) -> Presence {
        guard let index = store.index(of: participant) else { return .empty }
        return ParticipantRecord(decoding: store.arena, at: store.offset(of: index), origin: origin).presence(rules: millis)
    }

    /// The qualified participants at E_m, sorted bytewise: the certificate's leaves.
    public func qualifiedParticipants(atEndOf bucket: Int) -> [String] {
        var keys: [String] = []
        for (index, qualified) in store.qualifiedBuckets.enumerated() where qualified >= 0 && Int(qualified) <= bucket {
            keys.append(ParticipantRecord.key(in: store.arena, at: store.offset(of: index)))
        }
        return keys.sorted { $0.bytewisePrecedes($1) }
    }

    /// Bytes held by the counting state, by an accounting of its arrays (not the ledger).
    public var approximateBytes: Int { memoryBreakdown.reduce(0) { $0 + $1.bytes } }

    /// The accounting of `approximateBytes`, part by part, for benchmarks.
    public var memoryBreakdown: [(part: String, bytes: Int)] {
        let parts = store.memory
        return [
            ("participant index", parts.index), ("record offsets and qualified buckets", parts.slots),
            ("records (live)", parts.live), ("records (garbage awaiting compaction)", parts.garbage),
            ("bucket tally", tally.approximateBytes),
        ]
    }

    /// Reclaims the space of replaced records now rather than at the next threshold.
    public mutating func compactMemory() { store.compact() }

    /// Events remembered for `.inMemory` deduplication.
    public var rememberedEventIDs: Int { ledger.count }
}

/// What one `ingest` call did.
public struct IngestOutcome: Sendable, Hashable {
    /// Events that were new and are now part of the count.
    public var acceptedEvents = 0
    /// Repeats of accepted events (same id, same content), collapsed.
    public var duplicateEvents = 0
    /// Events outside [start − 1 day, end + 1 day] and conflicting duplicates, by batch position.
    public var deadLetters: [DeadLetter] = []
    /// One entry per participant whose presence changed.
    public var changes: [PresenceChange] = []

    public init() {}
}

/// A participant's presence before and after a batch, with what that does to the numbers.
public struct PresenceChange: Sendable, Hashable {
    public var participant: String
    public var old: Presence
    public var new: Presence
    public var delta: ContributionDelta
    /// The contributions of `old` and `new`, which the engine computed for `delta` anyway:
    /// a worker splits them into change rows and kept tails without computing them again.
    public var contributions: (old: PresenceContribution, new: PresenceContribution)?

    public init(participant: String, old: Presence, new: Presence, delta: ContributionDelta) {
        self.participant = participant
        self.old = old
        self.new = new
        self.delta = delta
    }

    public static func == (lhs: PresenceChange, rhs: PresenceChange) -> Bool {
        lhs.participant == rhs.participant && lhs.old == rhs.old && lhs.new == rhs.new && lhs.delta == rhs.delta
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(participant)
        hasher.combine(old)
        hasher.combine(new)
        hasher.combine(delta)
    }
}
