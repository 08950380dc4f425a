import Foundation
import HeadcountCertificate
import HeadcountCore
import Testing

/// A chain sealed under a rehearsal clock says so everywhere, and the mark cannot be
/// stripped: it is part of the genesis hash.
@Suite struct RehearsalTests {
    static func folder(rehearsal: Bool) throws -> Folder {
        try SpecVersionTests.folder(spec: .v2, rehearsal: rehearsal).0
    }

    @Test func theCanonicalFormCarriesTheMarkOnlyForARehearsal() throws {
        let real = PipelineCanonicalForm(id: "p", title: "t", rules: Fixture.rules())
        var rehearsal = real
        rehearsal.rehearsal = true
        #expect(real.json["rehearsal"] == nil)
        #expect(rehearsal.json["rehearsal"] == .bool(true))
        #expect(real.genesisHash != rehearsal.genesisHash)
        #expect(try PipelineCanonicalForm(json: rehearsal.json) == rehearsal)
        #expect(try PipelineCanonicalForm(json: real.json) == real)
        guard case .object(var members) = real.json else { Issue.record("not an object"); return }
        members["rehearsal"] = .bool(false)
        #expect(throws: CertificateError.self) { try PipelineCanonicalForm(json: .object(members)) }
    }

    @Test func aRehearsalCertificateSaysSoAndStillVerifies() throws {
        let folder = try Self.folder(rehearsal: true)
        defer { folder.remove() }
        let document = try folder.document()
        #expect(document["rehearsal"] == .bool(true))
        #expect(document["pipeline"]?["rehearsal"] == .bool(true))
        let html = try String(contentsOfFile: folder.path + "/" + Certificate.htmlFile, encoding: .utf8)
        #expect(html.contains("REHEARSAL — NOT EVIDENCE"))
        let report = CertificateVerifier.verify(directory: folder.path)
        #expect(report.isValid, "\(report.summary)")
        #expect(report.rehearsal)
        #expect(report.summary.contains("REHEARSAL — NOT EVIDENCE"))
    }

    @Test func aRealCertificateHasNoMark() throws {
        let folder = try Self.folder(rehearsal: false)
        defer { folder.remove() }
        #expect(try folder.document()["rehearsal"] == nil)
        let html = try String(contentsOfFile: folder.path + "/" + Certificate.htmlFile, encoding: .utf8)
        #expect(!html.contains("REHEARSAL"))
        let report = CertificateVerifier.verify(directory: folder.path)
        #expect(report.isValid && !report.rehearsal && !report.summary.contains("REHEARSAL"))
    }

    @Test func strippingTheMarkBreaksTheChain() throws {
        let folder = try Self.folder(rehearsal: true)
        defer { folder.remove() }
        try folder.edit { document in
            guard case .object(var pipeline) = document["pipeline"]! else { return }
            pipeline["rehearsal"] = nil
            document = document.setting("pipeline", .object(pipeline)).setting("rehearsal", .bool(false))
        }
        let report = CertificateVerifier.verify(directory: folder.path)
        #expect(!report.isValid)
        #expect(!report.problems(about: .bucket(0)).isEmpty || !report.problems(about: .rules).isEmpty)
    }
}
