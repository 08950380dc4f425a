import HeadcountAdapters
import HeadcountCore
import Testing

@Suite("Zoom adapter: signature, challenge, normalisation")
struct ZoomAdapterTests {
    func receive(_ request: WebhookRequest, now: Instant = Fixtures.now) throws -> WebhookOutcome {
        try ZoomWebhook.receive(request, context: try Fixtures.context(now: now))
    }

    func refusal(_ request: WebhookRequest, now: Instant = Fixtures.now) throws -> IngestRefusal? {
        do {
            _ = try ZoomWebhook.receive(request, context: try Fixtures.context(now: now))
            return nil
        } catch let refusal as IngestRefusal {
            return refusal
        }
    }

    @Test("a signed participant_joined becomes one canonical join, e-mail pseudonymised")
    func joined() throws {
        let events = try receive(Fixtures.zoomRequest(Fixtures.zoomBody())).events
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event.type == .join)
        #expect(event.pipeline == Fixtures.pipelineID)
        #expect(event.participant == Fixtures.participant("ana.teacher@school.id"))
        #expect(event.participant.utf8.count == 64 && !event.participant.contains("@"))
        #expect(event.session == "uuid-conn-1")
        #expect(event.at == Instant(rfc3339: "2025-09-20T02:05:00Z"))
        #expect(event.source == "zoom")
        #expect(event.id.hasPrefix("zoom-"))
    }

    @Test("a retried delivery, signed again later, is the same event id")
    func retried() throws {
        let body = Fixtures.zoomBody()
        let first = try receive(Fixtures.zoomRequest(body)).events
        let later = Fixtures.now + .seconds(200)
        let retry = try receive(Fixtures.zoomRequest(body, timestamp: later), now: later).events
        #expect(first == retry)
    }

    @Test("a rejoin has new platform ids: same participant, new session, new event")
    func rejoin() throws {
        let first = try receive(Fixtures.zoomRequest(Fixtures.zoomBody())).events[0]
        let again = try receive(Fixtures.zoomRequest(Fixtures.zoomBody(
            participantUUID: "uuid-conn-2", userID: "16779999", time: "2025-09-20T02:15:00Z"))).events[0]
        #expect(again.participant == first.participant)
        #expect(again.session != first.session)
        #expect(again.id != first.id)
    }

    @Test("left uses leave_time; webinar events count the same")
    func leftAndWebinar() throws {
        let left = try receive(Fixtures.zoomRequest(Fixtures.zoomBody(event: "webinar.participant_left", time: "2025-09-20T02:25:00Z"))).events
        #expect(left.map(\.type) == [.leave])
        #expect(left.first?.at == Instant(rfc3339: "2025-09-20T02:25:00Z"))
    }

    @Test("without e-mail the stable Zoom id identifies the person")
    func platformID() throws {
        let event = try receive(Fixtures.zoomRequest(Fixtures.zoomBody(email: nil))).events[0]
        #expect(event.participant == Fixtures.participant("zu-77"))
    }

    @Test("url_validation: plainToken and encryptedToken = HMAC-SHA256 with the secret token")
    func challenge() throws {
        let body = #"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#
        let outcome = try receive(Fixtures.zoomRequest(body))
        let expected = Fixtures.hex(HMACFixture.sha256(key: Fixtures.secrets[.zoom]!, "qgg8vlvZRS6UYooatFL8Aw"))
        #expect(outcome == .reply(status: 200, json: #"{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":""# + expected + #""}"#))
    }

    @Test("bad signature, wrong secret, missing headers and stale timestamps: 401")
    func unauthorized() throws {
        var tampered = Fixtures.zoomRequest(Fixtures.zoomBody())
        tampered.body = Array(Fixtures.zoomBody(email: "mallory@example.org").utf8)
        #expect(try refusal(tampered)?.kind == .unauthorized)
        #expect(try refusal(Fixtures.zoomRequest(Fixtures.zoomBody(), secret: Array("other".utf8)))?.where == "header x-zm-signature")
        var unsigned = Fixtures.zoomRequest(Fixtures.zoomBody())
        unsigned.headers.removeAll { $0.name == "x-zm-signature" }
        #expect(try refusal(unsigned)?.kind == .unauthorized)
        let stale = try refusal(Fixtures.zoomRequest(Fixtures.zoomBody(), timestamp: Fixtures.now - .seconds(301)))
        #expect(stale?.kind == .unauthorized)
        #expect(stale?.where == "header x-zm-request-timestamp")
        #expect(try refusal(Fixtures.zoomRequest(Fixtures.zoomBody(), timestamp: Fixtures.now + .seconds(301)))?.kind == .unauthorized)
        #expect(try refusal(Fixtures.zoomRequest(Fixtures.zoomBody(), timestamp: Fixtures.now - .seconds(299))) == nil)
    }

    @Test("missing and wrongly typed fields: 422 naming the field; broken JSON: 400")
    func badPayloads() throws {
        let noTime = #"{"event":"meeting.participant_joined","payload":{"object":{"uuid":"u","participant":{"user_id":"1","email":"a@b.cd"}}}}"#
        #expect(try refusal(Fixtures.zoomRequest(noTime)) == IngestRefusal(.unprocessable, "missing field", where: "payload.object.participant.join_time"))
        let wrongType = #"{"event":"meeting.participant_joined","payload":{"object":{"uuid":"u","participant":{"user_id":"1","email":42,"join_time":"2025-09-20T02:05:00Z"}}}}"#
        let typed = try refusal(Fixtures.zoomRequest(wrongType))
        #expect(typed?.kind == .unprocessable)
        #expect(typed?.where == "payload.object.participant.email")
        let noParticipant = #"{"event":"meeting.participant_joined","payload":{"object":{"uuid":"u"}}}"#
        #expect(try refusal(Fixtures.zoomRequest(noParticipant))?.where == "payload.object.participant")
        #expect(try refusal(Fixtures.zoomRequest("{\"event\": "))?.kind == .malformed)
        #expect(try refusal(Fixtures.zoomRequest(#"{"event":"meeting.started","payload":{}}"#))?.where == "event")
        let badTime = Fixtures.zoomBody(time: "yesterday")
        #expect(try refusal(Fixtures.zoomRequest(badTime))?.where == "payload.object.participant.join_time")
    }

    @Test("an event more than 5 minutes ahead of the ingest clock, or outside the window ±1 day: 422")
    func eventTimes() throws {
        let future = try refusal(Fixtures.zoomRequest(Fixtures.zoomBody(time: "2025-09-20T02:36:00Z")))
        #expect(future?.kind == .unprocessable)
        #expect(future?.error.hasPrefix("from_the_future") == true)
        let later = Instant(rfc3339: "2025-09-23T00:00:00Z")!
        let outside = try refusal(Fixtures.zoomRequest(Fixtures.zoomBody(time: "2025-09-22T23:00:00Z"), timestamp: later), now: later)
        #expect(outside?.error.hasPrefix("impossible_timestamp") == true)
    }
}

extension IngestRefusal {
    var `where`: String { location }
}
