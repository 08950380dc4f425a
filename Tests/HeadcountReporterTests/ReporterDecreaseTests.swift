import Foundation
import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import HeadcountTestSupport
import Testing

/// A late leave lowers sealed buckets' unique and qualified (docs/certificate.md, "Decreases").
@Suite("Reporter: late leaves that lower unique and qualified", .serialized, .timeLimit(.minutes(5)))
struct ReporterDecreaseTests {
    typealias Support = ReporterSupport

    @Test("amendments explain the decrease; later seals carry the corrected numbers; recount and certificate pass; tampering fails")
    func lateLeaveLowersSealedBuckets() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-decrease")
            let start = pipeline.rules.windowStart
            let event = { (id: String, type: EventType, who: String, seconds: Int64) in
                Event(id: id, pipeline: pipeline.id, type: type, participant: who, session: "web", at: start + .seconds(seconds), source: "test")
            }
            // "shortened-i" qualifies in bucket 10 (Q = 10 min); "vanished-i" is unique from bucket 2.
            let victims = 0..<8
            let own = victims.flatMap { i in [
                event("s-join-\(i)", .join, "shortened-\(i)", 60 + Int64(i)), event("s-leave-\(i)", .leave, "shortened-\(i)", 3000),
                event("v-join-\(i)", .join, "vanished-\(i)", 120 + Int64(i)), event("v-leave-\(i)", .leave, "vanished-\(i)", 2400),
            ] }
            let events = Support.simulated(pipeline, participants: 120, seed: 4) + own
            let cluster = try await Support.ingest(events, pipeline: pipeline, store: store)
            defer { withExtendedLifetime(cluster) {} }
            let clock = TestClock()
            try await Support.makePartitionsIdle(url)
            clock.set(pipeline.rules.bucketEnd(29) + pipeline.rules.sustainedPeak + pipeline.rules.allowedLateness)
            let first = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url, cluster: cluster)
            try await Support.runReporters([first]) { first.status.sealedBuckets == 30 }

            // Leaves that were stuck: "shortened" left after 4 minutes, below Q; "vanished"
            // left at the instant it joined, so it was never present at all.
            let late = victims.flatMap { i in [
                event("s-early-leave-\(i)", .leave, "shortened-\(i)", 300), event("v-early-leave-\(i)", .leave, "vanished-\(i)", 120 + Int64(i)),
            ] }
            try await Support.publish(late, pipeline: pipeline, cluster: cluster)
            try await Support.work(pipeline, cluster: cluster, store: store, idle: .seconds(10))
            _ = try await Support.sealEverything(pipeline, url: url, clock: clock, cluster: cluster)

            let certified = BatchCount(events: events, rules: pipeline.rules).buckets
            let corrected = BatchCount(events: events + late, rules: pipeline.rules).buckets
            #expect(corrected[29].unique == certified[29].unique - 8 && corrected[29].qualified == certified[29].qualified - 16)
            try #require(corrected[30].unique < certified[29].unique && corrected[30].qualified < certified[29].qualified,
                         "the scenario lowers bucket 30 below certified bucket 29")
            let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
            #expect(snapshots.count == 60)
            #expect(snapshots[..<30].map(\.numbers) == Array(certified[..<30]), "sealed snapshots never change")
            #expect(snapshots[30...].map(\.numbers) == Array(corrected[30...]), "later seals carry the corrected numbers")
            #expect(snapshots[30].numbers.qualified < snapshots[29].numbers.qualified, "a certified decrease")
            let amendments = try await store.storedAmendments(pipeline: pipeline.id)
            #expect(amendments.map(\.bucket) == (0..<30).filter { certified[$0] != corrected[$0] })
            #expect(amendments.allSatisfy { $0.corrected == corrected[$0.bucket] })

            let recount = try await Support.recount(pipeline, store: store)
            #expect(recount.isValid, "\(recount.failures)")
            let files = try Support.files(topic: pipeline.kafka.topic)
            defer { try? FileManager.default.removeItem(atPath: (files.pipeline as NSString).deletingLastPathComponent) }
            let cli = try await HeadcountProcess(
                ["recount", "--pipeline", files.pipeline, "--database", ReporterSafetyTests.text(url), "--key", files.key]
            ).wait(timeout: .seconds(60))
            #expect(cli.status == 0, "headcount recount exits 0: \(cli.output)")

            let folder = try await Support.writeCertificate(pipeline, store: store)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let verification = CertificateVerifier(directory: folder, expectedPublicKey: Support.signingKey.publicKey).verify()
            #expect(verification.isValid, "\(verification.summary)")
            let participants = try String(contentsOfFile: folder + "/participants.txt", encoding: .utf8)
            #expect(participants.contains("shortened-0\t10\t30\n"), "in the roots of buckets 10…29, out from bucket 30")
            #expect(participants.contains("vanished-0\t11\t30\n"))
            try Self.expectTamperingFails(folder)
        }
    }

    /// Without bucket 29's amendment, bucket 30's decrease is unexplained; a changed
    /// amendment breaks the document seal.
    static func expectTamperingFails(_ folder: String) throws {
        let file = (folder as NSString).appendingPathComponent("certificate.json")
        let original = try String(contentsOfFile: file, encoding: .utf8)
        defer { try? original.write(toFile: file, atomically: true, encoding: .utf8) }
        guard case .object(var document) = try JSONValue(parsing: original), case .array(var amendments) = document["amendments"],
              let last = amendments.lastIndex(where: { $0["bucket"]?.integerValue == 29 }), case .object(var amendment) = amendments[last]
        else { Issue.record("unexpected certificate layout"); return }

        document["amendments"] = .array(amendments.filter { $0["bucket"]?.integerValue != 29 })
        try JSONValue.object(document).prettyText().write(toFile: file, atomically: true, encoding: .utf8)
        let removed = CertificateVerifier.verify(directory: folder)
        #expect(!removed.isValid)
        #expect(removed.problems.contains { $0.subject == .bucket(30) && $0.message.contains("decreased") }, "\(removed.summary)")

        guard case .object(var numbers) = amendment["corrected"] else { Issue.record("no corrected numbers"); return }
        numbers["qualified"] = .int(Int(numbers["qualified"]?.integerValue ?? 0) - 5)
        amendment["corrected"] = .object(numbers)
        amendments[last] = .object(amendment)
        document["amendments"] = .array(amendments)
        try JSONValue.object(document).prettyText().write(toFile: file, atomically: true, encoding: .utf8)
        let changed = CertificateVerifier.verify(directory: folder)
        #expect(!changed.isValid)
        #expect(changed.problems.contains { $0.code == .documentMismatch }, "\(changed.summary)")
    }
}
