import Foundation
import HeadcountCertificate
import HeadcountCore

/// A small certified event: five one-minute buckets, awkward participant keys, one
/// amendment and one incomplete bucket, counted by the real engine.
struct Fixture {
    static let start = Instant(rfc3339: "2025-09-20T02:00:00Z")!
    static let keys = ["t-01", "t-02", "t-03", "é", "e\u{301}", "ü%41", "tab\there", "line\nbreak", "😀", "\u{FB33}", "Zed"]

    let pipeline: PipelineCanonicalForm
    let signingKey: SigningKey
    let count: BatchCount
    let chain: SnapshotChain
    let certificate: Certificate

    static func rules(minimumPresence: Duration = .seconds(90)) -> CountingRules {
        try! CountingRules(
            windowStart: start, windowEnd: start + .seconds(300), bucket: .seconds(60),
            reconnectGrace: .seconds(30), minimumPresence: minimumPresence, allowedLateness: .seconds(60))
    }

    init(seed: UInt64 = 1, signingKey: SigningKey = Fixture.key(1)) throws {
        pipeline = PipelineCanonicalForm(id: "demo-2025", title: "Teachers & <AI> \"webinar\"", rules: Self.rules())
        self.signingKey = signingKey
        count = BatchCount(events: Self.events(seed: seed), rules: pipeline.rules)
        var chain = try SnapshotChain(pipeline: pipeline, signingKey: signingKey)
        try chain.sealAll(count.buckets, participants: count.qualifiedParticipantList)
        self.chain = chain
        let sealed = count.buckets[1]
        var corrected = sealed
        corrected.active += 1
        corrected.unique += 1
        let amendment = Amendment(bucket: 1, certified: sealed, corrected: corrected, reason: "late join of a retried webhook", events: ["zoom-late-1"])
        certificate = Certificate(
            chain: chain, publicKey: signingKey.publicKey, amendments: [amendment],
            incomplete: [3: "worker outage 02:03:10–02:03:40 <UTC>; events may be missing"],
            participants: count.qualifiedParticipantList)
    }

    static func key(_ byte: UInt8) -> SigningKey {
        try! SigningKey(seed: [UInt8](repeating: byte, count: 32))
    }

    /// Join/leave pairs on one or two sessions per participant, deterministic per seed.
    static func events(seed: UInt64) -> [Event] {
        var random = TestRandom(seed: seed)
        var events: [Event] = []
        for (index, key) in keys.enumerated() {
            for session in 0..<(1 + random.below(2)) {
                let join = random.below(240_000)
                let leave = join + 10_000 + random.below(200_000)
                for (type, at) in [(EventType.join, join), (.leave, leave)] {
                    events.append(Event(
                        id: "e-\(index)-\(session)-\(type.rawValue)", pipeline: "demo-2025", type: type, participant: key,
                        session: "s\(session)", at: start + .milliseconds(at), source: "test"))
                }
            }
        }
        return events
    }

    /// Writes the certificate into a fresh temporary folder and returns its path.
    func writeFolder() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-cert-\(UUID().uuidString)").path
        try CertificateWriter(directory: directory).write(certificate, signingKey: signingKey)
        return directory
    }
}

/// Reading and rewriting the files of a certificate folder, as a forger would.
struct Folder {
    let path: String

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func read(_ name: String) throws -> String {
        try String(contentsOfFile: file(name), encoding: .utf8)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
    }

    func document() throws -> JSONValue {
        try JSONValue(parsing: read(Certificate.jsonFile))
    }

    func save(_ document: JSONValue) throws {
        try write(Certificate.jsonFile, document.prettyText())
    }

    /// Changes one member of snapshot `bucket` and rewrites certificate.json.
    func editSnapshot(_ bucket: Int, _ key: String, _ value: JSONValue) throws {
        try edit { document in
            guard case .array(var snapshots) = document["snapshots"]!, case .object(var members) = snapshots[bucket] else { return }
            members[key] = value
            snapshots[bucket] = .object(members)
            document = document.setting("snapshots", .array(snapshots))
        }
    }

    func edit(_ change: (inout JSONValue) -> Void) throws {
        var document = try document()
        change(&document)
        try save(document)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

extension JSONValue {
    /// A copy of this object with `key` set to `value`.
    func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        members[key] = value
        return .object(members)
    }
}
