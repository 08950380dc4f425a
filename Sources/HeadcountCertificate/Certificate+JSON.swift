import HeadcountCore

/// certificate.json: the chain plus what a verifier needs to check it without the database.
///
/// The whole document (minus `document_hash` and `document_signature`) is itself hashed
/// (RFC 8785, SHA-256) and signed, because amendments, incomplete flags, the result and the
/// digest of participants.txt lie outside the per-snapshot hashes that section 5 fixes.
extension Certificate {
    /// The document format; a verifier refuses other formats instead of guessing.
    public static let format = "headcount-certificate/1"
    public static let jsonFile = "certificate.json"
    public static let participantsFile = "participants.txt"
    public static let htmlFile = "certificate.html"
    public static let publicKeyFile = "public-key.pem"
    /// Keys of the document that its own hash does not cover.
    static let documentSealKeys: Set<String> = ["document_hash", "document_signature"]

    /// The signed document, given the bytes of participants.txt.
    func document(participantsText: String, signingKey: SigningKey) throws(CertificateError) -> JSONValue {
        guard case .object(var members) = unsignedDocument(participantsText: participantsText) else {
            preconditionFailure("the document is an object")
        }
        let hash = try Self.documentHash(of: .object(members))
        members["document_hash"] = .string(hash)
        members["document_signature"] = .string(try signingKey.signature(forHash: hash))
        return .object(members)
    }

    /// SHA-256 of the canonical document without its seal keys, lowercase hex.
    static func documentHash(of document: JSONValue) throws(CertificateError) -> String {
        let unsealed = (document.objectValue ?? [:]).filter { !documentSealKeys.contains($0.key) }
        return Digest256.hex(try JSONValue.object(unsealed).canonicalBytes())
    }

    private func unsignedDocument(participantsText: String) -> JSONValue {
        let snapshotValues: [JSONValue] = snapshots.map { snapshot in
            guard case .object(var members) = snapshot.json else { return snapshot.json }
            if let reason = incomplete[snapshot.payload.bucket] { members["incomplete"] = .string(reason) }
            if let sealed = sealedAt[snapshot.payload.bucket] { members["sealed_at"] = .string(sealed.rfc3339) }
            return .object(members)
        }
        var document: [String: JSONValue] = [
            "format": .string(Self.format),
            "pipeline": pipeline.json,
            "genesis_hash": .string(pipeline.genesisHash),
            "public_key": .string(publicKey.base64),
            "algorithms": [
                "canonical_json": "RFC 8785", "hash": "SHA-256", "merkle": "RFC 6962 section 2.1",
                "signature": "Ed25519 over the 32 bytes of the hash, base64",
            ],
            "snapshots": .array(snapshotValues),
            // How people read the times: the pipeline file's own offset (outside the chain,
            // inside the document hash).
            "display": ["utc_offset": .string(CertificateTime.offsetText(minutes: utcOffsetMinutes)), "audience": .string(audience)],
            "amendments": .array(amendments.map { $0.json(spec: pipeline.spec) }),
            "result": resultJSON,
            "participants": [
                "file": .string(Self.participantsFile),
                "count": .int(participants.count),
                "sha256": .string(Digest256.hex(participantsText.utf8)),
            ],
        ]
        // For readers who look no further (a real certificate has no such member); the
        // genesis hash is what binds it.
        if pipeline.rehearsal { document["rehearsal"] = .bool(true) }
        return .object(document)
    }

    /// `{"qualified", "peak"}`, with `"sustained_peak"` under spec v2.
    static func outcomeJSON(_ outcome: CountOutcome, spec: PipelineCanonicalForm.Spec) -> JSONValue {
        var members: [String: JSONValue] = ["qualified": .int(outcome.qualified), "peak": .int(outcome.peak)]
        if spec.hasSustainedPeak { members["sustained_peak"] = .int(outcome.sustainedPeak) }
        return .object(members)
    }

    private var resultJSON: JSONValue {
        let amended: JSONValue = amendedResult.map { Self.outcomeJSON($0, spec: pipeline.spec) } ?? .null
        guard case .object(var members) = Self.outcomeJSON(result, spec: pipeline.spec) else { return .null }
        let more: [String: JSONValue] = [
            "final": .bool(isFinal),
            "buckets_sealed": .int(snapshots.count),
            "buckets_total": .int(pipeline.rules.bucketCount),
            "head_hash": .string(headHash),
            "participants_root": .string(finalRoot),
            "amended": amended,
        ]
        members.merge(more) { first, _ in first }
        return .object(members)
    }
}

extension Amendment {
    /// `{"bucket", "certified": {…}, "corrected": {…}, "reason", "events"}`; the numbers
    /// carry `sustained_peak` under spec v2.
    public func json(spec: PipelineCanonicalForm.Spec = .v2) -> JSONValue {
        [
            "bucket": .int(bucket), "certified": Self.numbersJSON(certified, spec: spec),
            "corrected": Self.numbersJSON(corrected, spec: spec),
            "reason": .string(reason), "events": .array(events.map { .string($0) }),
        ]
    }

    static func numbersJSON(_ numbers: BucketNumbers, spec: PipelineCanonicalForm.Spec) -> JSONValue {
        var members: [String: JSONValue] = [
            "bucket_start": .string(numbers.bucketStart.rfc3339), "active": .int(numbers.active), "peak": .int(numbers.peak),
            "unique": .int(numbers.unique), "qualified": .int(numbers.qualified),
        ]
        if spec.hasSustainedPeak { members["sustained_peak"] = .int(numbers.sustainedPeak) }
        return .object(members)
    }

    /// Reads an amendment object.
    public init(json: JSONValue) throws(CertificateError) {
        let bad = CertificateError(.invalidCertificate, "an amendment is not {bucket, certified, corrected, reason, events}")
        guard let bucket = json["bucket"]?.integerValue.flatMap({ Int(exactly: $0) }),
              let certified = Self.numbers(json["certified"], bucket: bucket),
              let corrected = Self.numbers(json["corrected"], bucket: bucket),
              let reason = json["reason"]?.stringValue,
              let events = json["events"]?.arrayValue?.map(\.stringValue), !events.contains(nil)
        else { throw bad }
        self.init(bucket: bucket, certified: certified, corrected: corrected, reason: reason, events: events.map { $0! })
    }

    private static func numbers(_ json: JSONValue?, bucket: Int) -> BucketNumbers? {
        guard let json, let start = json["bucket_start"]?.stringValue.flatMap({ Instant(rfc3339: $0) }) else { return nil }
        let values = ["active", "peak", "unique", "qualified"].map { json[$0]?.integerValue.flatMap { Int(exactly: $0) } }
        guard let active = values[0], let peak = values[1], let unique = values[2], let qualified = values[3] else { return nil }
        // Absent in v1 certificates, which read 0 as their snapshots do.
        let sustained = json["sustained_peak"].map { $0.integerValue.flatMap { Int(exactly: $0) } } ?? 0
        guard let sustained else { return nil }
        return BucketNumbers(
            bucket: bucket, bucketStart: start, active: active, peak: peak, sustainedPeak: sustained, unique: unique,
            qualified: qualified)
    }
}
