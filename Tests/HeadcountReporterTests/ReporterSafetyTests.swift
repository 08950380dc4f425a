import Foundation
import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import HeadcountTestSupport
import PostgresNIO
import ServiceLifecycle
import Testing

/// Tampering, failover and incomplete input: what must hold even when things go wrong.
@Suite("Reporter: tampering, failover and retention gaps", .serialized, .timeLimit(.minutes(5)))
struct ReporterSafetyTests {
    typealias Support = ReporterSupport

    @Test("the database refuses to change a sealed row; a change behind its back fails the recount and the certificate, naming the bucket")
    func tampering() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-tamper")
            let cluster = try await Support.ingest(Support.simulated(pipeline, participants: 100, seed: 5), pipeline: pipeline, store: store)
            defer { withExtendedLifetime(cluster) {} }
            _ = try await Support.sealEverything(pipeline, url: url, clock: TestClock(), cluster: cluster)
            #expect(try await Support.recount(pipeline, store: store).isValid)
            let folder = try await Support.writeCertificate(pipeline, store: store)
            defer { try? FileManager.default.removeItem(atPath: folder) }

            for statement in [
                "UPDATE headcount.snapshots SET active = active + 1 WHERE bucket = 3",
                "DELETE FROM headcount.snapshots WHERE bucket = 59",
                "TRUNCATE headcount.amendments",
                "UPDATE headcount.certified_participants SET bucket = 0",
            ] {
                do {
                    try await Support.sql(url, statement)
                    Issue.record("accepted: \(statement)")
                } catch let error as PSQLError {
                    #expect(error.serverInfo?[.sqlState] == "HC001", "\(statement)")
                    #expect(error.serverInfo?[.message]?.contains("append-only") == true)
                }
            }
            #expect(try await store.storedSnapshots(pipeline: pipeline.id).count == 60)

            // Only the table's owner can disable the trigger; then the chain gives it away.
            try await Support.sql(
                url, "ALTER TABLE headcount.snapshots DISABLE TRIGGER snapshots_sealed",
                "UPDATE headcount.snapshots SET qualified = qualified + 1, \"unique\" = \"unique\" + 1 WHERE bucket = 41",
                "ALTER TABLE headcount.snapshots ENABLE TRIGGER snapshots_sealed")
            let recount = try await Support.recount(pipeline, store: store)
            #expect(!recount.isValid)
            #expect(recount.failedBuckets == [41])
            #expect(recount.failures.contains { $0.hasPrefix("bucket 41: the stored hash is not the hash") })
            let files = try Support.files(topic: pipeline.kafka.topic)
            defer { try? FileManager.default.removeItem(atPath: (files.pipeline as NSString).deletingLastPathComponent) }
            let cli = try await HeadcountProcess(
                ["recount", "--pipeline", files.pipeline, "--database", Self.text(url), "--key", files.key]
            ).wait(timeout: .seconds(60))
            #expect(cli.status == 2, "headcount recount exits non-zero")
            #expect(cli.output.contains("FAILED") && cli.output.contains("buckets 41"))

            // The same change made in a certificate folder instead.
            let file = (folder as NSString).appendingPathComponent("certificate.json")
            guard case .object(var document) = try JSONValue(parsing: String(contentsOfFile: file, encoding: .utf8)),
                  case .array(var snapshots) = document["snapshots"], case .object(var bucket) = snapshots[17]
            else { Issue.record("unexpected certificate layout"); return }
            bucket["active"] = .int(Int(bucket["active"]?.integerValue ?? 0) + 1)
            snapshots[17] = .object(bucket)
            document["snapshots"] = .array(snapshots)
            try JSONValue.object(document).prettyText().write(toFile: file, atomically: true, encoding: .utf8)
            let verification = CertificateVerifier.verify(directory: folder)
            #expect(!verification.isValid)
            #expect(verification.bucketsWithProblems.contains(17))
            let verify = try await HeadcountProcess(["verify", folder]).wait(timeout: .seconds(30))
            #expect(verify.status != 0)
            #expect(verify.output.contains("bucket 17"))
        }
    }

    @Test("two reporters never seal a bucket twice, and when the active one stops the other carries on")
    func failover() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-failover")
            let events = Support.simulated(pipeline, participants: 100, seed: 9)
            let cluster = try await Support.ingest(events, pipeline: pipeline, store: store)
            defer { withExtendedLifetime(cluster) {} }
            try await Support.makePartitionsIdle(url)
            let clock = TestClock()
            clock.set(pipeline.rules.bucketEnd(29) + pipeline.rules.sustainedPeak + pipeline.rules.allowedLateness)
            let a = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url, cluster: cluster)
            let b = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url, cluster: cluster)
            let groupA = ServiceGroup(services: [a], logger: Support.logger)
            let groupB = ServiceGroup(services: [b], logger: Support.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await groupA.run() }
                tasks.addTask { try await groupB.run() }
                try await Self.wait { a.status.sealedBuckets == 30 || b.status.sealedBuckets == 30 }
                try await Self.wait { Set([a.status.role, b.status.role]) == [.active, .standby] }
                let (active, standby, activeGroup, standbyGroup) = a.status.role == .active ? (a, b, groupA, groupB) : (b, a, groupB, groupA)
                #expect(standby.status.sealedByThisReporter == 0)

                await activeGroup.triggerGracefulShutdown()
                clock.set(pipeline.rules.windowEnd + pipeline.rules.allowedLateness)
                // The standby takes over: the wait's deadline bounds how long it may take.
                try await Self.wait { standby.status.sealedBuckets == 60 }
                #expect(active.status.sealedByThisReporter == 30)
                #expect(standby.status.sealedByThisReporter == 30)
                await standbyGroup.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
            #expect(snapshots.map(\.bucket) == Array(0..<60))
            #expect(snapshots.map(\.numbers) == BatchCount(events: events, rules: pipeline.rules).buckets)
            #expect(try await Support.recount(pipeline, store: store).isValid, "one chain across the handover")
        }
    }

    @Test("when the active reporter's session is killed, sealing resumes within seconds without a gap or a repeat")
    func killedSession() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-kill")
            let clock = TestClock()
            clock.set(pipeline.rules.bucketEnd(19) + pipeline.rules.sustainedPeak + pipeline.rules.allowedLateness)
            let a = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url)
            let b = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url)
            try await Support.runReporters([a, b]) {
                let sealed = max(a.status.sealedBuckets, b.status.sealedBuckets)
                if clock.now() < pipeline.rules.windowEnd {
                    guard sealed == 20 else { return false }
                    // As a crash or a network cut would: the server ends the lock holder's session.
                    try await Support.sql(url, """
                        SELECT pg_terminate_backend(pid)::text FROM pg_locks
                        WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                        """)
                    clock.set(pipeline.rules.windowEnd + pipeline.rules.allowedLateness)
                    return false
                }
                return sealed == 60 && Set([a.status.role, b.status.role]) == [.active, .standby]
            }
            #expect(a.status.sealedByThisReporter + b.status.sealedByThisReporter == 60)
            let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
            #expect(snapshots.map(\.bucket) == Array(0..<60))
            #expect(try await Support.recount(pipeline, store: store).isValid)
        }
    }

    @Test("the sealing lock is held by one session at a time and released when that session ends")
    func sealingLock() async throws {
        try await TestDatabase.withStore { _, url in
            let first = try await SealingConnection.open(url: url, logger: Support.logger)
            let second = try await SealingConnection.open(url: url, logger: Support.logger)
            #expect(try await first.tryLock(pipeline: "p"))
            #expect(try await !second.tryLock(pipeline: "p"))
            #expect(try await second.tryLock(pipeline: "another-pipeline"))
            await first.close()
            // The server releases a session's locks when it notices the session ended, a
            // moment after the client closed it: the standby gets the lock then.
            try await Eventually.until("the standby to get the released lock", timeout: .seconds(30), interval: .milliseconds(50)) {
                try await second.tryLock(pipeline: "p")
            }
            await second.close()
        }
    }

    @Test("a retention gap makes every bucket incomplete, in the rows and in the certificate")
    func retentionGap() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-gap")
            let clock = TestClock()
            // A few buckets sealed before the gap is noticed, the rest after.
            clock.set(pipeline.rules.bucketEnd(4) + pipeline.rules.sustainedPeak + pipeline.rules.allowedLateness)
            let early = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url)
            try await Support.runReporters([early]) { early.status.sealedBuckets == 5 }
            try await Support.sql(url, """
                INSERT INTO headcount.retention_gaps (pipeline, topic, kafka_partition, first_missing_offset, last_missing_offset)
                VALUES ('\(pipeline.id)', '\(pipeline.kafka.topic)', 2, 100, 149)
                """)
            _ = try await Support.sealEverything(pipeline, url: url, clock: clock)
            let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
            #expect(snapshots.prefix(5).allSatisfy { $0.incomplete == nil }, "sealed rows are never changed")
            #expect(snapshots.dropFirst(5).allSatisfy { $0.incomplete?.contains("50 messages") == true })

            let certificate = try await CertificateAssembly.load(store: store, pipeline: pipeline, publicKey: Support.signingKey.publicKey)
            #expect(certificate.incomplete.keys.sorted() == Array(0..<60), "the certificate flags every bucket")
            let folder = try await Support.writeCertificate(pipeline, store: store)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let text = try String(contentsOfFile: (folder as NSString).appendingPathComponent("certificate.json"), encoding: .utf8)
            #expect(text.components(separatedBy: "\"incomplete\"").count - 1 == 60)
            #expect(CertificateVerifier.verify(directory: folder).isValid)
        }
    }

    /// The URL with its password, as the executable needs it (the test server has none).
    static func text(_ url: DatabaseURL) -> String {
        "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)"
    }

    static func wait(timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        try await Eventually.until("the reporters' state", timeout: timeout) { condition() }
    }
}
