import HeadcountAdapters
import HeadcountClient
import HeadcountCore
import HeadcountPipeline

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

    /// The simulated teacher's e-mail address: one mailbox per participant, whatever the device.
    static func email(of participant: String) -> String { participant + "@teachers.example" }

    func translate(_ events: [Event]) throws -> [Event] {
        try events.map { event in
            try client.event(
                id: event.id, type: event.type, identity: Self.email(of: event.participant), session: event.session,
                at: event.at, source: event.source)
        }
    }

    func send(_ events: [Event]) async throws {
        // One request per 500 events keeps each well under the 1 MiB body limit.
        for start in stride(from: 0, to: events.count, by: 500) {
            _ = try await client.publish(Array(events[start..<min(events.count, start + 500)]))
        }
    }

    func close() async throws {}
}

struct SimulationSetupError: Error, CustomStringConvertible {
    var description: String
}
