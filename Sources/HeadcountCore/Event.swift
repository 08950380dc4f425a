/// What happened to one connection of a participant (COUNTING.md section 1).
public enum EventType: String, Sendable, Hashable, CaseIterable, Codable {
    case join
    case leave
    case heartbeat

    /// The tie-break rank of section 2: at equal `at`, joins come first, then heartbeats,
    /// then leaves, so that a join and a leave at the same instant give an empty interval.
    @inlinable
    public var rank: Int {
        switch self {
        case .join: 0
        case .heartbeat: 1
        case .leave: 2
        }
    }
}

/// One canonical event, after adapters verified, normalised and pseudonymised it.
///
/// Two events with the same `id` are one event; `Event` equality is content equality,
/// which is how conflicting duplicates (same id, different content) are recognised.
public struct Event: Sendable, Hashable {
    /// Idempotency key, unique per real-world event.
    public var id: String
    /// The pipeline (record attempt) the event belongs to.
    public var pipeline: String
    public var type: EventType
    /// The stable, pseudonymised identity key of a person: all counting is per participant.
    public var participant: String
    /// One connection of the participant (device, tab, platform connection).
    public var session: String
    /// Event time, UTC, millisecond precision.
    public var at: Instant
    /// Which adapter produced the event (for example `zoom`, `canonical`); not counted.
    public var source: String

    public init(
        id: String, pipeline: String, type: EventType, participant: String,
        session: String, at: Instant, source: String
    ) {
        self.id = id
        self.pipeline = pipeline
        self.type = type
        self.participant = participant
        self.session = session
        self.at = at
        self.source = source
    }

    /// Whether `other` describes the same real-world event as far as counting is concerned.
    ///
    /// The source is provenance, not content: the same event relayed by two adapters is one
    /// event, not a conflict.
    public func hasSameContent(as other: Event) -> Bool {
        // Bytewise, not Swift's canonical-equivalence `==`: keys are opaque identifiers.
        type == other.type && at == other.at && id.bytewiseEquals(other.id)
            && pipeline.bytewiseEquals(other.pipeline) && participant.bytewiseEquals(other.participant)
            && session.bytewiseEquals(other.session)
    }
}
