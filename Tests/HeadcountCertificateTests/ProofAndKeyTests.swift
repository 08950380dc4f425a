import Foundation
import HeadcountCertificate
import HeadcountCore
import Testing

/// Inclusion proofs from a certificate folder, signing key files and the HTML page.
@Suite struct ProofAndKeyTests {
    @Test func everyQualifiedParticipantGetsAProofThatVerifies() throws {
        let fixture = try Fixture()
        let folder = Folder(path: try fixture.writeFolder())
        defer { folder.remove() }
        let verifier = CertificateVerifier(directory: folder.path)
        let qualified = fixture.count.qualifiedParticipants(atEndOf: 4)
        #expect(!qualified.isEmpty)
        for key in qualified {
            let proof = try verifier.prove(participant: key)
            #expect(proof.root == fixture.certificate.finalRoot)
            #expect(proof.treeSize == qualified.count)
            #expect(try verifier.verifyProof(proof), "\(key)")
            let reread = try InclusionProof(json: JSONValue(parsing: proof.json.canonicalText()))
            #expect(reread == proof)
            var lying = proof
            lying.participant = key + "x"
            #expect(try !verifier.verifyProof(lying))
            lying = proof
            lying.leafIndex = (proof.leafIndex + 1) % max(2, proof.treeSize)
            if proof.treeSize > 1 { #expect(try !verifier.verifyProof(lying)) }
        }
        for key in Fixture.keys where !qualified.contains(where: { $0.bytewiseEquals(key) }) {
            #expect(throws: CertificateError.self) { try verifier.prove(participant: key) }
        }
        #expect(throws: CertificateError.self) { try verifier.prove(participant: "nobody") }
    }

    @Test func signingKeyFilesRoundTripPrivately() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-key-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/signing.pem"
        let key = SigningKey.generate()
        try key.save(to: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try SigningKey.load(from: path).publicKey == key.publicKey)
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"))
        let again = #expect(throws: CertificateError.self) { try SigningKey.generate().save(to: path) }
        #expect(again?.code == .keyFileExists)
        #expect(try SigningKey.load(from: path).publicKey == key.publicKey)
        #expect(!String(describing: key).contains("PRIVATE"))
    }

    @Test func keyFileErrorsNameThePathButNoKeyMaterial() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-key-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = #expect(throws: CertificateError.self) { try SigningKey.load(from: directory + "/absent.pem") }
        #expect(missing?.code == .keyFileMissing)
        #expect(missing?.description.contains(directory + "/absent.pem") == true)
        let secret = "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n"
        try secret.write(toFile: directory + "/bad.pem", atomically: true, encoding: .utf8)
        let malformed = #expect(throws: CertificateError.self) { try SigningKey.load(from: directory + "/bad.pem") }
        #expect(malformed?.code == .keyFileMalformed)
        #expect(malformed?.description.contains("U0VDUkVU") == false)
        #expect(throws: CertificateError.self) { try PublicKey(base64: "not a key") }
    }

    @Test func theWriterRefusesAKeyThatIsNotTheCertificates() throws {
        let fixture = try Fixture()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-cert-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: CertificateError.self) {
            try CertificateWriter(directory: directory).write(fixture.certificate, signingKey: Fixture.key(3))
        }
    }

    @Test func thePageIsSelfContainedAndEscaped() throws {
        let fixture = try Fixture()
        let folder = Folder(path: try fixture.writeFolder())
        defer { folder.remove() }
        let html = try folder.read(Certificate.htmlFile)
        #expect(html.contains("Teachers &amp; &lt;AI&gt; &quot;webinar&quot;"))
        #expect(!html.contains("<AI>"))
        #expect(html.contains("&lt;UTC&gt;"))
        #expect(html.contains("<svg") && html.contains("<polyline"))
        #expect(html.contains(fixture.chain.headHash))
        #expect(html.contains(fixture.signingKey.publicKey.base64))
        #expect(html.contains("headcount verify"))
        #expect(html.contains(">\(fixture.count.outcome.qualified)<"))
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("<script"))
    }
}
