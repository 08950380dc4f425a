import Crypto
import Foundation
import HeadcountCore
import HeadcountPipeline

/// bbb-webhooks callbacks: a form-encoded body whose `event` is a JSON array of events, with
/// `?checksum=` the hex SHA-1 or SHA-256 of callback URL + body + shared secret.
///
/// Only `user-joined` and `user-left` count; other events of the array (bbb-webhooks sends
/// every event unless the hook was registered with a filter) are ignored. Every rejoin gets
/// a new `internal-user-id`, which is the session.
public enum BigBlueButtonWebhook {
    static let platform = "bbb"

    public static func receive(_ request: WebhookRequest, context: AdapterContext) throws(IngestRefusal) -> WebhookOutcome {
        let secret = try context.secret(.bbb)
        try verify(request, secret: secret, callbackURL: context.ingest.bbbCallbackURL ?? "")
        guard let form = FormDecoding.decode(request.body) else {
            throw IngestRefusal(.malformed, "not a valid application/x-www-form-urlencoded body", where: "body")
        }
        guard let json = form["event"] else { throw IngestRefusal(.unprocessable, "missing form field", where: "event") }
        let entries = try WebhookJSON.decode([Entry].self, from: Array(json.utf8), root: "event")
        var events: [Event] = []
        var places: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let type = entry.type, let attributes = entry.attributes else { continue }
            let place = "event[\(index)].data.attributes"
            guard let session = nonEmpty(attributes.user.internalUserID) else {
                throw IngestRefusal(.unprocessable, "missing field", where: place + ".user.internal-user-id")
            }
            guard let meeting = nonEmpty(attributes.meeting.internalMeetingID) else {
                throw IngestRefusal(.unprocessable, "missing field", where: place + ".meeting.internal-meeting-id")
            }
            guard let at = entry.at else { throw IngestRefusal(.unprocessable, "missing field", where: "event[\(index)].data.event.ts") }
            let participant = try context.participant(
                [.email: attributes.user.email, .platformID: attributes.user.externalUserID, .name: attributes.user.name],
                where: place + ".user.external-user-id")
            events.append(context.event(platform: platform, meeting: meeting, participant: participant, session: session, type: type, at: at))
            places.append("event[\(index)]")
        }
        return try context.checked(events) { places[$0] }
    }

    /// The checksum is SHA-1 (40 hex digits) or SHA-256 (64), as the BBB server is configured.
    static func verify(_ request: WebhookRequest, secret: [UInt8], callbackURL: String) throws(IngestRefusal) {
        guard let checksum = request.query["checksum"]?.lowercased() else {
            throw IngestRefusal(.unauthorized, "missing checksum", where: "query checksum")
        }
        let signed = Array(callbackURL.utf8) + request.body + secret
        let expected: String
        switch checksum.utf8.count {
        case 40: expected = Hex.lowercase(Insecure.SHA1.hash(data: signed))
        case 64: expected = Hex.lowercase(SHA256.hash(data: signed))
        default: throw IngestRefusal(.unauthorized, "checksum must be 40 (SHA-1) or 64 (SHA-256) hex digits", where: "query checksum")
        }
        guard Signatures.constantTimeEquals(checksum.utf8, expected.utf8) else {
            throw IngestRefusal(.unauthorized, "checksum does not match", where: "query checksum")
        }
    }

    /// One element of the `event` array; `attributes` only decoded for the events that count.
    struct Entry: Decodable {
        let type: EventType?
        let attributes: Attributes?
        let at: Instant?

        private enum Keys: String, CodingKey { case data, id, attributes, event, ts }

        init(from decoder: any Decoder) throws {
            let data = try decoder.container(keyedBy: Keys.self).nestedContainer(keyedBy: Keys.self, forKey: .data)
            switch try data.decode(String.self, forKey: .id) {
            case "user-joined": type = .join
            case "user-left": type = .leave
            default:
                (type, attributes, at) = (nil, nil, nil)
                return
            }
            attributes = try data.decode(Attributes.self, forKey: .attributes)
            let event = try data.nestedContainer(keyedBy: Keys.self, forKey: .event)
            let ts = try event.decode(Double.self, forKey: .ts)
            guard ts.isFinite, ts >= 0, ts < 1e15 else {
                throw DecodingError.dataCorruptedError(forKey: .ts, in: event, debugDescription: "must be milliseconds since 1970")
            }
            at = Instant(milliseconds: Int64(ts))
        }
    }
    struct Attributes: Decodable {
        struct Meeting: Decodable {
            let internalMeetingID: String?
            enum CodingKeys: String, CodingKey { case internalMeetingID = "internal-meeting-id" }
        }
        struct User: Decodable {
            let internalUserID: String?
            let externalUserID: String?
            let name: String?
            let email: String?
            enum CodingKeys: String, CodingKey {
                case internalUserID = "internal-user-id", externalUserID = "external-user-id", name, email
            }
        }
        let meeting: Meeting
        let user: User
    }
}

/// `application/x-www-form-urlencoded`, as HTML forms and bbb-webhooks send it.
enum FormDecoding {
    /// The fields (the first of a repeated name wins), or nil when the encoding is broken.
    static func decode(_ body: [UInt8]) -> [String: String]? {
        guard let text = String(validating: body, as: UTF8.self) else { return nil }
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = unescape(parts[0]), let value = unescape(parts.count > 1 ? parts[1] : "") else { return nil }
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    private static func unescape(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
