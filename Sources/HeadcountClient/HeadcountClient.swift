import AsyncHTTPClient
import Foundation
import HeadcountAdapters
import HeadcountCore
import HeadcountPipeline
import Logging
import NIOCore
import NIOHTTP1

/// Publishes canonical events to a Headcount ingest service from Swift.
///
/// Events are made and checked here exactly as the server checks them (the pipeline's
/// window, the canonical limits) and identities are pseudonymised here with the pipeline's
/// key, so no raw e-mail address ever leaves the integrator's process. A 503 (Kafka
/// unavailable) is retried after its `Retry-After`; any other refusal is final.
///
/// ```swift
/// let client = HeadcountClient(baseURL: "https://ingest.example.org", pipeline: pipeline,
///                              token: token, pseudonymKey: key)
/// let event = try client.event(type: .join, identity: "ana@school.id", session: "tab-1", at: now, source: "lms")
/// try await client.publish([event])
/// ```
public struct HeadcountClient: Sendable {
    public let baseURL: String
    public let pipeline: Pipeline
    let token: String
    let pseudonymizer: Pseudonymizer
    let httpClient: HTTPClient
    /// Attempts per publish, the first included; default 5.
    public var maximumAttempts = 5
    /// The longest wait between attempts, whatever `Retry-After` says; default 10 s.
    public var maximumBackoff: Duration = .seconds(10)
    /// How long one request may take; default 10 s.
    public var requestTimeout: Duration = .seconds(10)

    public init(baseURL: String, pipeline: Pipeline, token: String, pseudonymKey: [UInt8], httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.pipeline = pipeline
        self.token = token
        self.pseudonymizer = Pseudonymizer(key: pseudonymKey)
        self.httpClient = httpClient
    }

    /// A canonical event for a person's identity (e-mail or a stable id), pseudonymised.
    /// Without `id`, a deterministic one from its content, so republishing dedupes.
    public func event(
        id: String? = nil, type: EventType, identity: String, session: String, at: Instant, source: String
    ) throws(HeadcountClientError) -> Event {
        guard let participant = pseudonymizer.participant(identity: identity) else {
            throw HeadcountClientError(status: nil, error: "the identity is blank", where: "identity")
        }
        let event = Event(
            id: id ?? CanonicalEventID.canonical(pipeline: pipeline.id, participant: participant, session: session, type: type, at: at),
            pipeline: pipeline.id, type: type, participant: participant, session: session, at: at, source: source)
        try validate(event, where: "event")
        return event
    }

    /// Sends the events in one request; returns once the server answered that Kafka
    /// acknowledged all of them.
    public func publish(_ events: [Event]) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        var body = ""
        for (index, event) in events.enumerated() {
            try validate(event, where: "events[\(index)]")
            body += CanonicalEvent.encode(event) + "\n"
        }
        var attempt = 1
        while true {
            var request = HTTPClientRequest(url: "\(baseURL)/v1/pipelines/\(pipeline.id)/events")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/x-ndjson")
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await httpClient.execute(request, timeout: .milliseconds(requestTimeout.wholeMilliseconds))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            if response.status == .ok { return events.count }
            let failure = HeadcountClientError(status: Int(response.status.code), json: text)
            guard response.status == .serviceUnavailable, attempt < maximumAttempts else { throw failure }
            let advised = response.headers.first(name: "Retry-After").flatMap(Int.init).map { Duration.seconds($0) } ?? .seconds(1)
            try await Task.sleep(for: min(advised, maximumBackoff))
            attempt += 1
        }
    }

    private func validate(_ event: Event, where location: String) throws(HeadcountClientError) {
        do {
            // The server's own checks: the strict decoder on the encoded form, then the pipeline's.
            _ = try CanonicalEvent.decode(Array(CanonicalEvent.encode(event).utf8))
            try pipeline.validate(event)
        } catch {
            throw HeadcountClientError(status: nil, error: error.description, where: location)
        }
    }
}

/// A refusal by the client's own checks (`status` nil) or by the server.
public struct HeadcountClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int?
    public var error: String
    public var `where`: String

    public init(status: Int?, error: String, where location: String) {
        self.status = status
        self.error = error
        self.where = location
    }

    /// From the server's `{"error": …, "where": …}` body.
    init(status: Int, json: String) {
        let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
        self.init(status: status, error: object?["error"] as? String ?? "HTTP \(status)", where: object?["where"] as? String ?? "")
    }

    public var description: String { (status.map { "\($0) " } ?? "") + "\(error) (at \(`where`))" }
}
