import Foundation
import HeadcountCertificate
import HeadcountCore
import Testing

/// Certificates of spec v1 (issued before sustained_peak) and v2 are each verified by their
/// own rules, and one cannot pass for the other.
@Suite struct SpecVersionTests {
    /// The fixture's events sealed under `spec` and written to a fresh folder.
    static func folder(spec: PipelineCanonicalForm.Spec, rehearsal: Bool = false) throws -> (Folder, BatchCount) {
        let key = Fixture.key(1)
        let pipeline = PipelineCanonicalForm(id: "demo-2025", title: "spec test", rules: Fixture.rules(), spec: spec, rehearsal: rehearsal)
        let count = BatchCount(events: Fixture.events(seed: 3), rules: pipeline.rules)
        var chain = try SnapshotChain(pipeline: pipeline, signingKey: key)
        try chain.sealAll(count.buckets, participants: count.qualifiedParticipantList)
        let certificate = Certificate(chain: chain, publicKey: key.publicKey, participants: count.qualifiedParticipantList)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-spec-\(UUID().uuidString)").path
        try CertificateWriter(directory: path).write(certificate, signingKey: key)
        return (Folder(path: path), count)
    }

    @Test func aV1CertificateVerifiesByTheV1Rules() throws {
        let (folder, count) = try Self.folder(spec: .v1)
        defer { folder.remove() }
        let document = try folder.document()
        #expect(document["pipeline"]?["spec"]?.stringValue == "headcount-counting/1")
        #expect(document["pipeline"]?["rules"]?["sustained_peak_ms"] == nil)
        #expect(document["snapshots"]?.arrayValue?.allSatisfy { $0["sustained_peak"] == nil } == true)
        #expect(document["result"]?["sustained_peak"] == nil)
        let report = CertificateVerifier.verify(directory: folder.path)
        #expect(report.isValid, "\(report.summary)")
        #expect(report.result?.qualified == count.outcome.qualified && report.result?.sustainedPeak == 0)
        #expect(!report.summary.contains("sustained"))
    }

    @Test func aV2CertificateCarriesAndHashesTheSustainedPeak() throws {
        let (folder, count) = try Self.folder(spec: .v2)
        defer { folder.remove() }
        let document = try folder.document()
        #expect(document["pipeline"]?["rules"]?["sustained_peak_ms"]?.integerValue == 10_000)
        let stated = document["snapshots"]?.arrayValue?.compactMap { $0["sustained_peak"]?.integerValue.map(Int.init) }
        #expect(stated == count.buckets.map(\.sustainedPeak))
        #expect(document["result"]?["sustained_peak"]?.integerValue.map(Int.init) == count.outcome.sustainedPeak)
        let report = CertificateVerifier.verify(directory: folder.path)
        #expect(report.isValid, "\(report.summary)")
        #expect(report.summary.contains("sustained peak \(count.outcome.sustainedPeak)"))
        #expect(count.outcome.sustainedPeak > 0)
    }

    @Test func aChangedOrMissingSustainedPeakIsCaught() throws {
        let (folder, _) = try Self.folder(spec: .v2)
        defer { folder.remove() }
        try folder.editSnapshot(2, "sustained_peak", .int(1_000))
        let changed = CertificateVerifier.verify(directory: folder.path)
        #expect(changed.problems(about: .bucket(2)).contains { $0.code == .hashMismatch })
        try folder.edit { document in
            guard case .array(var snapshots) = document["snapshots"]!, case .object(var members) = snapshots[2] else { return }
            members["sustained_peak"] = nil
            snapshots[2] = .object(members)
            document = document.setting("snapshots", .array(snapshots))
        }
        let missing = CertificateVerifier.verify(directory: folder.path)
        #expect(missing.problems(about: .bucket(2)).contains { $0.message.contains("sustained_peak is missing") })
    }

    @Test func aV2ChainCannotPassForV1() throws {
        let (folder, _) = try Self.folder(spec: .v2)
        defer { folder.remove() }
        try folder.edit { document in
            guard case .object(var pipeline) = document["pipeline"]!, case .object(var rules) = pipeline["rules"]! else { return }
            pipeline["spec"] = .string("headcount-counting/1")
            rules["sustained_peak_ms"] = nil
            pipeline["rules"] = .object(rules)
            document = document.setting("pipeline", .object(pipeline))
        }
        let report = CertificateVerifier.verify(directory: folder.path)
        #expect(!report.isValid)
        #expect(report.problems(about: .rules).contains { $0.code == .rulesMismatch })
    }
}
