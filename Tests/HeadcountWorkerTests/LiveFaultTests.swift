import Foundation
import HeadcountAdapters
import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import HeadcountReporter
import HeadcountSimulation
import HeadcountStore
import HeadcountTestSupport
import HeadcountWorker
import Kafka
import Logging
import Synchronization
import Testing

/// A live window under every fault at once: workers killed, joining, stopped, frozen; a broker
/// lost; PostgreSQL restarted; the reporter sealing all the while. Every minute must still be
/// right the first time.
@Suite("Live window under faults", .serialized, .timeLimit(.minutes(10)))
struct LiveFaultTests {
    typealias Support = WorkerIntegrationTests

    /// Starts of the window and its faults, in seconds from the window start.
    static let window: Int64 = 105
    static let lead: Int64 = 8

    static func pipelineYAML(start: Instant, topic: String) -> String {
        """
            id: live-fault-test
            window:
              start: \(start.rfc3339)
              end: \(Instant(milliseconds: start.milliseconds + window * 1000).rfc3339)
            rules:
              bucket: 15s
              reconnectGrace: 10s
              minimumPresence: 30s
              heartbeatTimeout: 20s
              allowedLateness: 30s
            kafka:
              topic: \(topic)
              partitions: 6
            """
    }

    /// Longest an event waits between happening and being published: arrival order is shuffled.
    ///
    /// Zero amendments is a promise only for events that reach Kafka within L − G of their
    /// time: the watermark trails the largest stored time by L, so an event that is not yet
    /// stored when bucket m is sealed happened at least L − (its delay) after E_m + S, and a
    /// rejoin bridges its gap back up to G, into the S-second periods that start in bucket m
    /// when the delay exceeds L − G. With L = 30 s and G = 10 s that leaves 20 s for the shuffle
    /// and everything the faults add to publishing (the broker outage below, at most 4 s and a
    /// reconnect).
    static let shuffle: Int64 = 12_000

    /// Simulated attendees of the window, each event with the moment it arrives: up to
    /// `shuffle` after it happened.
    static func schedule(_ pipeline: Pipeline) -> [(arrival: Int64, event: Event)] {
        var profile = AttendeeProfile.standard
        profile.heartbeatPeriod = .seconds(5)
        // A pipeline that sets H declares that connected clients send news at least every H.
        // A session that stays silent longer (the standard profile's join-and-leave-only
        // connections) counts only to its last news + H until its leave arrives, and that
        // leave, however punctual, then extends it back over buckets already sealed
        // (COUNTING.md section 2): an amendment that no watermark can prevent.
        profile.heartbeatSessionShare = 1
        // A conflicting duplicate is a dead letter, not an event: "every event stored" would not hold.
        profile.conflictShare = 0
        let simulated = AttendeeSimulator(rules: pipeline.rules, pipelineID: pipeline.id, participants: 400, seed: 42, profile: profile).events()
        let first = pipeline.rules.windowStart.milliseconds - 10_000
        let last = pipeline.rules.windowEnd.milliseconds + 5_000
        var rng = SystemRandomNumberGenerator()
        return simulated.filter { $0.at.milliseconds >= first && $0.at.milliseconds <= last }
            .map { ($0.at.milliseconds + Int64.random(in: 0..<shuffle, using: &rng), $0) }
            .sorted { $0.arrival < $1.arrival }
    }

    @Test("kill -9 and restart, a join, SIGTERM, SIGSTOP past the session, a broker down, PostgreSQL restarted: every bucket sealed once and right")
    func liveWindowUnderFaults() async throws {
        let began = ContinuousClock.now
        let cluster = try KafkaDevCluster(brokerCount: 3, logger: Support.logger)
        defer { withExtendedLifetime(cluster) {} }
        let start = Instant(milliseconds: (Int64(Date().timeIntervalSince1970) + Self.lead) * 1000)
        let topic = "live-fault-\(UInt32.random(in: 0...UInt32.max))"
        let yaml = Self.pipelineYAML(start: start, topic: topic)
        let pipeline = try Pipeline.parse(yaml: yaml, file: "live-fault-test.yaml")
        try await cluster.createTopic(topic, partitions: pipeline.kafka.partitions)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("live-fault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("pipeline.yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let key = try SigningKey(seed: Array(repeating: 9, count: 32))
        let keyFile = folder.appendingPathComponent("key.pem").path
        try key.save(to: keyFile)
        let schedule = Self.schedule(pipeline)
        let published = schedule.map(\.event)

        try await PrivatePostgres.with { server in
            let url = try DatabaseURL(try await server.start())
            let store = EventStore(url: url, maximumConnections: 2, logger: Support.logger)
            try await withThrowingTaskGroup(of: Void.self) { pool in
                pool.addTask { await store.run() }
                defer { pool.cancelAll() }
                try await store.migrate()
                let work = [
                    "work", "--pipeline", file, "--brokers", cluster.bootstrapServers, "--database", url.description,
                    "--concurrency", "1", "--batch-size", "500", "--session-timeout", "6", "--no-metrics", "--log-level", "warning",
                ]
                let report = ["report", "--pipeline", file, "--brokers", cluster.bootstrapServers, "--database", url.description, "--key", keyFile, "--interval", "0.5", "--log-level", "info"]
                let processes = Supervisor()
                let delivered = DeliveryLog()
                try processes.start("reporter", report)
                try processes.start("w1", work)
                try processes.start("w2", work)
                do {
                    try await withThrowingTaskGroup(of: Void.self) { live in
                        live.addTask { try await Self.publish(schedule, pipeline: pipeline, cluster: cluster, delivered: delivered) }
                        live.addTask { try await processes.superviseUntilStopped() }
                        try await Self.faults(start: start, processes: processes, cluster: cluster, server: server, work: work)
                        try await live.next()  // the publisher is done
                        try await waitUntil("every bucket sealed", timeout: .seconds(180), every: .milliseconds(250)) {
                            (try? await store.storedSnapshots(pipeline: pipeline.id).count) == pipeline.rules.bucketCount
                        }
                        try await processes.stopAll()
                        live.cancelAll()
                    }
                } catch {
                    let sealed = (try? await store.storedSnapshots(pipeline: pipeline.id).count).map(String.init) ?? "unknown"
                    print("live fault test failed: \(sealed) of \(pipeline.rules.bucketCount) buckets sealed, unexpected exits \(processes.unexpectedExits)")
                    processes.printLogs()
                    processes.killAll()
                    throw error
                }
                print("live fault test: restarts after unexpected exits: \(processes.unexpectedExits)")

                let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
                #expect(snapshots.count == pipeline.rules.bucketCount, "every bucket sealed")
                let amendments = try await store.storedAmendments(pipeline: pipeline.id)
                // What makes "zero amendments" a promise (see `shuffle`): every event reached
                // Kafka within L − G of its time, faults and all.
                let origin = pipeline.rules.windowStart.milliseconds
                let budget = pipeline.rules.allowedLateness.wholeMilliseconds - pipeline.rules.reconnectGrace.wholeMilliseconds
                let delays = published.map { (event: $0, delay: (delivered.time(of: $0.id) ?? .max) - $0.at.milliseconds) }
                let slowest = delays.max { $0.delay < $1.delay }
                print("live fault test: slowest delivery \(slowest.map { "\($0.event.id) at +\($0.event.at.milliseconds - origin) ms, acknowledged \($0.delay) ms after its time" } ?? "none")")
                #expect(delays.allSatisfy { $0.delay <= budget }, "every event acknowledged within L − G = \(budget) ms of its time")
                #expect(amendments.isEmpty, "zero amendments: every minute right the first time")
                let arrivals = Dictionary(schedule.map { ($0.event.id, $0.arrival) }, uniquingKeysWith: { first, _ in first })
                for snapshot in snapshots {
                    print("bucket \(snapshot.numbers.bucket): watermark +\(snapshot.watermark.milliseconds - origin) ms, seen \(snapshot.seenOffsets.sorted { $0.key < $1.key })")
                }
                for amendment in amendments.prefix(6) {
                    let late = amendment.events.prefix(3).map { id in
                        let event = published.first { $0.id == id }
                        let acknowledged = delivered.time(of: id) ?? 0
                        return "\(id) at +\((event?.at.milliseconds ?? 0) - origin) due +\((arrivals[id] ?? 0) - origin) acknowledged +\(acknowledged - origin)"
                    }
                    print("amendment of bucket \(amendment.bucket): \(amendment.events.count) late events, first \(late)")
                }

                if !amendments.isEmpty {
                    let positioned = try await store.events(pipeline: pipeline.id, partitions: Array(0..<Int32(pipeline.kafka.partitions)))
                    for m in Set(amendments.map(\.bucket)).sorted() {
                        let causes = LiveFaultDiagnosis.causes(
                            bucket: m, snapshot: snapshots[m], stored: positioned, rules: pipeline.rules, acknowledged: delivered.time(of:))
                        let lateness = pipeline.rules.allowedLateness.wholeMilliseconds
                        print("bucket \(m) amended; \(causes.count) participants changed, on time: \(causes.filter { $0.onTime(lateness: lateness) }.count)")
                        for cause in causes.prefix(8) { print("  \(cause)") }
                    }
                }
                let batch = BatchCount(events: published, rules: pipeline.rules)
                // Certified, then corrected by the latest amendment of each bucket: the engine's numbers.
                var corrected = snapshots.map(\.numbers)
                for amendment in amendments.sorted(by: { $0.sequence < $1.sequence }) { corrected[amendment.bucket] = amendment.corrected }
                #expect(corrected == batch.buckets, "every certified number, as amended, equals the counting engine over the published events")
                if amendments.isEmpty { #expect(snapshots.map(\.numbers) == batch.buckets) }
                let recount = Recount.check(
                    pipeline: pipeline, events: try await store.events(pipeline: pipeline.id), snapshots: snapshots,
                    amendments: try await store.storedAmendments(pipeline: pipeline.id), publicKey: key.publicKey)
                #expect(recount.isValid, "the batch recount agrees: \(recount.failures)")
                // A retried webhook may differ in its source only, and the store keeps whichever
                // copy reached Kafka first (copies are published concurrently): compare the rest.
                func content(_ event: Event) -> Event {
                    var event = event
                    event.source = ""
                    return event
                }
                let first = Set(published.map(content))
                let storedEvents = try await store.events(pipeline: pipeline.id)
                let stored = Set(storedEvents.map(content))
                #expect(stored == first && storedEvents.count == stored.count, "every published event stored, each once")
                if stored != first {
                    print("published, not stored: \(first.subtracting(stored).prefix(3).map { "\($0)" })")
                    print("stored, not published: \(stored.subtracting(first).prefix(3).map { "\($0)" })")
                    print("dead letters: \(try await store.deadLettersByReason(pipeline: pipeline.id))")
                    processes.printLogs()
                }
                let offsets = try await store.storedOffsets(pipeline: pipeline.id, topic: topic)
                #expect(offsets.values.reduce(0, +) == Int64(published.count), "every message processed in exactly one committed batch")
            }
        }
        print("live fault test: \(published.count) events, wall time \(ContinuousClock.now - began)")
    }

    /// Publishes each event when its arrival time comes, in real time, each on its own so that
    /// an event for a partition whose broker is down delays no other, and records when each
    /// was acknowledged.
    static func publish(
        _ schedule: [(arrival: Int64, event: Event)], pipeline: Pipeline, cluster: KafkaDevCluster, delivered: DeliveryLog
    ) async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        // A delivery not acknowledged within L fails the test loudly rather than late.
        configuration.messageTimeout = pipeline.rules.allowedLateness
        // Back to a broker within half a second of its return (librdkafka backs off up to 10 s).
        configuration.additionalProperties = ["reconnect.backoff.max.ms": "500"]
        let producer = try KafkaProducer(configuration: configuration, logger: Support.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            let publisher = CanonicalPublisher(pipeline: pipeline, producer: producer, logger: Support.logger)
            try await withThrowingTaskGroup(of: Void.self) { deliveries in
                var next = 0
                while next < schedule.count {
                    let now = Int64(Date().timeIntervalSince1970 * 1000)
                    let due = schedule[next...].prefix { $0.arrival <= now }.map(\.event)
                    for event in due {
                        deliveries.addTask {
                            _ = try await publisher.publish([event])
                            delivered.record([event.id], at: Int64(Date().timeIntervalSince1970 * 1000))
                        }
                    }
                    next += due.count
                    try await Task.sleep(for: .milliseconds(20))
                }
                try await deliveries.waitForAll()
            }
        }
    }

    /// The faults, each at its moment of the window.
    static func faults(start: Instant, processes: Supervisor, cluster: KafkaDevCluster, server: PrivatePostgres, work: [String]) async throws {
        func at(_ second: Int64) async throws {
            let wait = start.milliseconds + second * 1000 - Int64(Date().timeIntervalSince1970 * 1000)
            if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
        }
        try await at(8)
        try processes.kill("w1", restartAs: "w1b", work)
        try await at(20)
        try processes.start("w3", work)
        try await at(32)
        #expect(try await processes.terminate("w2", timeout: .seconds(30)) == 0, "SIGTERM: exits 0 within the grace")
        try await at(44)
        // Frozen past its session timeout, holding whatever batch (and transaction) it had.
        processes.signal("w3", SIGSTOP)
        try await at(54)
        processes.signal("w3", SIGCONT)
        try await at(62)
        // Down for less than what L − G leaves beside the shuffle (see `shuffle`).
        try await cluster.setBrokerDown(2)
        try await at(66)
        try await cluster.setBrokerUp(2)
        try await at(76)
        try await server.kill()
        try await at(80)
        _ = try await server.start()
    }
}

/// When each event's delivery was acknowledged, in Unix milliseconds.
final class DeliveryLog: Sendable {
    private let times = Mutex<[String: Int64]>([:])

    func record(_ ids: [String], at time: Int64) {
        times.withLock { for id in ids where $0[id] == nil { $0[id] = time } }
    }

    func time(of id: String) -> Int64? { times.withLock { $0[id] } }
}

/// The test's `headcount` processes, restarted when one exits without being told to (as
/// docker-compose's `restart: unless-stopped` would, after exit 75 say).
final class Supervisor: Sendable {
    private struct Entry: @unchecked Sendable {
        // @unchecked: HeadcountProcess is Sendable; the arguments are strings.
        var process: HeadcountProcess
        var arguments: [String]
        var stopping: Bool
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Every process started, for their logs after a failure.
    private let started = Mutex<[(name: String, process: HeadcountProcess)]>([])
    private let exits = Mutex<[String]>([])
    private let finished = Atomic<Bool>(false)

    var unexpectedExits: [String] { exits.withLock { $0 } }

    func start(_ name: String, _ arguments: [String]) throws {
        let process = try HeadcountProcess(arguments, capturingStandardError: true)
        started.withLock { $0.append((name, process)) }
        entries.withLock { $0[name] = Entry(process: process, arguments: arguments, stopping: false) }
    }

    func signal(_ name: String, _ signal: Int32) {
        entries.withLock { $0[name] }?.process.signal(signal)
    }

    /// SIGKILL, then a new process in its place.
    func kill(_ name: String, restartAs newName: String, _ arguments: [String]) throws {
        let entry = entries.withLock { entries -> Entry? in
            entries[name]?.stopping = true
            return entries.removeValue(forKey: name)
        }
        entry?.process.signal(SIGKILL)
        try start(newName, arguments)
    }

    /// SIGTERM; returns the exit status.
    func terminate(_ name: String, timeout: Duration) async throws -> Int32? {
        guard let entry = entries.withLock({ $0.removeValue(forKey: name) }) else { return nil }
        entry.process.signal(SIGTERM)
        return try await entry.process.wait(timeout: timeout).status
    }

    func stopAll() async throws {
        finished.store(true, ordering: .relaxed)
        let all = entries.withLock { entries in
            defer { entries.removeAll() }
            return Array(entries.values)
        }
        for entry in all { entry.process.signal(SIGTERM) }
        for entry in all { _ = try await entry.process.wait(timeout: .seconds(30)) }
    }

    /// After a failure: nothing outlives the test.
    func killAll() {
        finished.store(true, ordering: .relaxed)
        for entry in entries.withLock({ Array($0.values) }) { entry.process.signal(SIGKILL) }
    }

    /// The last lines each process logged, for a failure's diagnosis.
    func printLogs() {
        for (name, process) in started.withLock({ $0 }) {
            let lines = process.standardError.split(separator: "\n").filter { !$0.contains("rdkafka") && !$0.contains("[Kafka]") }
            print("--- \(name): \(lines.count) lines\n" + lines.suffix(15).joined(separator: "\n"))
        }
    }

    /// Restarts processes that ended on their own, until `stopAll`.
    func superviseUntilStopped() async throws {
        while !finished.load(ordering: .relaxed) {
            let ended = entries.withLock { $0.filter { !$0.value.process.process.isRunning && !$0.value.stopping } }
            for (name, entry) in ended {
                exits.withLock { $0.append("\(name) (status \(entry.process.process.terminationStatus))") }
                try start(name, entry.arguments)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
