import HeadcountCore

/// Why the ingest service refuses a request, answered as `{"error": …, "where": …}`.
///
/// A refused request produced nothing: refusals are decided before anything is sent, or
/// (for `unavailable`) when Kafka did not acknowledge every event of the request.
public struct IngestRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of refusal, which decides the HTTP status.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A missing or wrong signature, token or checksum, or a stale timestamp: 401.
        case unauthorized
        /// Not parseable at all (broken JSON, form or encoding): 400.
        case malformed
        /// Parseable, but a field is missing, of the wrong type or not countable: 422.
        case unprocessable
        /// No such pipeline, or the route is not enabled for it: 404.
        case notFound
        /// The body is larger than the pipeline's `maxBodySize`: 413.
        case tooLarge
        /// Kafka is unreachable or did not acknowledge in time: 503 with `Retry-After`.
        case unavailable

        /// The HTTP status code.
        public var status: Int {
            switch self {
            case .unauthorized: 401
            case .malformed: 400
            case .unprocessable: 422
            case .notFound: 404
            case .tooLarge: 413
            case .unavailable: 503
            }
        }
    }

    public var kind: Kind
    /// What is wrong, without echoing secrets or personal data.
    public var error: String
    /// Where: a header, a JSON path (`payload.object.participant.email`), `events[3]`, `line 4`.
    public var location: String

    public init(_ kind: Kind, _ error: String, where location: String) {
        self.kind = kind
        self.error = error
        self.location = location
    }

    public var description: String { "\(kind.status) \(error) (at \(location))" }

    /// The response body: `{"error":"…","where":"…"}`.
    public var json: String {
        var out = "{\"error\":"
        CanonicalEvent.appendQuoted(error, to: &out)
        out += ",\"where\":"
        CanonicalEvent.appendQuoted(location, to: &out)
        return out + "}"
    }
}
