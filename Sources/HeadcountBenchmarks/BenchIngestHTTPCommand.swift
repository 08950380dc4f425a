import ArgumentParser
import Crypto
import Foundation
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountCore
import HeadcountHTTP
import HeadcountIngest
import HeadcountPipeline
import Hummingbird
import Kafka
import Logging
import NIOCore
import Synchronization

/// `headcount bench ingest-http`: the ingest service's requests/s and latency for the
/// canonical route (1 and 100 events per request) and the Zoom route, beside the raw
/// produce rate of the same dev cluster, all in one run.
struct BenchIngestHTTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest-http",
        abstract: "Ingest service requests/s and p50/p99/p99.9 (HdrHistogram) against the raw produce rate of the same cluster.",
        discussion: """
            Starts an embedded development cluster and the ingest service on 127.0.0.1, measures the raw \
            produce rate (sendAll of canonical events, acks=all), then drives each route with wrk (a separate \
            process; --driver in-process for the built-in closed-loop generator): keep-alive connections, every \
            request with event ids no other request has (no retries), every 200 checked against the topic. \
            Targets: ≥ 20,000 single-event requests/s with p99 ≤ 50 ms; ≥ 0.5 of the raw produce rate in \
            events/s with 100-event requests. Run a release build.
            """)

    @Option(help: "Single-event requests on the canonical route.")
    var singleRequests = 100_000
    @Option(help: "100-event requests on the canonical route.")
    var batchRequests = 2_000
    @Option(help: "Requests on the Zoom route.")
    var zoomRequests = 50_000
    @Option(help: "Events of the raw produce baseline.")
    var rawEvents = 200_000
    @Option(help: "Concurrent keep-alive connections.")
    var connections = 64
    @Option(help: "Brokers of the dev cluster.")
    var brokers = 1
    @Option(help: "What sends the requests: wrk (a separate process) or in-process.")
    var driver: LoadDriver = .wrk
    @Option(help: "Seconds of wrk load per route.")
    var duration = 10
    @Option(help: "The producer's linger in milliseconds (default: what `headcount ingest` uses, 5).")
    var lingerMs: Int?
    @Option(help: "wrk threads.")
    var wrkThreads = 1

    enum LoadDriver: String, ExpressibleByArgument {
        case wrk
        case inProcess = "in-process"
    }
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap("headcount.bench")
        let now = IngestService.systemClock()
        let pipeline = try Self.pipeline(now: now)
        let cluster = try KafkaDevCluster(brokerCount: brokers, logger: logger)
        try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.messageTimeout = .milliseconds(2500)
        configuration.linger = lingerMs.map { .milliseconds($0) } ?? IngestService.producerLinger
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let readiness = BrokerReadiness(producer: producer, logger: logger)
        let served = try IngestPipeline(pipeline: pipeline, environment: Self.secrets)
        // With the Prometheus registry `ingest` uses, so its metrics cost is measured too.
        let service = IngestService(
            pipelines: [served], sink: KafkaIngestSink(producer: producer, logger: logger), readiness: readiness,
            registry: MetricsServer.bootstrapMetrics(), logger: logger)
        let port = Mutex<Int?>(nil)
        let app = service.application(configuration: .init(address: .hostname("127.0.0.1", port: 0))) { channel in
            port.withLock { $0 = channel.localAddress?.port }
        }
        let scenarios = driver == .wrk ? [] : prepare(now: now, pipeline: pipeline)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            group.addTask { try await readiness.run() }
            group.addTask { try await app.run() }
            defer { group.cancelAll() }
            let raw = try await rawProduceRate(producer: producer, pipeline: pipeline, now: now)
            print("raw produce: \(Self.figure(raw)) events/s (\(rawEvents) events, acks=all, \(brokers) broker(s))")
            var listening: Int?
            while listening == nil || !readiness.isReady {
                try await Task.sleep(for: .milliseconds(20))
                listening = port.withLock { $0 }
            }
            if driver == .wrk {
                try await runWithWrk(port: listening!, pipeline: pipeline, now: now, raw: raw, cluster: cluster, logger: logger)
                return
            }
            print("| route | requests | events/request | requests/s | events/s | p50 ms | p99 ms | p99.9 ms | non-200 |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for scenario in scenarios {
                let result = try await HTTPLoad(requests: scenario.requests).run(port: listening!, connections: connections)
                let seconds = result.elapsed / .seconds(1)
                let rate = Double(scenario.requests.count) / seconds
                let failures = result.statuses.filter { $0.key != 200 }.map { "\($0.value)×\($0.key)" }.joined(separator: " ")
                let p = { (q: Double) in String(format: "%.2f", Double(result.latencies.valueAtPercentile(q)) / 1000) }
                print("| \(scenario.name) | \(scenario.requests.count) | \(scenario.eventsPerRequest) | \(Self.figure(rate)) | \(Self.figure(rate * Double(scenario.eventsPerRequest))) | \(p(50)) | \(p(99)) | \(p(99.9)) | \(failures.isEmpty ? "0" : failures) |")
                if scenario.eventsPerRequest == 100 {
                    print("  → 100-event requests: \(String(format: "%.2f", rate * 100 / raw)) of the raw produce rate (target ≥ 0.5)")
                }
            }
        }
        withExtendedLifetime(cluster) {}
    }

    struct Scenario {
        var name: String
        var eventsPerRequest: Int
        var requests: [ByteBuffer]
    }

    static let secrets = ["BENCH_KEY": "bench-pseudonym-key", "BENCH_TOKEN": "bench-token", "BENCH_ZOOM": "bench-zoom-secret"]

    /// Partitions of the bench topic.
    static let partitions = 12

    static func pipeline(now: Instant) throws -> Pipeline {
        try Pipeline.parse(yaml: """
            id: bench-ingest-http
            window:
              start: \((now - .seconds(3600)).rfc3339)
              end: \((now + .seconds(3600)).rfc3339)
            kafka:
              partitions: \(partitions)
            ingest:
              pseudonymKeyEnvironment: BENCH_KEY
              canonical: { secretEnvironment: BENCH_TOKEN }
              zoom: { secretEnvironment: BENCH_ZOOM }
            """, file: "bench")
    }

    private func canonical(_ index: Int, pipeline: Pipeline, now: Instant) -> String {
        CanonicalEvent.encode(Event(
            id: "bench-\(index)", pipeline: pipeline.id, type: .join, participant: "participant-\(index % 25_000)",
            session: "session-\(index)", at: now, source: "bench"))
    }

    private func prepare(now: Instant, pipeline: Pipeline) -> [Scenario] {
        let path = "/v1/pipelines/\(pipeline.id)/"
        let bearer = [("Authorization", "Bearer bench-token"), ("Content-Type", "application/x-ndjson")]
        let single = (0..<singleRequests).map { index in
            HTTPLoad.request(path: path + "events", headers: bearer, body: Array(canonical(index, pipeline: pipeline, now: now).utf8))
        }
        let batch = (0..<batchRequests).map { request in
            let lines = (0..<100).map { canonical(10_000_000 + request * 100 + $0, pipeline: pipeline, now: now) }
            return HTTPLoad.request(path: path + "events", headers: bearer, body: Array(lines.joined(separator: "\n").utf8))
        }
        let zoom = (0..<zoomRequests).map { zoomRequest($0, path: path, now: now) }
        return [
            Scenario(name: "canonical, 1 event", eventsPerRequest: 1, requests: single),
            Scenario(name: "canonical, 100 events", eventsPerRequest: 100, requests: batch),
            Scenario(name: "zoom", eventsPerRequest: 1, requests: zoom),
        ]
    }

    /// A signed Zoom `participant_joined` delivery for participant connection `index`.
    func zoomRequest(_ index: Int, path: String, now: Instant) -> ByteBuffer {
        let timestamp = String(now.milliseconds / 1000)
        let key = SymmetricKey(data: Array("bench-zoom-secret".utf8))
        let body = Array("""
            {"event":"meeting.participant_joined","event_ts":\(now.milliseconds),"payload":{"account_id":"a","object":{"uuid":"bench-meeting","id":"1","participant":{"user_id":"\(index)","participant_uuid":"conn-\(index)","email":"teacher\(index % 25_000)@school.example","user_name":"T","join_time":"\(now.rfc3339)"}}}}
            """.utf8)
        let code = HMAC<SHA256>.authenticationCode(for: Array("v0:\(timestamp):".utf8) + body, using: key)
        let signature = "v0=" + code.map { String(format: "%02x", $0) }.joined()
        return HTTPLoad.request(path: path + "zoom", headers: [
            ("x-zm-request-timestamp", timestamp), ("x-zm-signature", signature), ("Content-Type", "application/json"),
        ], body: body)
    }

    /// Events/s of `sendAll` in chunks of 10,000, the publisher's own chunk size.
    private func rawProduceRate(producer: KafkaProducer, pipeline: Pipeline, now: Instant) async throws -> Double {
        let messages = (0..<rawEvents).map { index in
            KafkaProducerMessage(
                topic: pipeline.kafka.topic, key: "participant-\(index % 25_000)",
                value: Array(canonical(20_000_000 + index, pipeline: pipeline, now: now).utf8))
        }
        let clock = ContinuousClock(), started = clock.now
        for start in stride(from: 0, to: messages.count, by: 10_000) {
            _ = try await producer.sendAll(Array(messages[start..<min(start + 10_000, messages.count)]))
        }
        return Double(messages.count) / ((clock.now - started) / .seconds(1))
    }

    static func figure(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value)) ?? String(Int(value))
    }
}
