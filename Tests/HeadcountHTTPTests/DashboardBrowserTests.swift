import Foundation
import HeadcountAdapters
import HeadcountPublisher
import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountSimulation
import HeadcountStore
import HeadcountTestSupport
import HeadcountWorker
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Testing

@testable import HeadcountHTTP

/// The dashboard in Debian's headless Chromium against a running pipeline (the dev cluster,
/// a worker, the reporter and the dashboard in-process, PostgreSQL): the numbers the page
/// shows equal the database's, they change without a reload when buckets are sealed (the
/// page listens to server-sent events), and the current minute is shown as provisional.
/// Screenshots stay under `.data/artifacts/dashboard/` for a person to look at.
@Suite("Dashboard in a browser", .serialized, .timeLimit(.minutes(4)))
struct DashboardBrowserTests {
    static let logger: Logger = {
        var logger = Logger(label: "test.dashboard-browser")
        logger.logLevel = .warning
        return logger
    }()

    static let yaml = """
        id: browser-test
        title: Browser test webinar
        window:
          start: 2025-09-20T09:00:00+07:00
          end: 2025-09-20T10:00:00+07:00
        rules:
          minimumPresence: 10m
        kafka:
          topic: browser-test
          partitions: 4
        """

    @Test("the page shows the database's numbers, live, and the current minute as provisional")
    func pageAgainstARunningPipeline() async throws {
        guard DevToolsBrowser.executable() != nil || ProcessInfo.processInfo.environment["CI"] == "true" else {
            print("skipping the dashboard's browser test: chromium is not installed (scripts/setup.sh installs it)")
            return
        }
        try await TestDatabase.withStore { store, url in
            let pipeline = try Pipeline.parse(yaml: Self.yaml, file: "browser-test.yaml")
            let rules = pipeline.rules
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: Self.logger)
            defer { withExtendedLifetime(cluster) {} }
            try await cluster.createTopic(pipeline.kafka.topic, partitions: 4)
            let events = AttendeeSimulator(rules: rules, pipelineID: pipeline.id, participants: 60, seed: 9).events()
            // Two phases of the event: the first 20 minutes, then the rest.
            let cut = rules.windowStart + .seconds(20 * 60)
            let (early, late) = (events.filter { $0.at < cut }, events.filter { $0.at >= cut })
            let clock = Atomic<Int64>(cut.milliseconds)

            var workerConfiguration = WorkerConfiguration(pipeline: pipeline, bootstrapServers: cluster.bootstrapServers)
            workerConfiguration.pollTimeout = .milliseconds(100)
            workerConfiguration.sessionTimeout = .seconds(6)
            // One processing clock for all: the idle rule compares the workers' stamps with the reporter's "now".
            let now: @Sendable () -> Instant = { Instant(milliseconds: clock.load(ordering: .relaxed)) }
            let worker = Worker(configuration: workerConfiguration, store: store, logger: Self.logger, clock: now)
            var reporterConfiguration = ReporterConfiguration(pipeline: pipeline, signingKey: try SigningKey(seed: Array(repeating: 5, count: 32)))
            reporterConfiguration.roundInterval = .milliseconds(200)
            reporterConfiguration.clock = now
            let marks = { try KafkaHighWatermarkSource(
                configuration: KafkaAdminConfiguration(bootstrapServers: cluster.bootstrapServers), topic: pipeline.kafka.topic, logger: Self.logger) }
            let reporter = Reporter(configuration: reporterConfiguration, url: url, highWatermarks: try marks(), logger: Self.logger)
            var configuration = DashboardConfiguration()
            configuration.port = 0
            configuration.refreshInterval = .milliseconds(200)
            configuration.totalsInterval = .milliseconds(500)
            configuration.clock = reporterConfiguration.clock
            configuration.highWatermarks = try marks()
            let (ports, listening) = AsyncStream<Int>.makeStream()
            let dashboard = DashboardServer(
                pipeline: pipeline, store: store, configuration: configuration, logger: Self.logger,
                onListening: { port in listening.yield(port) })
            let group = ServiceGroup(services: [worker, reporter] + dashboard.services, logger: Self.logger)
            // Published before the reporter starts: an empty topic is caught up and idle, and its
            // watermark (now − L) would seal the first minutes empty.
            try await Self.publish(early, pipeline: pipeline, cluster: cluster)
            let browser = try await DevToolsBrowser()
            defer { browser.close() }
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                defer { tasks.cancelAll() }
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                try await browser.withPage { page in
                    try await page.send("Emulation.setDeviceMetricsOverride", ["width": 1400, "height": 1150, "deviceScaleFactor": 1, "mobile": false])
                    try await page.send("Page.enable")
                    try await page.send("Page.navigate", ["url": "http://127.0.0.1:\(port)/"])

                    // Phase 1: every early event stored, the buckets the watermark allows sealed.
                    let first = try await Self.shownOnceSettled(page, store: store, url: url, pipeline: pipeline, events: early)
                    #expect(first.sealed > 0 && first.sealed < rules.bucketCount)
                    try await Self.expectShownEqualsDatabase(first, url: url)
                    // The minute sealed next is provisional, with the stored contributions' numbers.
                    let now = try #require(first.current, "the page shows the next minute, provisional")
                    #expect(now.bucket == first.sealed)
                    let provisional = try #require(try await store.provisionalNumbers(pipeline: pipeline.id, bucket: now.bucket, rules: rules))
                    #expect(now.numbers == [provisional.qualified, provisional.unique, provisional.active, provisional.peak, provisional.sustainedPeak])
                    // The reporter's round counted every stored contribution, kept tails included.
                    #expect(provisional == (try await store.contributedNumbers(pipeline: pipeline.id, rules: rules))[now.bucket])
                    #expect(first.text.contains("PROVISIONAL — NOT YET SEALED") && first.text.contains("CERTIFIED"))
                    #expect(first.partitionRows == 4, "one lag row per partition")
                    #expect(first.text.contains("Amendments\tnone"), "every event was stored before its minute was sealed")
                    try Self.keep(try await page.screenshot(), as: "dashboard-live.png")

                    // Phase 2: the rest of the event; the page changes without a reload.
                    // The story runs up to 10 minutes past the end: "now" is after it, or its last leaves are from the future.
                    clock.store((rules.windowEnd + .seconds(15 * 60)).milliseconds, ordering: .relaxed)
                    try await Self.publish(late, pipeline: pipeline, cluster: cluster)
                    // Once all is stored, L more of processing time makes every partition idle, so the last minute is sealed.
                    let final = try await Self.shownOnceSettled(page, store: store, url: url, pipeline: pipeline, events: events, sealed: rules.bucketCount) {
                        clock.store((rules.windowEnd + .seconds(15 * 60) + rules.allowedLateness * 3).milliseconds, ordering: .relaxed)
                    }
                    #expect(final.sealed == rules.bucketCount)
                    #expect(final.navigations == first.navigations, "the numbers changed without reloading the page")
                    try await Self.expectShownEqualsDatabase(final, url: url)
                    #expect(final.current == nil, "nothing provisional once every minute is sealed")
                    #expect(final.text.contains("Result (final)"))
                    try Self.keep(try await page.screenshot(), as: "dashboard-final.png")
                }
                await group.triggerGracefulShutdown()
                try await tasks.next()
            }
        }
    }

    /// What the page shows, read from its DOM (numbers from `data-value`).
    struct Shown: Sendable {
        var sealed: Int
        var lastBucket: Int?
        var last: [Int]
        var head: String
        var current: (bucket: Int, numbers: [Int])?
        var partitionRows: Int
        var text: String
        var navigations: String
    }

    static let keys = ["qualified", "unique", "active", "peak", "sustained_peak"]

    static func read(_ page: DevToolsSession) async throws -> Shown? {
        let script = """
            (() => { const v = id => { const n = document.getElementById(id); return n && n.dataset.value !== undefined ? n.dataset.value : null; };
              return JSON.stringify({ sealed: v("sealed"), bucket: v("bucket"), head: v("head"),
                last: \(keys).map(k => v(k)), nowHidden: document.getElementById("now").hidden, nowBucket: v("now-bucket"),
                now: \(keys).map(k => v("now-" + k)), rows: document.querySelectorAll("#partitions tr").length - 1,
                text: document.body.innerText, navigations: performance.getEntriesByType("navigation").length + ":" + performance.timeOrigin }); })()
            """
        guard let json = try await page.evaluate(script) as? String,
              let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let sealed = (object["sealed"] as? String).flatMap(Int.init) else { return nil }
        let numbers = { (key: String) in ((object[key] as? [Any]) ?? []).compactMap { ($0 as? String).flatMap(Int.init) } }
        var current: (Int, [Int])?
        if object["nowHidden"] as? Bool == false, let bucket = (object["nowBucket"] as? String).flatMap(Int.init) { current = (bucket, numbers("now")) }
        return Shown(
            sealed: sealed, lastBucket: (object["bucket"] as? String).flatMap(Int.init), last: numbers("last"),
            head: object["head"] as? String ?? "", current: current, partitionRows: object["rows"] as? Int ?? 0,
            text: object["text"] as? String ?? "", navigations: object["navigations"] as? String ?? "")
    }

    /// Waits until every event is stored, the reporter's seals have stopped moving (or reached
    /// `sealed`) and the page shows the database's sealed count.
    static func shownOnceSettled(
        _ page: DevToolsSession, store: EventStore, url: DatabaseURL, pipeline: Pipeline, events: [Event], sealed target: Int? = nil,
        onceStored: @Sendable () -> Void = {}
    ) async throws -> Shown {
        let distinct = Set(events.map(\.id)).count
        var shown: Shown?
        var previous = -1
        var progress = "nothing read yet"
        do {
            try await Eventually.until("the page showing the database's sealed buckets", timeout: .seconds(120), interval: .milliseconds(300)) {
                let stored = try await store.eventCount(pipeline: pipeline.id)
                let dead = try await sql(url, "SELECT reason || ' ' || coalesce(event_id, '') FROM headcount.dead_letters")
                progress = "\(stored) of \(distinct) events stored, dead letters \(dead)"
                guard stored == distinct else { return false }
                onceStored()
                let status = try await store.pipelineStatus(pipeline: pipeline.id, includingTotals: false)
                let count = status.sealed.count
                defer { previous = count }
                progress += ", \(count) sealed (watermark \(status.watermark?.watermark?.rfc3339 ?? "none"): \(status.watermark?.holding.first ?? ""))"
                guard count > 0, target.map({ count == $0 }) ?? (count == previous) else { return false }
                shown = try await read(page)
                progress += "; the page shows \(shown.map { "\($0.sealed) sealed, last \($0.lastBucket.map(String.init) ?? "none"), \($0.partitionRows) partition rows" } ?? "nothing")"
                return shown?.sealed == count && shown?.lastBucket == count - 1 && shown?.partitionRows == pipeline.kafka.partitions
            }
        } catch {
            let text = (try? await page.evaluate("document.body.innerText.slice(0, 200)")) as? String ?? ""
            Issue.record("\(error); at the end: \(progress); page text: \(text)")
            throw error
        }
        return shown!
    }

    static func expectShownEqualsDatabase(_ shown: Shown, url: DatabaseURL) async throws {
        let bucket = try #require(shown.lastBucket)
        let rows = try await sql(url, """
            SELECT qualified || ' ' || "unique" || ' ' || active || ' ' || peak || ' ' || sustained_peak || ' ' || hash
            FROM headcount.snapshots WHERE pipeline = 'browser-test' AND bucket = \(bucket)
            """)
        let fields = try #require(rows.first).split(separator: " ").map(String.init)
        #expect(shown.last == fields.prefix(5).compactMap { Int($0) }, "the last sealed bucket's numbers")
        #expect(shown.head == fields.last, "the chain head is the last sealed snapshot's hash")
    }

    static func publish(_ events: [Event], pipeline: Pipeline, cluster: KafkaDevCluster) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            _ = try await CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger).publish(events)
        }
    }

    static func keep(_ png: Data, as name: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent(".data/artifacts/dashboard")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try png.write(to: folder.appendingPathComponent(name))
        #expect(png.count > 10_000, "a screenshot with something on it")
    }

    /// The rows of a one-column query, as text.
    static func sql(_ url: DatabaseURL, _ query: String) async throws -> [String] {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 9, logger: logger)
        do {
            var rows: [String] = []
            for try await text in try await connection.query(PostgresQuery(unsafeSQL: query), logger: logger).decode(String.self) {
                rows.append(text)
            }
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
