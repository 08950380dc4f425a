import Foundation
import HeadcountCertificate
import HeadcountCore
import HeadcountReporter
import HeadcountStore
import HeadcountTestSupport
import Testing

/// A reporter on a rehearsal clock seals a rehearsal chain: the store remembers it, the
/// recount and the certificate rebuild its genesis, and `verify` says it is no evidence.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ReporterRehearsalTests {
    typealias Support = ReporterSupport

    @Test func aRehearsalChainIsMarkedFromTheStoreToTheVerifier() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "reporter-rehearsal")
            let events = Support.simulated(pipeline, participants: 60)
            let cluster = try await Support.ingest(events, pipeline: pipeline, store: store)
            defer { withExtendedLifetime(cluster) {} }
            let clock = TestClock()
            try await Support.makePartitionsIdle(url)
            clock.set(pipeline.rules.windowEnd + pipeline.rules.allowedLateness)
            var configuration = Support.configuration(pipeline, clock: clock)
            configuration.rehearsal = true
            let reporter = try Support.reporter(configuration, url: url, cluster: cluster)
            let buckets = pipeline.rules.bucketCount
            try await Support.runReporters([reporter]) { reporter.status.sealedBuckets == buckets }

            let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
            #expect(snapshots.count == buckets && snapshots.allSatisfy(\.rehearsal))
            #expect(snapshots.map(\.numbers) == BatchCount(events: events, rules: pipeline.rules).buckets)
            let recount = try await Support.recount(pipeline, store: store)
            #expect(recount.isValid, "\(recount.failures)")

            let folder = try await Support.writeCertificate(pipeline, store: store)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let verification = CertificateVerifier(directory: folder, expectedPublicKey: Support.signingKey.publicKey).verify()
            #expect(verification.isValid, "\(verification.summary)")
            #expect(verification.rehearsal)
            let html = try String(contentsOfFile: folder + "/" + Certificate.htmlFile, encoding: .utf8)
            #expect(html.contains("REHEARSAL — NOT EVIDENCE"))
        }
    }
}
