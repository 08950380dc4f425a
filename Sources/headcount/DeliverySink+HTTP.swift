import HeadcountAdapters
import HeadcountClient
import HeadcountCore
import HeadcountPipeline
import HeadcountSimulation

/// `--via canonical`: the canonical route of `headcount ingest`, through `HeadcountClient`
/// (the integrators' library: its validation and pseudonymisation, its retries on 503).
///
/// Each simulated participant is a teacher with an e-mail address; the client turns it into
/// the participant key exactly as the server's identity rules do, and `translate` gives the
/// events as Kafka will carry them, for the expected result.
struct CanonicalDeliverySink: DeliverySink {
    let client: HeadcountClient

    init(ingest url: String, pipeline: Pipeline) throws {
        guard let ingest = pipeline.ingest, let token = ingest.routes[.canonical] else {
            throw SimulationSetupError(description: "--via canonical needs the pipeline's ingest: section with a canonical: route (docs/adapters.md)")
        }
        let secret = try token.readSecret(field: "ingest.canonical.secret")
        let key = try ingest.pseudonymKey.readSecret(field: "ingest.pseudonymKey")
        client = HeadcountClient(baseURL: url, pipeline: pipeline, token: String(decoding: secret, as: UTF8.self), pseudonymKey: key)
    }

    /// Requests in flight at once: a platform delivers many webhooks concurrently too.
    var concurrentRequests: Int { 16 }
    /// Deliveries per request at most: about 250 KB, well under the 1 MiB body limit.
    var deliveriesPerRequest: Int { 1_000 }

    func prepare(_ deliveries: ArraySlice<ScheduledDelivery>) throws -> PreparedDeliveries {
        let events = try deliveries.map { delivery in
            let event = delivery.event
            return try client.event(
                id: event.id, type: event.type, identity: WebhookWriter.email(of: event.participant), session: event.session,
                at: event.at, source: event.source)
        }
        return PreparedDeliveries(events: events) { [client] in _ = try await client.publish(events) }
    }

    func close() async throws {}
}

struct SimulationSetupError: Error, CustomStringConvertible {
    var description: String
}
