import Foundation
import HeadcountCertificate
import HeadcountCore
import Testing

/// Writing a certificate folder and verifying it; every kind of tampering is caught and named.
@Suite struct CertificateFolderTests {
    @Test func writtenCertificateVerifies() throws {
        let fixture = try Fixture()
        let folder = Folder(path: try fixture.writeFolder())
        defer { folder.remove() }
        let report = CertificateVerifier.verify(directory: folder.path)
        #expect(report.isValid, "\(report.summary)")
        #expect(report.result == fixture.count.outcome)
        #expect(report.bucketsChecked == 5)
        #expect(report.participantsChecked == fixture.count.qualifiedParticipantList.count)
        #expect(report.headHash == fixture.chain.headHash)
        let strict = CertificateVerifier(
            directory: folder.path, expectedPublicKey: fixture.signingKey.publicKey, expectedPipeline: fixture.pipeline)
        #expect(strict.verify().isValid)
        #expect(try PublicKey(pem: folder.read(Certificate.publicKeyFile)) == fixture.signingKey.publicKey)
    }

    @Test func participantListEscapesAwkwardKeys() throws {
        let fixture = try Fixture()
        let folder = Folder(path: try fixture.writeFolder())
        defer { folder.remove() }
        let text = try folder.read(Certificate.participantsFile)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == fixture.count.qualifiedParticipantList.count)
        #expect(lines.allSatisfy { $0.split(separator: "\t").count == 2 })
        if fixture.count.qualifiedBucket(of: "tab\there") != nil { #expect(text.contains("tab%09here\t")) }
        if fixture.count.qualifiedBucket(of: "ü%41") != nil { #expect(text.contains("ü%2541\t")) }
    }

    @Test func aChangedNumberIsNamedByItsBucket() throws {
        try expectTampering(named: .bucket(2), code: .hashMismatch) { try $0.editSnapshot(2, "active", 99) }
        try expectTampering(named: .bucket(4), code: .hashMismatch) { try $0.editSnapshot(4, "qualified", 0) }
    }

    @Test func aChangedHashBreaksItsBucketAndTheNextLink() throws {
        let report = try expectTampering(named: .bucket(1), code: .hashMismatch) {
            try $0.editSnapshot(1, "hash", .string(String(repeating: "0", count: 64)))
        }
        #expect(report.problems(about: .bucket(1)).contains { $0.code == .badSignature })
        #expect(report.problems(about: .bucket(2)).contains { $0.code == .chainBroken })
    }

    @Test func aChangedSignatureIsNamedByItsBucket() throws {
        let fixture = try Fixture()
        let other = try Fixture(signingKey: Fixture.key(9)).chain.snapshots[3].signature
        let report = try expectTampering(named: .bucket(3), code: .badSignature, fixture: fixture) {
            try $0.editSnapshot(3, "signature", .string(other))
        }
        #expect(report.bucketsWithProblems == [3])
    }

    @Test func aChangedPreviousHashBreaksTheChain() throws {
        try expectTampering(named: .bucket(2), code: .chainBroken) {
            try $0.editSnapshot(2, "prev_hash", .string(String(repeating: "c", count: 64)))
        }
    }

    @Test func changedRulesAreNamedAsTheRules() throws {
        try expectTampering(named: .rules, code: .rulesMismatch) { folder in
            try folder.edit { document in
                let rules = document["pipeline"]!["rules"]!.setting("minimum_presence_ms", 1000)
                document = document.setting("pipeline", document["pipeline"]!.setting("rules", rules))
            }
        }
        try expectTampering(named: .rules, code: .rulesMismatch) { folder in
            try folder.edit { document in
                document = document.setting("pipeline", document["pipeline"]!.setting("title", "A bigger record"))
            }
        }
    }

    @Test func aChangedParticipantLineIsNamedByTheBucketsItAffects() throws {
        let fixture = try Fixture()
        let target = try #require(fixture.count.qualifiedParticipantList.first { Self.isPlain($0.key) })
        let report = try expectTampering(named: .bucket(target.bucket), code: .rootMismatch, fixture: fixture) { folder in
            let text = try folder.read(Certificate.participantsFile)
            try folder.write(Certificate.participantsFile, text.replacingOccurrences(of: "\(target.key)\t", with: "\(target.key)x\t"))
        }
        #expect(report.problems(about: .participants(line: nil)).contains { $0.code == .documentMismatch })
        #expect(report.bucketsWithProblems.first == target.bucket)
    }

    /// Keys written verbatim in participants.txt, so a text replacement finds them.
    static func isPlain(_ key: String) -> Bool {
        key.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" } && key.utf8.allSatisfy { $0 < 0x80 }
    }

    @Test func aParticipantMovedToAnotherBucketIsCaught() throws {
        let fixture = try Fixture()
        let target = try #require(fixture.count.qualifiedParticipantList.first { $0.bucket < 4 && Self.isPlain($0.key) })
        try expectTampering(named: .bucket(target.bucket), code: .countMismatch, fixture: fixture) { folder in
            let text = try folder.read(Certificate.participantsFile)
            try folder.write(Certificate.participantsFile, text.replacingOccurrences(of: "\(target.key)\t\(target.bucket)\n", with: "\(target.key)\t4\n"))
        }
    }

    @Test func aChangedResultIsNamedAsTheResult() throws {
        try expectTampering(named: .result, code: .resultMismatch) { folder in
            try folder.edit { $0 = $0.setting("result", $0["result"]!.setting("qualified", 25_000)) }
        }
    }

    @Test func changesOutsideTheChainBreakTheDocumentSeal() throws {
        try expectTampering(named: .amendment(index: 0, bucket: 1), code: .countMismatch) { folder in
            try folder.edit { document in
                let amendment = document["amendments"]!.arrayValue![0]
                let certified = amendment["certified"]!.setting("active", 0)
                document = document.setting("amendments", [amendment.setting("certified", certified)])
            }
        }
        try expectTampering(named: .certificate, code: .documentMismatch) { folder in
            try folder.edit { document in
                guard case .array(var snapshots) = document["snapshots"]!, case .object(var members) = snapshots[3] else { return }
                members["incomplete"] = nil
                snapshots[3] = .object(members)
                document = document.setting("snapshots", .array(snapshots))
            }
        }
    }

    @Test func aForgeryUnderAnotherKeyFailsAgainstTheExpectedKey() throws {
        let genuine = try Fixture()
        let forged = try Fixture(seed: 2, signingKey: Fixture.key(7))
        let folder = Folder(path: try forged.writeFolder())
        defer { folder.remove() }
        #expect(CertificateVerifier.verify(directory: folder.path).isValid)
        let report = CertificateVerifier(directory: folder.path, expectedPublicKey: genuine.signingKey.publicKey).verify()
        #expect(report.problems(about: .certificate).contains { $0.code == .wrongKey })
        // Swapping only the published key makes every signature fail.
        try folder.edit { $0 = $0.setting("public_key", .string(genuine.signingKey.publicKey.base64)) }
        let swapped = CertificateVerifier.verify(directory: folder.path)
        for m in 0..<5 { #expect(swapped.problems(about: .bucket(m)).contains { $0.code == .badSignature }) }
    }

    @Test func aMissingFolderIsAProblemNotACrash() {
        let report = CertificateVerifier.verify(directory: "/nonexistent/headcount-certificate")
        #expect(!report.isValid)
        #expect(report.problems.first?.subject == .certificate)
    }

    /// Writes a fresh folder, applies `tamper`, verifies, and expects a problem about `subject`.
    @discardableResult
    func expectTampering(
        named subject: VerificationProblem.Subject, code: VerificationProblem.Code, fixture: Fixture? = nil,
        sourceLocation: SourceLocation = #_sourceLocation, _ tamper: (Folder) throws -> Void
    ) throws -> VerificationReport {
        let fixture = try fixture ?? Fixture()
        let folder = Folder(path: try fixture.writeFolder())
        defer { folder.remove() }
        try tamper(folder)
        let report = CertificateVerifier.verify(directory: folder.path)
        #expect(!report.isValid, sourceLocation: sourceLocation)
        #expect(
            report.problems(about: subject).contains { $0.code == code },
            "expected \(code) about \(subject) in:\n\(report.summary)", sourceLocation: sourceLocation)
        return report
    }
}
