import Crypto
import Foundation
import HeadcountAdapters
import HeadcountCore
import HeadcountPipeline
import Logging

/// Payloads written from each platform's documented format, signed as the platform signs them.
enum Fixtures {
    static let pipelineID = "ingest-test"
    static let pseudonymKey = Array("test-pseudonym-key".utf8)
    static let secrets: [Pipeline.IngestRoute: [UInt8]] = [
        .canonical: Array("canonical-token".utf8), .zoom: Array("zoom-secret-token".utf8),
        .webex: Array("webex-secret".utf8), .bbb: Array("bbb-shared-secret".utf8),
        .jitsi: Array("jitsi-token".utf8), .cloudevents: Array("cloudevents-token".utf8),
    ]
    static let callbackURL = "https://ingest.example.org/v1/pipelines/ingest-test/bbb"
    /// The clock every adapter test runs at: inside the pipeline's window.
    static let now = Instant(rfc3339: "2025-09-20T02:30:00Z")!

    static var logger: Logger {
        var logger = Logger(label: "HeadcountIngestTests")
        logger.logLevel = ProcessInfo.processInfo.environment["INGEST_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }

    static func yaml(topic: String = "headcount.ingest-test.events") -> String {
        """
        id: \(pipelineID)
        window:
          start: 2025-09-20T09:00:00+07:00
          end: 2025-09-20T11:00:00+07:00
        kafka:
          topic: \(topic)
          partitions: 2
        ingest:
          pseudonymKeyEnvironment: TEST_PSEUDONYM_KEY
          canonical: { secretEnvironment: TEST_CANONICAL }
          zoom: { secretEnvironment: TEST_ZOOM }
          webex: { secretEnvironment: TEST_WEBEX }
          bbb: { secretEnvironment: TEST_BBB, callbackURL: \(callbackURL) }
          jitsi: { secretEnvironment: TEST_JITSI }
          cloudevents: { secretEnvironment: TEST_CLOUDEVENTS }
        """
    }

    static let environment: [String: String] = [
        "TEST_PSEUDONYM_KEY": String(decoding: pseudonymKey, as: UTF8.self),
        "TEST_CANONICAL": "canonical-token", "TEST_ZOOM": "zoom-secret-token", "TEST_WEBEX": "webex-secret",
        "TEST_BBB": "bbb-shared-secret", "TEST_JITSI": "jitsi-token", "TEST_CLOUDEVENTS": "cloudevents-token",
    ]

    static func pipeline(topic: String = "headcount.ingest-test.events") throws -> Pipeline {
        try Pipeline.parse(yaml: yaml(topic: topic), file: "ingest-test.yaml")
    }

    static func context(now: Instant = now) throws -> AdapterContext {
        let pipeline = try pipeline()
        return AdapterContext(
            pipeline: pipeline, ingest: pipeline.ingest!,
            credentials: try IngestCredentials.load(for: pipeline.ingest!, environment: environment), now: now)
    }

    static func participant(_ identity: String) -> String {
        Pseudonymizer(key: pseudonymKey).participant(identity: identity)!
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    // MARK: Zoom

    static func zoomBody(
        event: String = "meeting.participant_joined", email: String? = "Ana.Teacher@School.ID ",
        participantUUID: String = "uuid-conn-1", userID: String = "16778240", time: String = "2025-09-20T02:05:00Z",
        extra: String = ""
    ) -> String {
        let timeKey = event.hasSuffix("joined") ? "join_time" : "leave_time"
        let emailField = email.map { "\"email\": \"\($0)\"," } ?? ""
        return """
            {"event": "\(event)", "event_ts": 1758333900000, "payload": {"account_id": "acc-1",
             "object": {"uuid": "4444AAAiAAAAAiAiAiiAii==", "id": 85746065432, "host_id": "h1", "topic": "AI for teachers",
              "participant": {"user_id": "\(userID)", "participant_uuid": "\(participantUUID)", "participant_user_id": "zu-77",
               "id": "zu-77", \(emailField) "user_name": "Ana Teacher", "\(timeKey)": "\(time)"\(extra)}}}}
            """
    }

    static func zoomRequest(_ body: String, timestamp: Instant = now, secret: [UInt8] = secrets[.zoom]!) -> WebhookRequest {
        let seconds = String(timestamp.milliseconds / 1000)
        let signature = "v0=" + hex(HMAC<SHA256>.authenticationCode(for: Array("v0:\(seconds):\(body)".utf8), using: SymmetricKey(data: secret)))
        return WebhookRequest(
            headers: [("x-zm-request-timestamp", seconds), ("x-zm-signature", signature), ("Content-Type", "application/json")],
            body: Array(body.utf8))
    }

    // MARK: Webex

    static func webexBody(event: String = "joined", email: String = "ana.teacher@school.id", devices: String? = nil) -> String {
        let deviceList = devices ?? """
            [{"correlationId": "corr-1", "deviceType": "webex_meeting", "joinedTime": "2025-09-20T02:06:00.117Z"\(event == "left" ? ", \"leftTime\": \"2025-09-20T02:28:00Z\"" : "")}]
            """
        return """
            {"id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0sv", "name": "headcount", "resource": "meetingParticipants", "event": "\(event)",
             "data": {"id": "part-9", "meetingId": "m-123", "email": "\(email)", "displayName": "Ana Teacher",
              "joinedTime": "2025-09-20T02:06:00.117Z", "devices": \(deviceList)}}
            """
    }

    static func webexRequest(_ body: String, secret: [UInt8] = secrets[.webex]!) -> WebhookRequest {
        let signature = hex(HMAC<Insecure.SHA1>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: secret)))
        return WebhookRequest(headers: [("X-Spark-Signature", signature)], body: Array(body.utf8))
    }

    // MARK: BigBlueButton

    static func bbbEvents(_ id: String = "user-joined", internalUserID: String = "w_abc123", ts: String = "1758333960000") -> String {
        """
        [{"data": {"type": "event", "id": "\(id)", "attributes": {"meeting": {"internal-meeting-id": "183f0bf3a0982a127bdb8161e0c44eb696b3e75c-1532718316938", "external-meeting-id": "ai-webinar"},
          "user": {"internal-user-id": "\(internalUserID)", "external-user-id": "Ana.Teacher@school.id", "name": "Ana", "role": "VIEWER"}},
          "event": {"ts": \(ts)}}}]
        """
    }

    static func bbbRequest(events: String, sha256: Bool = false, secret: [UInt8] = secrets[.bbb]!) -> WebhookRequest {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = "event=" + events.addingPercentEncoding(withAllowedCharacters: allowed)! + "&timestamp=1758333960&domain=bbb.example.org"
        let signed = Array(callbackURL.utf8) + Array(body.utf8) + secret
        let checksum = sha256 ? hex(SHA256.hash(data: signed)) : hex(Insecure.SHA1.hash(data: signed))
        return WebhookRequest(
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8), query: ["checksum": checksum])
    }

    // MARK: Jitsi

    static func jitsiBody(left: Bool = false, jid: String = "room@conference.meet.example/a1b2c3", key: String? = nil) -> String {
        let time = left ? "\"left_at\": 1758334800" : "\"joined_at\": 1758333900"
        let idempotency = key.map { ", \"idempotencyKey\": \"\($0)\"" } ?? ""
        return """
            {"event_name": "muc-occupant-\(left ? "left" : "joined")", "room_name": "ai-webinar", "room_jid": "ai-webinar@conference.meet.example",
             "occupant": {"occupant_jid": "\(jid)", "name": "Ana", "email": "ana.teacher@school.id", "id": "jwt-user-1", \(time)}\(idempotency)}
            """
    }

    static func bearer(_ route: Pipeline.IngestRoute, _ body: String, contentType: String = "application/json") -> WebhookRequest {
        WebhookRequest(
            headers: [("Authorization", "Bearer " + String(decoding: secrets[route]!, as: UTF8.self)), ("Content-Type", contentType)],
            body: Array(body.utf8))
    }

    // MARK: CloudEvents

    static func cloudEvent(id: String = "ce-1", type: String = "join", at: String? = "2025-09-20T02:07:00Z") -> String {
        let atField = at.map { ", \"at\": \"\($0)\"" } ?? ""
        return """
            {"specversion": "1.0", "id": "\(id)", "source": "//lms.example/course/7", "type": "org.example.attendance",
             "time": "2025-09-20T02:07:30Z", "datacontenttype": "application/json",
             "data": {"type": "\(type)", "participant": "ana.teacher@school.id", "session": "tab-1"\(atField)}}
            """
    }

    // MARK: Canonical

    static func canonicalEvent(id: String = "c-1", participant: String = "p-1", type: String = "join", at: String = "2025-09-20T02:08:00Z") -> String {
        """
        {"id":"\(id)","pipeline":"\(pipelineID)","type":"\(type)","participant":"\(participant)","session":"s-1","at":"\(at)","source":"lms"}
        """
    }
}

extension WebhookOutcome {
    var events: [Event] {
        if case .events(let events) = self { return events }
        return []
    }
}
