import Crypto
import Foundation
import HeadcountCore
import HeadcountPipeline

/// A pipeline's ingest secrets, read once at start-up from the files and variables its
/// `ingest:` section names.
public struct IngestCredentials: Sendable {
    public let pseudonymizer: Pseudonymizer
    /// Each enabled route's signing secret or bearer token.
    public let secrets: [Pipeline.IngestRoute: [UInt8]]

    public init(pseudonymizer: Pseudonymizer, secrets: [Pipeline.IngestRoute: [UInt8]]) {
        self.pseudonymizer = pseudonymizer
        self.secrets = secrets
    }

    /// Reads every secret (only the pseudonym key without `routes`, as importers need);
    /// the error names the pipeline field, never a value.
    public static func load(
        for ingest: Pipeline.Ingest, routes: Bool = true, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(PipelineError) -> IngestCredentials {
        let key = try ingest.pseudonymKey.readSecret(field: "ingest.pseudonymKey", environment: environment)
        var secrets: [Pipeline.IngestRoute: [UInt8]] = [:]
        for (route, source) in ingest.routes where routes {
            secrets[route] = try source.readSecret(field: "ingest.\(route.rawValue).secret", environment: environment)
        }
        return IngestCredentials(pseudonymizer: Pseudonymizer(key: key), secrets: secrets)
    }
}

/// Everything an adapter needs besides the request: the pipeline, its secrets and the time.
public struct AdapterContext: Sendable {
    public let pipeline: Pipeline
    public let ingest: Pipeline.Ingest
    public let credentials: IngestCredentials
    /// The ingest clock's reading for this request (injected: tests and rehearsals set it).
    public let now: Instant

    /// How far ahead of the clock an event, or off it a signed timestamp, may be: 5 minutes.
    public static let maximumSkew: Duration = .seconds(300)

    public init(pipeline: Pipeline, ingest: Pipeline.Ingest, credentials: IngestCredentials, now: Instant) {
        self.pipeline = pipeline
        self.ingest = ingest
        self.credentials = credentials
        self.now = now
    }

    func secret(_ route: Pipeline.IngestRoute) throws(IngestRefusal) -> [UInt8] {
        guard let secret = credentials.secrets[route] else {
            throw IngestRefusal(.notFound, "route \(route.rawValue) is not enabled for pipeline \(pipeline.id)", where: "path")
        }
        return secret
    }

    /// The participant key from the first identity present in the pipeline's order.
    func participant(_ candidates: [Pipeline.IdentityField: String?], where location: String) throws(IngestRefusal) -> String {
        for field in ingest.identity {
            if let value = candidates[field] ?? nil, let normalized = Pseudonymizer.normalize(value) {
                return credentials.pseudonymizer.participant(normalized: normalized)
            }
        }
        let names = ingest.identity.map(\.rawValue).joined(separator: ", ")
        throw IngestRefusal(.unprocessable, "no identity: none of the pipeline's identity fields (\(names)) is present", where: location)
    }

    /// A canonical event of this pipeline, its id the platform's own or derived from its content.
    func event(
        platform: String, meeting: String, participant: String, session: String, type: EventType, at: Instant,
        platformEventID: String? = nil
    ) -> Event {
        let id = platformEventID.map { EventID.make(platform, ["platform-id", $0]) }
            ?? EventID.make(platform, [meeting, participant, session, type.rawValue, String(at.milliseconds)])
        return Event(id: id, pipeline: pipeline.id, type: type, participant: participant, session: session, at: at, source: platform)
    }

    /// The checks every event passes whatever its route: the pipeline's, and not from the future.
    func check(_ event: Event, where location: String) throws(IngestRefusal) {
        do {
            try pipeline.validate(event)
        } catch {
            throw IngestRefusal(.unprocessable, error.description, where: location)
        }
        guard event.at <= now + Self.maximumSkew else {
            throw IngestRefusal(
                .unprocessable,
                "from_the_future: at \(event.at) is more than 5 minutes ahead of the ingest clock (\(now))",
                where: location)
        }
    }

    func checked(_ events: [Event], where location: (Int) -> String) throws(IngestRefusal) -> WebhookOutcome {
        for (index, event) in events.enumerated() { try check(event, where: location(index)) }
        return .events(events)
    }
}

/// Deterministic event ids: a retried delivery of the same real-world event gets the same
/// id, so the worker keeps it once.
enum EventID {
    /// `<platform>-` and the hex SHA-256 of the length-prefixed parts (no two part lists collide).
    static func make(_ platform: String, _ parts: [String]) -> String {
        var hasher = SHA256()
        for part in [platform] + parts {
            let bytes = Array(part.utf8)
            hasher.update(data: withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init))
            hasher.update(data: bytes)
        }
        return platform + "-" + Hex.lowercase(hasher.finalize())
    }
}
