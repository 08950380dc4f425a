import HeadcountAdapters
import HeadcountCore
import Testing

/// The refusal an adapter gives, or nil when it accepted.
func refusal(_ body: () throws -> WebhookOutcome) -> IngestRefusal? {
    do {
        _ = try body()
        return nil
    } catch let refusal as IngestRefusal {
        return refusal
    } catch {
        Issue.record("not a refusal: \(error)")
        return nil
    }
}

@Suite("Webex, BigBlueButton, Jitsi, CloudEvents and canonical adapters")
struct PlatformAdapterTests {
    let context: AdapterContext
    let ana = Fixtures.participant("ana.teacher@school.id")

    init() throws { context = try Fixtures.context() }

    @Test("Webex: one event per device, HMAC-SHA1 signature, the same e-mail is the Zoom participant")
    func webex() throws {
        let joined = try WebexWebhook.receive(Fixtures.webexRequest(Fixtures.webexBody()), context: context).events
        #expect(joined.count == 1)
        #expect(joined[0].participant == ana)
        #expect(joined[0].session == "corr-1")
        #expect(joined[0].type == .join)
        #expect(joined[0].at == Instant(rfc3339: "2025-09-20T02:06:00.117Z"))
        let left = try WebexWebhook.receive(Fixtures.webexRequest(Fixtures.webexBody(event: "left")), context: context).events
        #expect(left.map(\.type) == [.leave])
        #expect(left[0].at == Instant(rfc3339: "2025-09-20T02:28:00Z"))
        let zoom = try ZoomWebhook.receive(Fixtures.zoomRequest(Fixtures.zoomBody()), context: context).events
        #expect(zoom[0].participant == joined[0].participant)

        var bad = Fixtures.webexRequest(Fixtures.webexBody())
        bad.body += Array(" ".utf8)
        #expect(refusal { try WebexWebhook.receive(bad, context: context) }?.kind == .unauthorized)
        let noDevices = Fixtures.webexRequest(Fixtures.webexBody(devices: "[]"))
        #expect(refusal { try WebexWebhook.receive(noDevices, context: context) }?.location == "data.devices")
        let typed = Fixtures.webexRequest(Fixtures.webexBody(devices: #"[{"correlationId": 7}]"#))
        #expect(refusal { try WebexWebhook.receive(typed, context: context) }?.location == "data.devices[0].correlationId")
    }

    @Test("BigBlueButton: form body, SHA-1 and SHA-256 checksums, rejoin with a new internal id")
    func bigBlueButton() throws {
        let sha1 = try BigBlueButtonWebhook.receive(Fixtures.bbbRequest(events: Fixtures.bbbEvents()), context: context).events
        let sha256 = try BigBlueButtonWebhook.receive(Fixtures.bbbRequest(events: Fixtures.bbbEvents(), sha256: true), context: context).events
        #expect(sha1 == sha256)
        #expect(sha1.count == 1)
        #expect(sha1[0].participant == ana, "external-user-id looks like an e-mail, so it is lower-cased")
        #expect(sha1[0].session == "w_abc123")
        #expect(sha1[0].at == Instant(milliseconds: 1_758_333_960_000))
        let rejoin = try BigBlueButtonWebhook.receive(
            Fixtures.bbbRequest(events: Fixtures.bbbEvents(internalUserID: "w_def456", ts: "1758334000000")), context: context).events
        #expect(rejoin[0].participant == sha1[0].participant && rejoin[0].session != sha1[0].session)
        let other = try BigBlueButtonWebhook.receive(Fixtures.bbbRequest(events: Fixtures.bbbEvents("meeting-created")), context: context)
        #expect(other == .events([]))

        var wrong = Fixtures.bbbRequest(events: Fixtures.bbbEvents())
        wrong.query["checksum"] = String(repeating: "0", count: 40)
        #expect(refusal { try BigBlueButtonWebhook.receive(wrong, context: context) }?.kind == .unauthorized)
        let typed = Fixtures.bbbRequest(events: Fixtures.bbbEvents(ts: "\"soon\""))
        #expect(refusal { try BigBlueButtonWebhook.receive(typed, context: context) }?.location == "event[0].data.event.ts")
        let broken = Fixtures.bbbRequest(events: "[{")
        #expect(refusal { try BigBlueButtonWebhook.receive(broken, context: context) }?.kind == .malformed)
    }

    @Test("Jitsi: bearer token, occupant_jid is the session, idempotencyKey is the id")
    func jitsi() throws {
        let joined = try JitsiWebhook.receive(Fixtures.bearer(.jitsi, Fixtures.jitsiBody()), type: .join, context: context).events
        #expect(joined[0].participant == ana)
        #expect(joined[0].session == "room@conference.meet.example/a1b2c3")
        #expect(joined[0].at == Instant(rfc3339: "2025-09-20T02:05:00Z"))
        let left = try JitsiWebhook.receive(Fixtures.bearer(.jitsi, Fixtures.jitsiBody(left: true)), type: .leave, context: context).events
        #expect(left[0].at == Instant(rfc3339: "2025-09-20T02:20:00Z"))
        let keyed = { (key: String) in try JitsiWebhook.receive(Fixtures.bearer(.jitsi, Fixtures.jitsiBody(key: key)), type: .join, context: context).events[0].id }
        #expect(try keyed("k-1") == keyed("k-1"))
        #expect(try keyed("k-1") != keyed("k-2"))

        var wrong = Fixtures.bearer(.jitsi, Fixtures.jitsiBody())
        wrong.headers[0].value = "Bearer nope"
        #expect(refusal { try JitsiWebhook.receive(wrong, type: .join, context: context) }?.kind == .unauthorized)
        let noTime = Fixtures.bearer(.jitsi, Fixtures.jitsiBody())
        #expect(refusal { try JitsiWebhook.receive(noTime, type: .leave, context: context) }?.location == "occupant.left_at")
    }

    @Test("CloudEvents: structured and batch, id + source is the identity, time when at is absent")
    func cloudEvents() throws {
        let single = try CloudEventsWebhook.receive(
            Fixtures.bearer(.cloudevents, Fixtures.cloudEvent(), contentType: "application/cloudevents+json"), context: context).events
        #expect(single[0].participant == ana)
        #expect(single[0].session == "tab-1")
        #expect(single[0].at == Instant(rfc3339: "2025-09-20T02:07:00Z"))
        let batch = "[" + Fixtures.cloudEvent() + "," + Fixtures.cloudEvent(id: "ce-2", type: "leave", at: nil) + "]"
        let both = try CloudEventsWebhook.receive(
            Fixtures.bearer(.cloudevents, batch, contentType: "application/cloudevents-batch+json; charset=utf-8"), context: context).events
        #expect(both.count == 2)
        #expect(both[0].id == single[0].id)
        #expect(both[1].at == Instant(rfc3339: "2025-09-20T02:07:30Z"))

        let plain = Fixtures.bearer(.cloudevents, Fixtures.cloudEvent(), contentType: "application/json")
        #expect(refusal { try CloudEventsWebhook.receive(plain, context: context) }?.location == "header Content-Type")
        let badBatch = "[" + Fixtures.cloudEvent() + "," + Fixtures.cloudEvent(type: "wave") + "]"
        let refused = refusal {
            try CloudEventsWebhook.receive(Fixtures.bearer(.cloudevents, badBatch, contentType: "application/cloudevents-batch+json"), context: context)
        }
        #expect(refused?.location == "[1].data.type")
    }

    @Test("canonical: JSON array and NDJSON, strict validation naming the element or line")
    func canonical() throws {
        let array = "[" + Fixtures.canonicalEvent() + ", " + Fixtures.canonicalEvent(id: "c-2", type: "leave") + "]"
        let fromArray = try CanonicalWebhook.receive(Fixtures.bearer(.canonical, array), context: context).events
        #expect(fromArray.map(\.id) == ["c-1", "c-2"])
        #expect(fromArray[0].participant == "p-1", "canonical events arrive already pseudonymised")
        let ndjson = Fixtures.canonicalEvent() + "\n\n" + Fixtures.canonicalEvent(id: "c-2", type: "leave") + "\r\n"
        #expect(try CanonicalWebhook.receive(Fixtures.bearer(.canonical, ndjson), context: context).events == fromArray)

        let bad = Fixtures.canonicalEvent() + "\n" + #"{"id":"x"}"#
        #expect(refusal { try CanonicalWebhook.receive(Fixtures.bearer(.canonical, bad), context: context) }
            == IngestRefusal(.unprocessable, "wrong_schema: missing field \"type\"", where: "line 2"))
        let truncated = "[" + Fixtures.canonicalEvent() + ", {\"id\":"
        #expect(refusal { try CanonicalWebhook.receive(Fixtures.bearer(.canonical, truncated), context: context) }?.kind == .malformed)
        let otherPipeline = "[" + Fixtures.canonicalEvent().replacingOccurrences(of: Fixtures.pipelineID, with: "other") + "]"
        #expect(refusal { try CanonicalWebhook.receive(Fixtures.bearer(.canonical, otherPipeline), context: context) }?.location == "events[0]")
        #expect(refusal { try CanonicalWebhook.receive(Fixtures.bearer(.canonical, "[]"), context: context) }?.kind == .unprocessable)
        let noToken = WebhookRequest(body: Array(array.utf8))
        #expect(refusal { try CanonicalWebhook.receive(noToken, context: context) }?.kind == .unauthorized)
    }

    @Test("identity order: the configured field comes first; none present is 422")
    func identityOrder() throws {
        var ingest = context.ingest
        ingest.identity = [.platformID, .email]
        let reordered = AdapterContext(pipeline: context.pipeline, ingest: ingest, credentials: context.credentials, now: context.now)
        let event = try ZoomWebhook.receive(Fixtures.zoomRequest(Fixtures.zoomBody()), context: reordered).events[0]
        #expect(event.participant == Fixtures.participant("zu-77"))
        ingest.identity = [.email]
        let emailOnly = AdapterContext(pipeline: context.pipeline, ingest: ingest, credentials: context.credentials, now: context.now)
        #expect(refusal { try ZoomWebhook.receive(Fixtures.zoomRequest(Fixtures.zoomBody(email: nil)), context: emailOnly) }?.kind == .unprocessable)
    }
}
