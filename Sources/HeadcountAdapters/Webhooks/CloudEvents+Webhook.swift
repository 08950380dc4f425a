import HeadcountCore
import HeadcountPipeline

/// CloudEvents 1.0 in structured JSON mode, one event or a batch, authorised by a bearer
/// token. `id` + `source` are the event's identity, so a retried CloudEvent is one event.
///
/// `data` carries `type` (join, leave or heartbeat), `participant` (the identity, which is
/// pseudonymised; `email` may come beside it), `session`, and `at` (else the envelope's `time`).
public enum CloudEventsWebhook {
    static let platform = "cloudevents"
    public static let structuredType = "application/cloudevents+json"
    public static let batchType = "application/cloudevents-batch+json"

    public static func receive(_ request: WebhookRequest, context: AdapterContext) throws(IngestRefusal) -> WebhookOutcome {
        try Signatures.checkBearer(request, token: try context.secret(.cloudevents))
        let contentType = (request.header("Content-Type") ?? "").split(separator: ";").first.map { String($0).trimmingWhitespace().lowercased() } ?? ""
        let envelopes: [Envelope]
        let place: (Int) -> String
        switch contentType {
        case structuredType:
            envelopes = [try WebhookJSON.decode(Envelope.self, from: request.body)]
            place = { _ in "" }
        case batchType:
            envelopes = try WebhookJSON.decode([Envelope].self, from: request.body)
            place = { "[\($0)]" }
        default:
            throw IngestRefusal(.malformed, "must be \(structuredType) or \(batchType)", where: "header Content-Type")
        }
        var events: [Event] = []
        for (index, envelope) in envelopes.enumerated() {
            events.append(try event(envelope, at: place(index), context: context))
        }
        return try context.checked(events) { place($0).isEmpty ? "body" : place($0) }
    }

    private static func event(_ envelope: Envelope, at root: String, context: AdapterContext) throws(IngestRefusal) -> Event {
        func field(_ name: String) -> String { root.isEmpty ? name : root + "." + name }
        guard envelope.specversion == "1.0" else { throw IngestRefusal(.unprocessable, "must be \"1.0\"", where: field("specversion")) }
        guard let data = envelope.data else { throw IngestRefusal(.unprocessable, "missing field", where: field("data")) }
        guard let type = EventType(rawValue: data.type) else {
            throw IngestRefusal(.unprocessable, "must be join, leave or heartbeat", where: field("data.type"))
        }
        guard let session = nonEmpty(data.session) else { throw IngestRefusal(.unprocessable, "missing field", where: field("data.session")) }
        guard let at = (data.at ?? envelope.time)?.instant else {
            throw IngestRefusal(.unprocessable, "missing field (data.at or time)", where: field("data.at"))
        }
        let participant = try context.participant([.email: data.email, .platformID: data.participant], where: field("data.participant"))
        return context.event(
            platform: platform, meeting: envelope.source, participant: participant, session: session, type: type, at: at,
            platformEventID: envelope.source + "\u{0}" + envelope.id)
    }

    struct Envelope: Decodable {
        let specversion: String
        let id: String
        let source: String
        let time: WebhookTime?
        let data: Payload?
    }
    struct Payload: Decodable {
        let type: String
        let participant: String?
        let email: String?
        let session: String?
        let at: WebhookTime?
    }
}
