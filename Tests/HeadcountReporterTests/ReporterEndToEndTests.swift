import Foundation
import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import HeadcountTestSupport
import PostgresNIO
import Testing

/// Kafka (dev cluster) → worker → PostgreSQL → reporter → certificate, with real services.
@Suite("Reporter: sealing, amendments, recount and certificate", .serialized, .timeLimit(.minutes(5)))
struct ReporterEndToEndTests {
    typealias Support = ReporterSupport

    @Test("tails kept on presence rows behind the watermark are counted in the seals (docs/counting.md, \"Open tails\")")
    func keptTails() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-tails", partitions: 1)
            let start = pipeline.rules.windowStart
            func event(_ who: String, _ type: EventType, _ seconds: Int64) -> Event {
                Event(
                    id: "\(who)-\(type.rawValue)-\(seconds)", pipeline: pipeline.id, type: type, participant: who, session: "\(who)-1",
                    at: start + .seconds(seconds), source: "test")
            }
            // A and B beat every 30 s and go silent (H = 90 s closes them); C leaves. The
            // partition's last event is B's beat at 25:00, so B's tail (26:30) is still ahead
            // of event time when stored and stays on B's presence row; nothing later moves it
            // into the rows, and the seals of minutes 26 on are right only if the reporter adds it.
            var events = [event("A", .join, 600), event("B", .join, 720), event("C", .join, 300), event("C", .leave, 900)]
            events += stride(from: 630, through: 1_200, by: 30).map { event("A", .heartbeat, $0) }
            events += stride(from: 750, through: 1_500, by: 30).map { event("B", .heartbeat, $0) }
            let cluster = try await Support.ingest(events, pipeline: pipeline, store: store)
            defer { withExtendedLifetime(cluster) {} }
            let kept = try await Support.sql(
                url, "SELECT participant FROM headcount.presence WHERE tail_peak_at IS NOT NULL OR tail_sustained_at IS NOT NULL")
            #expect(kept == ["B"], "B's tail is kept on its presence row")

            _ = try await Support.sealEverything(pipeline, url: url, clock: TestClock(), cluster: cluster)
            let batch = BatchCount(events: events, rules: pipeline.rules)
            let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
            #expect(snapshots.map(\.numbers) == batch.buckets, "every certified snapshot equals the batch count's bucket")
            #expect(snapshots[26].numbers.peak == 1 && snapshots[27].numbers.peak == 0, "B present into minute 26, gone in 27")
            #expect(try await store.contributedNumbers(pipeline: pipeline.id, rules: pipeline.rules) == batch.buckets)
            #expect(try await store.storedAmendments(pipeline: pipeline.id).isEmpty)
        }
    }

    @Test("a simulated webinar is sealed bucket for bucket as the batch count says; recount and certificate verify")
    func endToEnd() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-e2e")
            // Shuffled arrival, retried webhooks, reconnects, several devices: the standard profile.
            let events = Support.simulated(pipeline, participants: 400)
            let cluster = try await Support.ingest(events, pipeline: pipeline, store: store)
            defer { withExtendedLifetime(cluster) {} }

            let clock = TestClock()
            try await Support.makePartitionsIdle(url)
            // Half-way first: the watermark decides how far sealing goes, and nothing beyond.
            // At E_29 bucket 29 still waits: its sustained_peak looks S past its end.
            clock.set(pipeline.rules.bucketEnd(29) + pipeline.rules.allowedLateness)
            let early = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url, cluster: cluster)
            try await Support.runReporters([early]) { early.status.sealedBuckets == 29 && early.status.rounds >= 3 }
            #expect(try await store.storedSnapshots(pipeline: pipeline.id).count == 29)
            clock.set(pipeline.rules.bucketEnd(29) + pipeline.rules.sustainedPeak + pipeline.rules.allowedLateness)
            let first = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url, cluster: cluster)
            try await Support.runReporters([first]) { first.status.sealedBuckets == 30 && first.status.rounds >= 3 }
            #expect(try await store.storedSnapshots(pipeline: pipeline.id).count == 30)

            _ = try await Support.sealEverything(pipeline, url: url, clock: clock, cluster: cluster)
            let batch = BatchCount(events: events, rules: pipeline.rules)
            let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
            #expect(snapshots.map(\.numbers) == batch.buckets, "every certified snapshot equals the batch count's bucket")
            #expect(batch.outcome.qualified > 0 && batch.outcome.peak > 0)
            // The sustained peak is certified too (spec v2), and it is a different number.
            #expect(batch.outcome.sustainedPeak > 0 && batch.outcome.sustainedPeak <= batch.outcome.peak)
            #expect(snapshots.allSatisfy { $0.certifiesSustainedPeak })
            for m in [0, 29, 59] {
                #expect(snapshots[m].participantsRoot == MerkleTree(participants: batch.qualifiedParticipants(atEndOf: m)).rootHex)
            }
            #expect(snapshots.allSatisfy { $0.incomplete == nil })
            #expect(try await store.storedAmendments(pipeline: pipeline.id).isEmpty)

            let recount = try await Support.recount(pipeline, store: store)
            #expect(recount.isValid, "\(recount.failures)")

            let folder = try await Support.writeCertificate(pipeline, store: store)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let verification = CertificateVerifier(directory: folder, expectedPublicKey: Support.signingKey.publicKey).verify()
            #expect(verification.isValid, "\(verification.summary)")
            #expect(verification.result == batch.outcome)
            let someone = batch.qualifiedParticipants(atEndOf: 59)[7]
            let proof = try CertificateVerifier(directory: folder).prove(participant: someone)
            #expect(try CertificateVerifier(directory: folder).verifyProof(proof))

            // The analyst views answer from the same rows.
            let certified = try await Support.sql(url, "SELECT count(*)::text FROM headcount.certified_snapshots")
            #expect(certified == ["60"])
            let sustained = try await Support.sql(
                url, "SET ROLE headcount_analyst", "SELECT max(sustained_peak)::text FROM headcount.certified_snapshots")
            #expect(sustained == ["\(batch.outcome.sustainedPeak)"])
            let qualified = try await Support.sql(url, "SELECT count(*)::text FROM headcount.participant_summary WHERE qualified")
            #expect(qualified == ["\(batch.outcome.qualified)"])
            let analyst = try await Support.sql(url, "SET ROLE headcount_analyst", "SELECT count(*)::text FROM headcount.participant_summary")
            #expect(analyst == ["\(try await store.presenceRows(pipeline: pipeline.id).count)"])
            do {
                try await Support.sql(url, "SET ROLE headcount_analyst", "SELECT count(*)::text FROM headcount.snapshots")
                Issue.record("the analyst role can read a table")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "42501", "insufficient privilege")
            }
        }
    }

    @Test("late events after sealing become amendments; sealed rows stay byte-identical and the recount passes")
    func lateEvents() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-late")
            let events = Support.simulated(pipeline, participants: 200, seed: 3)
            let cluster = try await Support.ingest(events, pipeline: pipeline, store: store)
            defer { withExtendedLifetime(cluster) {} }
            let clock = TestClock()
            _ = try await Support.sealEverything(pipeline, url: url, clock: clock, cluster: cluster)
            let before = try await Support.snapshotRows(url)
            #expect(before.count == 60)

            // Three teachers whose webhooks were stuck for the whole event arrive now.
            let start = pipeline.rules.windowStart
            let late = (0..<3).flatMap { n in [
                Event(id: "late-join-\(n)", pipeline: pipeline.id, type: .join, participant: "late-\(n)", session: "web",
                      at: start + .seconds(90 + 60 * Int64(n)), source: "test"),
                Event(id: "late-leave-\(n)", pipeline: pipeline.id, type: .leave, participant: "late-\(n)", session: "web",
                      at: start + .seconds(1800), source: "test"),
            ] }
            try await Support.publish(late, pipeline: pipeline, cluster: cluster)
            let stored = try await store.eventCount(pipeline: pipeline.id)
            // Rejoining the group takes a few seconds: wait longer for the first message.
            try await Support.work(pipeline, cluster: cluster, store: store, idle: .seconds(10))
            #expect(try await store.eventCount(pipeline: pipeline.id) == stored + late.count)
            try await Support.makePartitionsIdle(url)

            let reporter = try Support.reporter(Support.configuration(pipeline, clock: clock), url: url, cluster: cluster)
            try await Support.runReporters([reporter]) { reporter.status.rounds >= 3 }
            let amendments = try await store.storedAmendments(pipeline: pipeline.id)
            let corrected = BatchCount(events: events + late, rules: pipeline.rules).buckets
            let certified = BatchCount(events: events, rules: pipeline.rules).buckets
            let changed = (0..<60).filter { corrected[$0] != certified[$0] }
            #expect(!changed.isEmpty)
            #expect(amendments.map(\.bucket) == changed, "one amendment per changed bucket, no repeats across rounds")
            for amendment in amendments {
                #expect(amendment.certified == certified[amendment.bucket])
                #expect(amendment.corrected == corrected[amendment.bucket])
                #expect(!amendment.events.isEmpty && amendment.events.allSatisfy { $0.hasPrefix("late-") })
            }
            #expect(try await Support.snapshotRows(url) == before, "sealed rows never change")

            let recount = try await Support.recount(pipeline, store: store)
            #expect(recount.isValid, "\(recount.failures)")
            let folder = try await Support.writeCertificate(pipeline, store: store)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let verification = CertificateVerifier.verify(directory: folder)
            #expect(verification.isValid, "\(verification.summary)")
        }
    }
}
