import Crypto
import Foundation
import HeadcountAdapters
import HeadcountCore
import HeadcountPipeline

/// The platforms `headcount simulate` speaks, each through its own ingest route.
enum SimulatedPlatform: String, Sendable, CaseIterable {
    case canonical, zoom, webex, bbb, jitsi, cloudevents

    /// Routes that take many events per request; the others take one event per request.
    var batches: Bool { self == .canonical || self == .bbb || self == .cloudevents }
    /// Whether the platform's own webhooks carry heartbeats (the others' sessions are
    /// confirmed by a poller of the platform's live-participants API, through the canonical route).
    var carriesHeartbeats: Bool { self == .canonical || self == .cloudevents }

    var route: Pipeline.IngestRoute {
        switch self {
        case .canonical: .canonical
        case .zoom: .zoom
        case .webex: .webex
        case .bbb: .bbb
        case .jitsi: .jitsi
        case .cloudevents: .cloudevents
        }
    }

    /// The demo's mix, by connection (percent): most volume (heartbeats and joins of web
    /// clients) goes through the batching routes; Zoom, Webex and Jitsi, one request per event,
    /// carry a realistic share of joins and leaves.
    static let mix: [(SimulatedPlatform, Int)] = [
        (.canonical, 35), (.cloudevents, 15), (.bbb, 15), (.zoom, 20), (.webex, 8), (.jitsi, 7),
    ]

    /// The platform of one connection of one teacher: a seeded, stable choice (a teacher's
    /// devices may be on different platforms, with the same e-mail on each).
    static func forConnection(participant: String, session: String, in mix: [(SimulatedPlatform, Int)]) -> SimulatedPlatform {
        let total = mix.reduce(0) { $0 + $1.1 }
        let digest = SHA256.hash(data: Array((participant + "/" + session).utf8))
        var draw = Int(digest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } % UInt32(max(1, total)))
        for (platform, share) in mix {
            if draw < share { return platform }
            draw -= share
        }
        return mix.last?.0 ?? .canonical
    }
}

/// One HTTP request to ingest, exactly as sent; `signedHeaders` signs it at the moment it is
/// sent (Zoom's signature covers a timestamp of the ingest clock).
struct WebhookDelivery: Sendable {
    var platform: SimulatedPlatform
    var adapter: IngestAdapter
    var path: String
    var query: [String: String] = [:]
    var contentType: String
    var body: [UInt8]

    func headers(secret: [UInt8], now: Instant) -> [(name: String, value: String)] {
        var headers = [(name: "Content-Type", value: contentType)]
        switch platform {
        case .canonical, .jitsi, .cloudevents:
            headers.append((name: "Authorization", value: "Bearer " + String(decoding: secret, as: UTF8.self)))
        case .zoom:
            let timestamp = String(now.milliseconds / 1000)
            let signature = HMAC<SHA256>.authenticationCode(for: Array("v0:\(timestamp):".utf8) + body, using: SymmetricKey(data: secret))
            headers.append((name: "x-zm-request-timestamp", value: timestamp))
            headers.append((name: "x-zm-signature", value: "v0=" + Data(signature).hexString))
        case .webex:
            let signature = HMAC<Insecure.SHA1>.authenticationCode(for: body, using: SymmetricKey(data: secret))
            headers.append((name: "X-Spark-Signature", value: Data(signature).hexString))
        case .bbb:
            break
        }
        return headers
    }
}

/// Turns simulated events into each platform's webhook bodies (the formats of docs/adapters.md).
struct WebhookWriter: Sendable {
    let pipeline: Pipeline
    let ingest: Pipeline.Ingest
    let credentials: IngestCredentials
    /// The simulated meeting, as the platforms name it.
    let meeting = "sumsel-ai-webinar"

    /// The simulated teacher's e-mail address: one mailbox per participant, whatever the platform.
    static func email(of participant: String) -> String { participant + "@teachers.example" }

    /// The connection's id on `platform` (as its adapter reads it back): unique per teacher and connection.
    static func session(participant: String, session: String, on platform: SimulatedPlatform) -> String {
        platform == .jitsi ? jitsiRoom + "/" + participant + "-" + session : participant + "-" + session
    }

    static let jitsiRoom = "ai@conference.meet.teachers.example"

    /// Bodies of `events` for `platform`; each event's session is already the platform's id.
    func requests(_ events: [Event], platform: SimulatedPlatform) -> [WebhookDelivery] {
        let base = "/v1/pipelines/\(pipeline.id)"
        switch platform {
        case .canonical:
            let lines = events.map { event -> String in
                let participant = credentials.pseudonymizer.participant(identity: Self.email(of: event.participant)) ?? event.participant
                return CanonicalEvent.encode(Event(
                    id: event.id, pipeline: pipeline.id, type: event.type, participant: participant, session: event.session,
                    at: event.at, source: event.source))
            }
            return [WebhookDelivery(
                platform: platform, adapter: .canonical, path: base + "/events", contentType: "application/x-ndjson",
                body: Array(lines.joined(separator: "\n").utf8))]
        case .cloudevents:
            let items = events.map { event in
                "{\"specversion\":\"1.0\",\"id\":\(quoted(event.id)),\"source\":\"//lms.teachers.example/webinar\",\"type\":\"org.example.attendance\","
                    + "\"data\":{\"type\":\"\(event.type.rawValue)\",\"email\":\(quoted(Self.email(of: event.participant))),"
                    + "\"session\":\(quoted(event.session)),\"at\":\"\(event.at.rfc3339)\"}}"
            }
            return [WebhookDelivery(
                platform: platform, adapter: .cloudevents, path: base + "/cloudevents", contentType: "application/cloudevents-batch+json",
                body: Array(("[" + items.joined(separator: ",") + "]").utf8))]
        case .bbb:
            let items = events.map { event in
                "{\"data\":{\"id\":\"\(event.type == .join ? "user-joined" : "user-left")\",\"attributes\":{\"meeting\":{\"internal-meeting-id\":\(quoted(meeting))},"
                    + "\"user\":{\"internal-user-id\":\(quoted(event.session)),\"email\":\(quoted(Self.email(of: event.participant)))}},"
                    + "\"event\":{\"ts\":\(event.at.milliseconds)}}}"
            }
            let json = "[" + items.joined(separator: ",") + "]"
            let body = Array("event=".utf8) + Self.formEncoded(json)
            let secret = credentials.secrets[.bbb] ?? []
            let checksum = Data(Insecure.SHA1.hash(data: Array((ingest.bbbCallbackURL ?? "").utf8) + body + secret)).hexString
            return [WebhookDelivery(
                platform: platform, adapter: .bbb, path: base + "/bbb", query: ["checksum": checksum],
                contentType: "application/x-www-form-urlencoded", body: body)]
        case .zoom:
            return events.map { event in
                let join = event.type == .join
                let body = "{\"event\":\"meeting.participant_\(join ? "joined" : "left")\",\"event_ts\":\(event.at.milliseconds),"
                    + "\"payload\":{\"account_id\":\"sim\",\"object\":{\"uuid\":\(quoted(meeting)),\"id\":\"85746065432\",\"participant\":{"
                    + "\"user_id\":\(quoted(event.session)),\"participant_uuid\":\(quoted(event.session)),"
                    + "\"email\":\(quoted(Self.email(of: event.participant))),\"user_name\":\(quoted(event.participant)),"
                    + "\"\(join ? "join_time" : "leave_time")\":\"\(event.at.rfc3339)\"}}}}"
                return WebhookDelivery(platform: platform, adapter: .zoom, path: base + "/zoom", contentType: "application/json", body: Array(body.utf8))
            }
        case .webex:
            return events.map { event in
                let join = event.type == .join
                let body = "{\"resource\":\"meetingParticipants\",\"event\":\"\(join ? "joined" : "left")\",\"data\":{\"id\":\(quoted(event.participant)),"
                    + "\"meetingId\":\(quoted(meeting)),\"email\":\(quoted(Self.email(of: event.participant))),"
                    + "\"devices\":[{\"correlationId\":\(quoted(event.session)),\"\(join ? "joinedTime" : "leftTime")\":\"\(event.at.rfc3339)\"}]}}"
                return WebhookDelivery(platform: platform, adapter: .webex, path: base + "/webex", contentType: "application/json", body: Array(body.utf8))
            }
        case .jitsi:
            return events.map { event in
                let join = event.type == .join
                let body = "{\"room_name\":\"ai\",\"room_jid\":\"\(Self.jitsiRoom)\",\"idempotencyKey\":\(quoted(event.id)),"
                    + "\"occupant\":{\"occupant_jid\":\(quoted(event.session)),"
                    + "\"email\":\(quoted(Self.email(of: event.participant))),\"\(join ? "joined_at" : "left_at")\":\"\(event.at.rfc3339)\"}}"
                return WebhookDelivery(
                    platform: platform, adapter: .jitsi(join ? .join : .leave),
                    path: base + "/jitsi/events/occupant/\(join ? "joined" : "left")", contentType: "application/json", body: Array(body.utf8))
            }
        }
    }

    /// Percent-encodes every byte but the unreserved ones of RFC 3986 (what bbb-webhooks'
    /// form bodies carry), byte by byte: Foundation's `addingPercentEncoding` was the
    /// simulator's costliest call.
    static func formEncoded(_ text: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 2)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return out
    }

    private func quoted(_ text: String) -> String {
        var out = ""
        CanonicalEvent.appendQuoted(text, to: &out)
        return out
    }
}

extension Data {
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
