import HeadcountCore

/// The hashed part of a sealed snapshot: exactly the keys of COUNTING.md section 5 (ten
/// under spec v2; nine, without `sustained_peak`, under v1).
public struct SnapshotPayload: Sendable, Hashable {
    /// The pipeline id.
    public var pipeline: String
    public var bucket: Int
    public var bucketStart: Instant
    public var active: Int
    public var peak: Int
    /// The best S-second period starting in the bucket; nil in a v1 snapshot, which
    /// neither carries nor hashes it.
    public var sustainedPeak: Int?
    public var unique: Int
    public var qualified: Int
    /// The RFC 6962 root over the qualified participants at E_m, lowercase hex.
    public var participantsRoot: String
    /// The previous snapshot's hash, or the genesis hash for bucket 0.
    public var prevHash: String

    /// The payload of `numbers` under `spec` (v1 leaves `sustained_peak` out).
    public init(
        pipeline: String, numbers: BucketNumbers, participantsRoot: String, prevHash: String,
        spec: PipelineCanonicalForm.Spec = .v2
    ) {
        self.pipeline = pipeline
        bucket = numbers.bucket
        bucketStart = numbers.bucketStart
        active = numbers.active
        peak = numbers.peak
        sustainedPeak = spec.hasSustainedPeak ? numbers.sustainedPeak : nil
        unique = numbers.unique
        qualified = numbers.qualified
        self.participantsRoot = participantsRoot
        self.prevHash = prevHash
    }

    /// The bucket's numbers (a v1 snapshot's `sustainedPeak` reads as 0).
    public var numbers: BucketNumbers {
        BucketNumbers(
            bucket: bucket, bucketStart: bucketStart, active: active, peak: peak, sustainedPeak: sustainedPeak ?? 0,
            unique: unique, qualified: qualified)
    }

    /// The object whose canonical JSON is hashed.
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "pipeline": .string(pipeline), "bucket": .int(bucket), "bucket_start": .string(bucketStart.rfc3339),
            "active": .int(active), "peak": .int(peak), "unique": .int(unique), "qualified": .int(qualified),
            "participants_root": .string(participantsRoot), "prev_hash": .string(prevHash),
        ]
        if let sustainedPeak { members["sustained_peak"] = .int(sustainedPeak) }
        return .object(members)
    }

    /// SHA-256 of the canonical JSON of `json`, lowercase hex.
    public var hash: String {
        // Strings and integers only: serialization cannot fail.
        Digest256.hex(try! json.canonicalBytes())
    }

    /// Reads the hashed keys from a snapshot object (`sustained_peak` when present; whether
    /// it must be is the pipeline's spec, which `SnapshotRules` checks); other keys are ignored.
    public init(json: JSONValue) throws(CertificateError) {
        func string(_ key: String) throws(CertificateError) -> String {
            guard let value = json[key]?.stringValue else { throw Self.missing(key) }
            return value
        }
        func integer(_ key: String) throws(CertificateError) -> Int {
            guard let value = json[key]?.integerValue, let exact = Int(exactly: value) else { throw Self.missing(key) }
            return exact
        }
        guard let start = Instant(rfc3339: try string("bucket_start")) else { throw Self.missing("bucket_start") }
        pipeline = try string("pipeline")
        bucket = try integer("bucket")
        bucketStart = start
        active = try integer("active")
        peak = try integer("peak")
        sustainedPeak = json["sustained_peak"] == nil ? nil : try integer("sustained_peak")
        unique = try integer("unique")
        qualified = try integer("qualified")
        participantsRoot = try string("participants_root")
        prevHash = try string("prev_hash")
    }

    private static func missing(_ key: String) -> CertificateError {
        CertificateError(.invalidCertificate, "snapshot field \"\(key)\" is missing or of the wrong type")
    }
}

/// A sealed snapshot: its payload, the hash of the payload and the Ed25519 signature of the hash.
public struct CertifiedSnapshot: Sendable, Hashable {
    public var payload: SnapshotPayload
    /// SHA-256 of the payload's canonical JSON, lowercase hex.
    public var hash: String
    /// Ed25519 over the 32 raw bytes of `hash`, base64 (standard alphabet, padded).
    public var signature: String

    public init(payload: SnapshotPayload, hash: String, signature: String) {
        self.payload = payload
        self.hash = hash
        self.signature = signature
    }

    /// The payload's keys plus `hash` and `signature`.
    public var json: JSONValue {
        guard case .object(var members) = payload.json else { return payload.json }
        members["hash"] = .string(hash)
        members["signature"] = .string(signature)
        return .object(members)
    }

    /// Reads a snapshot object; the hash and signature are taken as written, not checked.
    public init(json: JSONValue) throws(CertificateError) {
        payload = try SnapshotPayload(json: json)
        guard let hash = json["hash"]?.stringValue, let signature = json["signature"]?.stringValue else {
            throw CertificateError(.invalidCertificate, "snapshot \(payload.bucket) lacks hash or signature")
        }
        self.hash = hash
        self.signature = signature
    }
}
