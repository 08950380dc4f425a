import HeadcountCore
import HeadcountPipeline

/// Jitsi's occupant events as prosody's `mod_event_sync_component` posts them (and JaaS,
/// which adds an `idempotencyKey`): one route per event, authorised by a bearer token.
public enum JitsiWebhook {
    static let platform = "jitsi"

    public static func receive(_ request: WebhookRequest, type: EventType, context: AdapterContext) throws(IngestRefusal) -> WebhookOutcome {
        try Signatures.checkBearer(request, token: try context.secret(.jitsi))
        let delivery = try WebhookJSON.decode(Delivery.self, from: request.body)
        let occupant = delivery.occupant
        guard let session = nonEmpty(occupant.occupant_jid) else {
            throw IngestRefusal(.unprocessable, "missing field", where: "occupant.occupant_jid")
        }
        guard let at = (type == .join ? occupant.joined_at : occupant.left_at)?.instant else {
            throw IngestRefusal(.unprocessable, "missing field", where: type == .join ? "occupant.joined_at" : "occupant.left_at")
        }
        let participant = try context.participant(
            [.email: occupant.email, .platformID: occupant.id, .name: occupant.name], where: "occupant.email")
        let event = context.event(
            platform: platform, meeting: delivery.room_jid ?? delivery.room_name ?? "", participant: participant,
            session: session, type: type, at: at, platformEventID: nonEmpty(delivery.idempotencyKey))
        return try context.checked([event]) { _ in "occupant" }
    }

    // Prosody's field names, as documented.
    struct Delivery: Decodable {
        let room_name: String?
        let room_jid: String?
        let idempotencyKey: String?
        let occupant: Occupant
    }
    struct Occupant: Decodable {
        let occupant_jid: String?
        let id: String?
        let email: String?
        let name: String?
        let joined_at: WebhookTime?
        let left_at: WebhookTime?
    }
}
