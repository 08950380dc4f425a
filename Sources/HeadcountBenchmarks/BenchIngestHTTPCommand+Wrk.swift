import Foundation
import HeadcountCore
import HeadcountPipeline
import Kafka
import Logging

extension BenchIngestHTTPCommand {
    /// One route's load for wrk.
    struct WrkScenario {
        var name: String
        var eventsPerRequest: Int
        var duration: Duration
        var requests: WrkLoad.Requests
    }

    /// Drives every route with wrk (a separate process) for `duration` each, after a short
    /// warm-up, and checks against the topic's high watermarks that every answered 200 stands
    /// for events Kafka holds.
    func runWithWrk(port: Int, pipeline: Pipeline, now: Instant, raw: Double, cluster: KafkaDevCluster, logger: Logger) async throws {
        let admin = try KafkaAdmin(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let nonce = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let path = "/v1/pipelines/\(pipeline.id)/"
        let head = "POST \(path)events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench-token\r\nContent-Type: application/x-ndjson"
        let line = templateLine(pipeline: pipeline, now: now)
        let single = WrkLoad.Requests.template(head: head, body: line)
        _ = try await WrkLoad(port: port, threads: wrkThreads, connections: connections, duration: .seconds(2), nonce: nonce + "w").run(single)
        print("| route | requests | events/request | requests/s | events/s | p50 ms | p99 ms | p99.9 ms | failures | CPU: bench process | CPU: wrk | load avg |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        var singleRate = 0.0
        let scenarios: [(String, Int, () -> WrkLoad.Requests)] = [
            ("canonical, 1 event", 1, { single }),
            ("canonical, 100 events", 100, { .template(head: head, body: Array(repeating: line, count: 100).joined(separator: "\n")) }),
            ("zoom", 1, { .pool(zoomPool(count: Int(max(singleRate, 10_000) * 1.5 * Double(duration)), path: path, now: now)) }),
        ]
        for (index, (name, eventsPerRequest, requests)) in scenarios.enumerated() {
            let prepared = requests()
            // A nonce per scenario: wrk's request counter starts again at 1 in every run.
            let load = WrkLoad(port: port, threads: wrkThreads, connections: connections, duration: .seconds(duration), nonce: nonce + "s\(index)")
            // Requests still in flight when the previous wrk stopped finish producing first.
            let before = try await settledEventsInTopic(admin, pipeline.kafka.topic)
            let cpu = ThreadCPU.snapshot(), ownCPU = WrkLoad.processCPUSeconds(), clock = ContinuousClock(), started = clock.now
            let result = try await load.run(prepared)
            let elapsed = clock.now - started
            let threads = ThreadCPU.snapshot().cores(since: cpu, elapsed: elapsed)
            let ownMicroseconds = (WrkLoad.processCPUSeconds() - ownCPU) * 1_000_000 / Double(max(result.requests, 1))
            let wrkMicroseconds = result.cpuSeconds * 1_000_000 / Double(max(result.requests, 1))
            let stored = try await eventsInTopic(admin, pipeline.kafka.topic) - before
            // wrk counts answers; requests in flight when it stopped may have produced too.
            let answered = (result.requests - result.failures) * eventsPerRequest
            guard stored >= answered, stored <= answered + (connections + result.failures) * eventsPerRequest else {
                throw WrkLoad.Failure(description: "\(name): \(answered) events answered 200 but the topic grew by \(stored) (from \(before))")
            }
            let rate = result.requestsPerSecond
            if eventsPerRequest == 1, singleRate == 0 { singleRate = rate }
            let ms = { (us: Int) in String(format: "%.2f", Double(us) / 1000) }
            let processCores = threads.reduce(0) { $0 + $1.cores }
            let breakdown = threads.prefix(5).map { "\($0.group) \(String(format: "%.2f", $0.cores))" }.joined(separator: ", ")
            print("| \(name) | \(result.requests) | \(eventsPerRequest) | \(Self.figure(rate)) | \(Self.figure(rate * Double(eventsPerRequest))) | \(ms(result.p50_us)) | \(ms(result.p99_us)) | \(ms(result.p999_us)) | \(result.failures) | \(String(format: "%.2f", processCores)) cores (\(breakdown)) | \(String(format: "%.2f", result.cpuSeconds / (elapsed / .seconds(1)))) cores | \(Self.loadAverage()) |")
            // The machine-independent figure: what one request costs, and the rate two idle
            // cores would give at that cost (the machine is shared, so the rate alone misleads).
            print("  → CPU per request: \(Self.figure(ownMicroseconds)) µs in the bench process (server, producer, dev broker) + \(Self.figure(wrkMicroseconds)) µs in wrk: at most \(Self.figure(2_000_000 / (ownMicroseconds + wrkMicroseconds))) requests/s on 2 idle cores")
            if eventsPerRequest == 100 {
                print("  → 100-event requests: \(String(format: "%.2f", rate * 100 / raw)) of the raw produce rate (target ≥ 0.5)")
            } else if name.hasPrefix("canonical") {
                print("  → single-event requests: \(String(format: "%.2f", rate / 20_000)) of the 20,000 req/s target, p99 \(ms(result.p99_us)) ms (target ≤ 50 ms)")
            }
        }
    }

    /// A canonical NDJSON line whose id and participant wrk makes unique per request (so the
    /// events spread over the partitions as real participants do).
    private func templateLine(pipeline: Pipeline, now: Instant) -> String {
        CanonicalEvent.encode(Event(
            id: "bench-{{ID}}", pipeline: pipeline.id, type: .join, participant: "participant-{{ID}}",
            session: "session", at: now, source: "bench"))
    }

    /// Signed Zoom deliveries, each a distinct participant connection.
    private func zoomPool(count: Int, path: String, now: Instant) -> [[UInt8]] {
        (0..<count).map { Array(zoomRequest($0, path: path, now: now).readableBytesView) }
    }

    /// The topic's size once it stopped growing (unchanged over 250 ms, at most 10 s).
    private func settledEventsInTopic(_ admin: KafkaAdmin, _ topic: String) async throws -> Int {
        var last = try await eventsInTopic(admin, topic)
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(250))
            let now = try await eventsInTopic(admin, topic)
            if now == last { return now }
            last = now
        }
        throw WrkLoad.Failure(description: "the topic \(topic) was still growing 10 s after the load stopped")
    }

    /// The sum of the topic's high watermarks: how many messages it holds.
    ///
    /// Asked again when an answer lacks a partition: on a busy machine a metadata or offsets
    /// request can time out, and a sum over fewer partitions would be a wrong size.
    private func eventsInTopic(_ admin: KafkaAdmin, _ topic: String) async throws -> Int {
        let partitions = Self.partitions
        for _ in 0..<5 {
            let marks = try await admin.highWatermarks(of: topic)
            if marks.unanswered.isEmpty, marks.partitions.count == partitions {
                return marks.partitions.values.reduce(0) { $0 + Int($1.high) }
            }
        }
        throw WrkLoad.Failure(description: "the dev cluster did not report all \(partitions) partitions of \(topic) in 5 tries")
    }

    /// The 1-minute load average, as `uptime` shows it.
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").first.map(String.init) ?? "?"
    }
}
