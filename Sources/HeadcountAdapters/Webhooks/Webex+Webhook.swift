import HeadcountCore
import HeadcountPipeline

/// Webex `meetingParticipants` webhooks, `joined` and `left`, signed with `X-Spark-Signature`
/// (hex HMAC-SHA1 of the raw body with the webhook's secret).
///
/// Each device of the participant is a session (`devices[].correlationId`): a `joined` that
/// lists a device already seen yields the same event id again, which the worker keeps once.
public enum WebexWebhook {
    static let platform = "webex"

    public static func receive(_ request: WebhookRequest, context: AdapterContext) throws(IngestRefusal) -> WebhookOutcome {
        let secret = try context.secret(.webex)
        guard let signature = request.header("X-Spark-Signature") else {
            throw IngestRefusal(.unauthorized, "missing signature", where: "header X-Spark-Signature")
        }
        guard Signatures.constantTimeEquals(signature.lowercased().utf8, Signatures.hmacSHA1(key: secret, request.body).utf8) else {
            throw IngestRefusal(.unauthorized, "signature does not match", where: "header X-Spark-Signature")
        }
        let delivery = try WebhookJSON.decode(Delivery.self, from: request.body)
        guard delivery.resource == "meetingParticipants" else {
            throw IngestRefusal(.unprocessable, "resource \"\(delivery.resource.prefix(60))\" is not counted: subscribe to meetingParticipants", where: "resource")
        }
        let type: EventType
        switch delivery.event {
        case "joined": type = .join
        case "left": type = .leave
        default: throw IngestRefusal(.unprocessable, "event must be joined or left", where: "event")
        }
        let data = delivery.data
        let devices = (data.devices ?? []).enumerated().filter { nonEmpty($0.element.correlationId) != nil }
        guard !devices.isEmpty else {
            throw IngestRefusal(.unprocessable, "needs at least one device with a correlationId", where: "data.devices")
        }
        let participant = try context.participant(
            [.email: data.email, .platformID: data.id, .name: data.displayName], where: "data.email")
        let meeting = data.meetingId ?? ""
        var events: [Event] = []
        for (index, device) in devices {
            let time = type == .join ? (device.joinedTime ?? data.joinedTime) : (device.leftTime ?? data.leftTime)
            guard let at = time?.instant else {
                throw IngestRefusal(.unprocessable, "missing field", where: "data.devices[\(index)].\(type == .join ? "joinedTime" : "leftTime")")
            }
            events.append(context.event(
                platform: platform, meeting: meeting, participant: participant, session: device.correlationId!, type: type, at: at))
        }
        return try context.checked(events) { "data.devices[\(devices[$0].offset)]" }
    }

    struct Delivery: Decodable {
        let resource: String
        let event: String
        let data: Participant
    }
    struct Participant: Decodable {
        let id: String?
        let meetingId: String?
        let email: String?
        let displayName: String?
        let joinedTime: WebhookTime?
        let leftTime: WebhookTime?
        let devices: [Device]?
    }
    struct Device: Decodable {
        let correlationId: String?
        let joinedTime: WebhookTime?
        let leftTime: WebhookTime?
    }
}
