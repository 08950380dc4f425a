import HeadcountCore
import HeadcountPipeline

/// The routes of the ingest service, each a pure function from a delivery to events.
public enum IngestAdapter: Sendable, Hashable {
    case canonical, zoom, webex, bbb, cloudevents
    /// Jitsi has one path per occupant event.
    case jitsi(EventType)

    /// The pipeline route that enables this adapter.
    public var route: Pipeline.IngestRoute {
        switch self {
        case .canonical: .canonical
        case .zoom: .zoom
        case .webex: .webex
        case .bbb: .bbb
        case .cloudevents: .cloudevents
        case .jitsi: .jitsi
        }
    }

    /// Verifies, parses, normalises and pseudonymises one delivery.
    public func receive(_ request: WebhookRequest, context: AdapterContext) throws(IngestRefusal) -> WebhookOutcome {
        switch self {
        case .canonical: try CanonicalWebhook.receive(request, context: context)
        case .zoom: try ZoomWebhook.receive(request, context: context)
        case .webex: try WebexWebhook.receive(request, context: context)
        case .bbb: try BigBlueButtonWebhook.receive(request, context: context)
        case .cloudevents: try CloudEventsWebhook.receive(request, context: context)
        case .jitsi(let type): try JitsiWebhook.receive(request, type: type, context: context)
        }
    }
}
