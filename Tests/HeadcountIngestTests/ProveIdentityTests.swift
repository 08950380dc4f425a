import Foundation
import HeadcountAdapters
import HeadcountCertificate
import HeadcountCore
import HeadcountTestSupport
import Testing

/// `headcount prove DIR --identity EMAIL --pseudonym-key F`, the teacher's own check, end to
/// end: signed Zoom deliveries through the real adapter (which pseudonymises the e-mails),
/// counted and sealed into a certificate folder by the real certificate code, then the
/// built executable asked about her address.
@Suite("prove --identity: a teacher finds herself in a certificate")
struct ProveIdentityTests {
    /// A folder with the certificate and a file holding the pipeline's pseudonym key.
    struct Certified {
        let directory: String
        var certificate: String { directory + "/certificate" }
        var keyFile: String { directory + "/pseudonym-key" }
    }

    /// Ana stays 105 minutes (qualified); Budi 5 (counted, not qualified).
    func certify() throws -> Certified {
        // Delivered as the meeting ends, so no event is ahead of the ingest clock.
        let now = Instant(rfc3339: "2025-09-20T03:55:00Z")!
        let context = try Fixtures.context(now: now)
        func deliver(_ event: String, email: String, connection: String, time: String) throws -> [Event] {
            let body = Fixtures.zoomBody(event: event, email: email, participantUUID: connection, time: time)
            return try ZoomWebhook.receive(Fixtures.zoomRequest(body, timestamp: now), context: context).events
        }
        let events = try deliver("meeting.participant_joined", email: "Ana.Teacher@School.ID ", connection: "c-1", time: "2025-09-20T02:05:00Z")
            + deliver("meeting.participant_left", email: "ana.teacher@school.id", connection: "c-1", time: "2025-09-20T03:50:00Z")
            + deliver("meeting.participant_joined", email: "budi@school.id", connection: "c-2", time: "2025-09-20T02:10:00Z")
            + deliver("meeting.participant_left", email: "budi@school.id", connection: "c-2", time: "2025-09-20T02:15:00Z")
        #expect(!events.contains { $0.participant.contains("@") })
        let pipeline = context.pipeline
        // The seed event's rule: at least 30 minutes present to qualify.
        var rules = pipeline.rules
        rules.minimumPresence = .seconds(1800)
        let form = PipelineCanonicalForm(id: pipeline.id, title: pipeline.title, rules: rules)
        let count = BatchCount(events: events, rules: rules)
        let signingKey = try SigningKey(seed: [UInt8](repeating: 7, count: 32))
        var chain = try SnapshotChain(pipeline: form, signingKey: signingKey)
        try chain.sealAll(count.buckets, participants: count.qualifiedParticipantList)
        let certificate = Certificate(chain: chain, publicKey: signingKey.publicKey, participants: count.qualifiedParticipantList)
        #expect(certificate.participants.count == 1, "only Ana qualifies")

        let certified = Certified(directory: FileManager.default.temporaryDirectory.appendingPathComponent("headcount-prove-\(UUID().uuidString)").path)
        try FileManager.default.createDirectory(atPath: certified.directory, withIntermediateDirectories: true)
        try CertificateWriter(directory: certified.certificate).write(certificate, signingKey: signingKey)
        try Data(Fixtures.pseudonymKey + [0x0A]).write(to: URL(fileURLWithPath: certified.keyFile))
        return certified
    }

    func prove(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
        let process = try HeadcountProcess(["prove"] + arguments, capturingStandardError: true)
        let (status, output) = try await process.wait(timeout: .seconds(60))
        return (status, output, process.standardError)
    }

    @Test("her e-mail, written as she likes, gives a proof that verifies against the certificate")
    func found() async throws {
        let certified = try certify()
        defer { try? FileManager.default.removeItem(atPath: certified.directory) }
        let run = try await prove([certified.certificate, "--identity", "  ANA.teacher@school.id", "--pseudonym-key", certified.keyFile])
        #expect(run.status == 0, "\(run.errors)")
        let proof = try InclusionProof(json: JSONValue(parsing: Array(run.output.utf8)))
        #expect(proof.participant == Fixtures.participant("ana.teacher@school.id"))
        #expect(try CertificateVerifier(directory: certified.certificate).verifyProof(proof))
        #expect(!run.output.contains("@"), "the proof carries the pseudonym, never the address")
    }

    @Test("another e-mail, a counted but unqualified teacher, and the wrong key are not found, with a clear message")
    func notFound() async throws {
        let certified = try certify()
        defer { try? FileManager.default.removeItem(atPath: certified.directory) }
        let wrongKey = certified.directory + "/other-key"
        try Data("another-pipelines-key".utf8).write(to: URL(fileURLWithPath: wrongKey))
        for (identity, key) in [("ana.teacher@school.example", certified.keyFile), ("budi@school.id", certified.keyFile), ("ana.teacher@school.id", wrongKey)] {
            let run = try await prove([certified.certificate, "--identity", identity, "--pseudonym-key", key])
            #expect(run.status == 1, "\(identity) with \(key)")
            #expect(run.output.isEmpty)
            #expect(run.errors.contains("not among the qualified participants"), "\(run.errors)")
            #expect(run.errors.contains("--pseudonym-key"))
            #expect(!run.errors.contains(identity), "the message does not echo the address")
        }
    }

    @Test("a missing key file, a missing certificate folder and a blank identity are named")
    func missingFiles() async throws {
        let certified = try certify()
        defer { try? FileManager.default.removeItem(atPath: certified.directory) }
        let absentKey = certified.directory + "/absent-key"
        let noKey = try await prove([certified.certificate, "--identity", "ana.teacher@school.id", "--pseudonym-key", absentKey])
        #expect(noKey.status == 1)
        #expect(noKey.errors.contains(absentKey) && noKey.errors.contains("cannot read"), "\(noKey.errors)")

        let absentFolder = certified.directory + "/no-certificate"
        let noFolder = try await prove([absentFolder, "--identity", "ana.teacher@school.id", "--pseudonym-key", certified.keyFile])
        #expect(noFolder.status == 1)
        #expect(noFolder.errors.contains(absentFolder), "\(noFolder.errors)")

        let blank = try await prove([certified.certificate, "--identity", "   ", "--pseudonym-key", certified.keyFile])
        #expect(blank.status != 0)
        #expect(blank.errors.contains("blank"), "\(blank.errors)")

        let noKeyOption = try await prove([certified.certificate, "--identity", "ana.teacher@school.id"])
        #expect(noKeyOption.status != 0)
        #expect(noKeyOption.errors.contains("--pseudonym-key"), "\(noKeyOption.errors)")
    }
}
