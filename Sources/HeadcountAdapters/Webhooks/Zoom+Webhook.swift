import HeadcountCore
import HeadcountPipeline

/// Zoom's webhooks: `meeting.participant_joined|left`, `webinar.participant_joined|left` and
/// the `endpoint.url_validation` challenge, signed with the app's secret token.
///
/// Zoom retries a delivery for up to an hour, each attempt freshly signed; a rejoin gets new
/// `participant_uuid` and `user_id`, so the session changes while the participant does not.
public enum ZoomWebhook {
    static let platform = "zoom"

    public static func receive(_ request: WebhookRequest, context: AdapterContext) throws(IngestRefusal) -> WebhookOutcome {
        let secret = try context.secret(.zoom)
        try verify(request, secret: secret, now: context.now)
        // One decode for the common case, a participant event; the envelope is read on its
        // own only when that fails (the challenge, other events, malformed bodies).
        let delivery: Delivery
        do {
            delivery = try WebhookJSON.decode(Delivery.self, from: request.body)
        } catch {
            return try receiveOther(request, secret: secret, failure: error)
        }
        let type: EventType
        switch delivery.event {
        case "meeting.participant_joined", "webinar.participant_joined": type = .join
        case "meeting.participant_left", "webinar.participant_left": type = .leave
        default: return try receiveOther(request, secret: secret, failure: nil)
        }
        let object = delivery.payload.object
        let person = object.participant
        let base = "payload.object.participant"
        guard let session = nonEmpty(person.participant_uuid?.value) ?? nonEmpty(person.user_id?.value) else {
            throw IngestRefusal(.unprocessable, "missing field (participant_uuid or user_id)", where: base + ".participant_uuid")
        }
        guard let meeting = nonEmpty(object.uuid?.value) ?? nonEmpty(object.id?.value) else {
            throw IngestRefusal(.unprocessable, "missing field (uuid or id)", where: "payload.object.uuid")
        }
        let time = type == .join ? person.join_time : person.leave_time
        guard let at = time?.instant else {
            throw IngestRefusal(.unprocessable, "missing field", where: base + (type == .join ? ".join_time" : ".leave_time"))
        }
        let participant = try context.participant([
            .email: person.email,
            .platformID: nonEmpty(person.registrant_id?.value) ?? nonEmpty(person.participant_user_id?.value) ?? person.id?.value,
            .name: person.user_name,
        ], where: base + ".email")
        let event = context.event(platform: platform, meeting: meeting, participant: participant, session: session, type: type, at: at)
        return try context.checked([event]) { _ in base }
    }

    /// A verified delivery that is not a well-formed participant event: the URL validation
    /// challenge, an event Headcount does not count, or `failure` (why the participant event
    /// could not be read).
    static func receiveOther(_ request: WebhookRequest, secret: [UInt8], failure: IngestRefusal?) throws(IngestRefusal) -> WebhookOutcome {
        let envelope = try WebhookJSON.decode(Envelope.self, from: request.body)
        switch envelope.event {
        case "endpoint.url_validation":
            let challenge = try WebhookJSON.decode(Challenge.self, from: request.body)
            return .reply(status: 200, json: challengeResponse(plainToken: challenge.payload.plainToken, secret: secret))
        case "meeting.participant_joined", "webinar.participant_joined", "meeting.participant_left", "webinar.participant_left":
            throw failure ?? IngestRefusal(.malformed, "not a participant event", where: "payload")
        default:
            throw IngestRefusal(
                .unprocessable, "event \"\(envelope.event.prefix(60))\" is not counted: subscribe to participant_joined and participant_left only",
                where: "event")
        }
    }

    /// `x-zm-signature` = `v0=` + hex HMAC-SHA256 of `v0:{x-zm-request-timestamp}:{body}`,
    /// the timestamp within 5 minutes of the clock (a replayed old delivery is refused).
    static func verify(_ request: WebhookRequest, secret: [UInt8], now: Instant) throws(IngestRefusal) {
        guard let timestamp = request.header("x-zm-request-timestamp"), let seconds = Int64(timestamp) else {
            throw IngestRefusal(.unauthorized, "missing or non-numeric request timestamp", where: "header x-zm-request-timestamp")
        }
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow, abs(milliseconds - now.milliseconds) <= AdapterContext.maximumSkew.wholeMilliseconds else {
            throw IngestRefusal(.unauthorized, "stale request timestamp: more than 5 minutes from the ingest clock", where: "header x-zm-request-timestamp")
        }
        guard let signature = request.header("x-zm-signature") else {
            throw IngestRefusal(.unauthorized, "missing signature", where: "header x-zm-signature")
        }
        let expected = "v0=" + Signatures.hmacSHA256(key: secret, Array("v0:\(timestamp):".utf8) + request.body)
        guard Signatures.constantTimeEquals(signature.utf8, expected.utf8) else {
            throw IngestRefusal(.unauthorized, "signature does not match", where: "header x-zm-signature")
        }
    }

    /// `{"plainToken": …, "encryptedToken": hex HMAC-SHA256(secret token, plainToken)}`.
    static func challengeResponse(plainToken: String, secret: [UInt8]) -> String {
        var out = "{\"plainToken\":"
        CanonicalEvent.appendQuoted(plainToken, to: &out)
        out += ",\"encryptedToken\":\"" + Signatures.hmacSHA256(key: secret, Array(plainToken.utf8)) + "\"}"
        return out
    }

    // Zoom's field names, as documented.
    // swiftlint:disable identifier_name
    struct Envelope: Decodable { let event: String }
    struct Challenge: Decodable {
        struct Payload: Decodable { let plainToken: String }
        let payload: Payload
    }
    struct Delivery: Decodable {
        struct Payload: Decodable { let object: MeetingObject }
        let event: String
        let payload: Payload
    }
    struct MeetingObject: Decodable {
        let uuid: LooseString?
        let id: LooseString?
        let participant: Participant
    }
    struct Participant: Decodable {
        let user_id: LooseString?
        let participant_uuid: LooseString?
        let participant_user_id: LooseString?
        let id: LooseString?
        let registrant_id: LooseString?
        let email: String?
        let user_name: String?
        let join_time: WebhookTime?
        let leave_time: WebhookTime?
        let leave_reason: String?
    }
    // swiftlint:enable identifier_name
}

func nonEmpty(_ text: String?) -> String? {
    guard let text, !text.trimmingWhitespace().isEmpty else { return nil }
    return text
}
