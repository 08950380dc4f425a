import AsyncHTTPClient
import Foundation
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline
import HeadcountSimulation
import NIOCore

/// `--via zoom|webex|bbb|jitsi|cloudevents|mix`: signed webhooks through ingest's platform routes.
///
/// The events Kafka will carry are what `IngestAdapter.receive`, the server's own code, makes
/// of exactly the bytes sent (ids, sessions and participant keys after the identity rules),
/// so the expected result is computed from what was sent, not from what was meant.
struct PlatformDeliverySink: DeliverySink {
    let base: String
    let writer: WebhookWriter
    let client: HTTPClient
    let clock: ProcessingClock
    /// The platform of each connection.
    let mix: [(SimulatedPlatform, Int)]
    var deliveriesPerRequest: Int { 1_000 }
    var concurrentRequests: Int { 16 }
    /// Requests of one run sent at once (single-event platforms make many).
    static let requestsPerRun = 16

    init(ingest url: String, pipeline: Pipeline, clock: ProcessingClock, mix: [(SimulatedPlatform, Int)]) throws {
        guard let ingest = pipeline.ingest else {
            throw SimulationSetupError(description: "--via needs the pipeline's ingest: section with the routes it sends to (docs/adapters.md)")
        }
        let credentials = try IngestCredentials.load(for: ingest)
        for (platform, _) in mix where credentials.secrets[platform.route] == nil {
            throw SimulationSetupError(description: "the pipeline's ingest: section has no \(platform.route.rawValue): route (docs/adapters.md)")
        }
        if mix.contains(where: { $0.0 != .canonical && !$0.0.carriesHeartbeats }), credentials.secrets[.canonical] == nil {
            throw SimulationSetupError(description: "heartbeats of platform connections go through the canonical route: the pipeline needs canonical:")
        }
        base = url.hasSuffix("/") ? String(url.dropLast()) : url
        writer = WebhookWriter(pipeline: pipeline, ingest: ingest, credentials: credentials)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.clock = clock
        self.mix = mix
    }

    func prepare(_ deliveries: ArraySlice<ScheduledDelivery>) throws -> PreparedDeliveries {
        var routes: [SimulatedPlatform: [Event]] = [:]
        for delivery in deliveries {
            var event = delivery.event
            let platform = SimulatedPlatform.forConnection(participant: event.participant, session: event.session, in: mix)
            // A platform without heartbeats of its own is confirmed by a poller, through the canonical route.
            let route = event.type == .heartbeat && !platform.carriesHeartbeats ? .canonical : platform
            event.session = WebhookWriter.session(participant: event.participant, session: event.session, on: platform)
            routes[route, default: []].append(event)
        }
        let requests = SimulatedPlatform.allCases.flatMap { platform in
            routes[platform].map { writer.requests($0, platform: platform) } ?? []
        }
        let now = clock.now(wall: ClockOption.wallNow())
        let context = AdapterContext(pipeline: writer.pipeline, ingest: writer.ingest, credentials: writer.credentials, now: now)
        var events: [Event] = []
        for request in requests {
            let secret = writer.credentials.secrets[request.platform.route] ?? []
            let delivery = WebhookRequest(headers: request.headers(secret: secret, now: now), body: request.body, query: request.query)
            switch try request.adapter.receive(delivery, context: context) {
            case .events(let made): events += made
            case .reply: throw SimulationSetupError(description: "ingest's \(request.platform) route would answer a simulated delivery without events")
            }
        }
        return PreparedDeliveries(events: events) { try await self.send(requests) }
    }

    private func send(_ requests: [WebhookDelivery]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = requests.makeIterator()
            for _ in 0..<Self.requestsPerRun {
                guard let request = next.next() else { break }
                group.addTask { try await self.send(request) }
            }
            while try await group.next() != nil {
                guard let request = next.next() else { continue }
                group.addTask { try await self.send(request) }
            }
        }
    }

    /// One request; 503 (Kafka unavailable) is retried, freshly signed, up to five times.
    private func send(_ delivery: WebhookDelivery) async throws {
        let secret = writer.credentials.secrets[delivery.platform.route] ?? []
        var url = base + delivery.path
        if let checksum = delivery.query["checksum"] { url += "?checksum=" + checksum }
        for attempt in 1...5 {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            for header in delivery.headers(secret: secret, now: clock.now(wall: ClockOption.wallNow())) {
                request.headers.add(name: header.name, value: header.value)
            }
            request.body = .bytes(ByteBuffer(bytes: delivery.body))
            let response = try await client.execute(request, timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            if (200..<300).contains(Int(response.status.code)) { return }
            guard response.status == .serviceUnavailable, attempt < 5 else {
                throw SimulationSetupError(description: "ingest refused a \(delivery.platform) delivery: \(response.status.code) \(text.prefix(300))")
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    func close() async throws {
        try await client.shutdown()
    }
}
