/// Why an event can never be counted: it becomes a dead letter with this reason.
///
/// The codes are stable strings stored in `headcount.dead_letters.reason`; analysts query them.
public struct EventRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// Not a JSON object, or broken JSON.
        case malformedJSON = "malformed_json"
        /// JSON, but a field is missing, unknown, of the wrong type or out of its limits.
        case wrongSchema = "wrong_schema"
        /// The event names a pipeline this worker does not count.
        case unknownPipeline = "unknown_pipeline"
        /// `at` is not a valid RFC 3339 instant, or lies outside [start − 1 day, end + 1 day].
        case impossibleTimestamp = "impossible_timestamp"
        /// `at` is more than 5 minutes ahead of the processing clock (streaming path only).
        case fromTheFuture = "from_the_future"
        /// Same id as an accepted event, different content: the first one stands.
        case conflictingDuplicate = "conflicting_duplicate"
        /// Larger than any canonical event can be.
        case tooLarge = "too_large"
        /// PostgreSQL refused to store it (a value the table cannot hold), found by isolating
        /// it from the rest of its batch, which was stored.
        case rejectedByDatabase = "rejected_by_database"
    }

    public var reason: Reason
    /// What is wrong and where, without echoing personal data.
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
