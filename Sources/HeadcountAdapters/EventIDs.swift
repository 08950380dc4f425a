import HeadcountCore

/// Deterministic ids for events made outside the webhook routes (`HeadcountClient`).
public enum CanonicalEventID {
    /// The id a canonical event gets from its content, as the routes derive theirs.
    public static func canonical(pipeline: String, participant: String, session: String, type: EventType, at: Instant) -> String {
        EventID.make("client", [pipeline, participant, session, type.rawValue, String(at.milliseconds)])
    }
}
