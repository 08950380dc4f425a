import HeadcountCore

/// Seals bucket after bucket into the signed hash chain of COUNTING.md section 5.
///
/// Each snapshot's `prev_hash` is the previous snapshot's `hash`, and bucket 0's is the
/// pipeline's genesis hash, so the rules, every number and their order are bound together:
/// changing anything breaks every later link. Sealing refuses snapshots that the verifier
/// would reject (out of order, wrong bucket start, decreasing unique or qualified).
public struct SnapshotChain: Sendable {
    public let pipeline: PipelineCanonicalForm
    /// The sealed snapshots, bucket 0 first.
    public private(set) var snapshots: [CertifiedSnapshot]
    private let signingKey: SigningKey

    /// A chain with nothing sealed yet, or continuing `sealed` (e.g. after a restart); the
    /// continued snapshots are checked link by link and must be signed by `signingKey`.
    public init(
        pipeline: PipelineCanonicalForm, signingKey: SigningKey, continuing sealed: [CertifiedSnapshot] = []
    ) throws(CertificateError) {
        self.pipeline = pipeline
        self.signingKey = signingKey
        snapshots = []
        for snapshot in sealed {
            try check(snapshot.payload)
            guard snapshot.payload.hash == snapshot.hash,
                  signingKey.publicKey.isValidSignature(snapshot.signature, forHash: snapshot.hash)
            else {
                throw CertificateError(.invalidSnapshot, "bucket \(snapshot.payload.bucket): hash or signature does not match its content")
            }
            snapshots.append(snapshot)
        }
    }

    /// The hash the next snapshot links to: the last `hash`, or the genesis hash.
    public var headHash: String { snapshots.last?.hash ?? pipeline.genesisHash }

    /// The bucket the next `seal` expects.
    public var nextBucket: Int { snapshots.count }

    /// Seals the next bucket with the qualified participants at its end (any order).
    @discardableResult
    public mutating func seal(_ numbers: BucketNumbers, qualifiedParticipants: [String]) throws(CertificateError) -> CertifiedSnapshot {
        guard qualifiedParticipants.count == numbers.qualified else {
            throw CertificateError(
                .invalidSnapshot,
                "bucket \(numbers.bucket): \(qualifiedParticipants.count) qualified participants given for qualified = \(numbers.qualified)")
        }
        return try seal(numbers, participantsRoot: MerkleTree(participants: qualifiedParticipants).rootHex)
    }

    /// Seals the next bucket with an already computed `participants_root`.
    @discardableResult
    public mutating func seal(_ numbers: BucketNumbers, participantsRoot: String) throws(CertificateError) -> CertifiedSnapshot {
        let payload = SnapshotPayload(pipeline: pipeline.id, numbers: numbers, participantsRoot: participantsRoot, prevHash: headHash)
        try check(payload)
        let hash = payload.hash
        let snapshot = CertifiedSnapshot(payload: payload, hash: hash, signature: try signingKey.signature(forHash: hash))
        snapshots.append(snapshot)
        return snapshot
    }

    /// Seals every bucket of a finished count, from bucket `nextBucket` on.
    public mutating func sealAll(_ buckets: [BucketNumbers], participants sortedList: [QualifiedParticipant]) throws(CertificateError) {
        let roots = QualifiedParticipant.roots(of: sortedList, bucketCount: buckets.count)
        for numbers in buckets where numbers.bucket >= nextBucket {
            try seal(numbers, participantsRoot: roots[numbers.bucket])
        }
    }

    private func check(_ payload: SnapshotPayload) throws(CertificateError) {
        let previous = snapshots.last?.payload
        var reasons = SnapshotRules.problems(payload, position: snapshots.count, previous: previous, pipeline: pipeline)
        if payload.prevHash != headHash { reasons.append("prev_hash is not the hash of the previous link") }
        if let first = reasons.first {
            throw CertificateError(.invalidSnapshot, "bucket \(payload.bucket): \(first)")
        }
    }
}

/// The checks every snapshot must pass, shared by sealing and verification.
enum SnapshotRules {
    /// Plain-words reasons why `payload` cannot be link `position` of `pipeline`'s chain
    /// after `previous` (nil for the first link, or when the previous one is unreadable).
    static func problems(
        _ payload: SnapshotPayload, position: Int, previous: SnapshotPayload?, pipeline: PipelineCanonicalForm
    ) -> [String] {
        var reasons: [String] = []
        let rules = pipeline.rules
        if payload.bucket != position { reasons.append("bucket \(payload.bucket) where bucket \(position) was due") }
        if payload.bucket >= rules.bucketCount { reasons.append("the window has only \(rules.bucketCount) buckets") }
        if payload.pipeline != pipeline.id { reasons.append("pipeline \"\(payload.pipeline)\" is not \"\(pipeline.id)\"") }
        if payload.bucketStart != rules.bucketStart(payload.bucket) {
            reasons.append("bucket_start \(payload.bucketStart.rfc3339) should be \(rules.bucketStart(payload.bucket).rfc3339)")
        }
        if !Hex.isDigest(payload.participantsRoot) { reasons.append("participants_root is not 64 lowercase hex digits") }
        if min(payload.active, payload.peak, payload.unique, payload.qualified) < 0 { reasons.append("a number is negative") }
        // Anyone present at an instant of the bucket is active in it, and every active or
        // qualified participant is unique by E_m (COUNTING.md section 3).
        if payload.peak > payload.active { reasons.append("peak \(payload.peak) exceeds active \(payload.active)") }
        if payload.active > payload.unique { reasons.append("active \(payload.active) exceeds unique \(payload.unique)") }
        if payload.qualified > payload.unique { reasons.append("qualified \(payload.qualified) exceeds unique \(payload.unique)") }
        if let previous {
            if payload.unique < previous.unique { reasons.append("unique decreased from \(previous.unique) to \(payload.unique)") }
            if payload.qualified < previous.qualified {
                reasons.append("qualified decreased from \(previous.qualified) to \(payload.qualified)")
            }
        }
        return reasons
    }
}
