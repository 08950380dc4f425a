import HeadcountCore

/// Seals bucket after bucket into the signed hash chain of COUNTING.md section 5.
///
/// Each snapshot's `prev_hash` is the previous snapshot's `hash`, and bucket 0's is the
/// pipeline's genesis hash, so the rules, every number and their order are bound together:
/// changing anything breaks every later link. Sealing refuses snapshots that the verifier
/// would reject (out of order, wrong bucket start, a decrease of unique or qualified that
/// no amendment of the previous bucket explains).
public struct SnapshotChain: Sendable {
    public let pipeline: PipelineCanonicalForm
    /// The sealed snapshots, bucket 0 first.
    public private(set) var snapshots: [CertifiedSnapshot]
    /// Per sealed bucket, the corrected numbers of its amendments in recorded order.
    public private(set) var corrections: [Int: [BucketNumbers]]
    private let signingKey: SigningKey

    /// A chain with nothing sealed yet, or continuing `sealed` (e.g. after a restart) with
    /// the amendments recorded so far; the continued snapshots are checked link by link and
    /// must be signed by `signingKey`.
    public init(
        pipeline: PipelineCanonicalForm, signingKey: SigningKey, continuing sealed: [CertifiedSnapshot] = [],
        corrections: [Int: [BucketNumbers]] = [:]
    ) throws(CertificateError) {
        self.pipeline = pipeline
        self.signingKey = signingKey
        self.corrections = corrections
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
        let payload = SnapshotPayload(
            pipeline: pipeline.id, numbers: numbers, participantsRoot: participantsRoot, prevHash: headHash, spec: pipeline.spec)
        try check(payload)
        let hash = payload.hash
        let snapshot = CertifiedSnapshot(payload: payload, hash: hash, signature: try signingKey.signature(forHash: hash))
        snapshots.append(snapshot)
        return snapshot
    }

    /// Records an amendment of a sealed bucket: the next snapshot may then be lower than
    /// the certified numbers, down to these (COUNTING.md section 4, docs/certificate.md).
    public mutating func amend(_ corrected: BucketNumbers) {
        corrections[corrected.bucket, default: []].append(corrected)
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
        var reasons = SnapshotRules.problems(
            payload, position: snapshots.count, previous: previous, corrections: corrections[payload.bucket - 1] ?? [], pipeline: pipeline)
        if payload.prevHash != headHash { reasons.append("prev_hash is not the hash of the previous link") }
        if let first = reasons.first {
            throw CertificateError(.invalidSnapshot, "bucket \(payload.bucket): \(first)")
        }
    }
}

/// The checks every snapshot must pass, shared by sealing and verification.
enum SnapshotRules {
    /// Plain-words reasons why `payload` cannot be link `position` of `pipeline`'s chain
    /// after `previous` (nil for the first link, or when the previous one is unreadable),
    /// whose amendments corrected it to `corrections`.
    static func problems(
        _ payload: SnapshotPayload, position: Int, previous: SnapshotPayload?, corrections: [BucketNumbers] = [],
        pipeline: PipelineCanonicalForm
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
        if min(payload.active, payload.peak, payload.unique, payload.qualified, payload.sustainedPeak ?? 0) < 0 {
            reasons.append("a number is negative")
        }
        switch (pipeline.spec.hasSustainedPeak, payload.sustainedPeak) {
        case (true, nil): reasons.append("sustained_peak is missing, but \(pipeline.spec.rawValue) certifies it")
        case (false, .some): reasons.append("sustained_peak is not a number of \(pipeline.spec.rawValue)")
        default: break
        }
        // Anyone present at an instant of the bucket is active in it, whoever covers a whole
        // S-second period starting at t is present at t, and every active or qualified
        // participant is unique by E_m (COUNTING.md section 3).
        if payload.peak > payload.active { reasons.append("peak \(payload.peak) exceeds active \(payload.active)") }
        if let sustained = payload.sustainedPeak, sustained > payload.peak {
            reasons.append("sustained_peak \(sustained) exceeds peak \(payload.peak)")
        }
        if payload.active > payload.unique { reasons.append("active \(payload.active) exceeds unique \(payload.unique)") }
        if payload.qualified > payload.unique { reasons.append("qualified \(payload.qualified) exceeds unique \(payload.unique)") }
        if let previous, let reason = SnapshotChain.unexplainedDecrease(payload.numbers, after: previous.numbers, corrections: corrections) {
            reasons.append(reason)
        }
        return reasons
    }
}

extension SnapshotChain {
    /// Why `next` cannot follow `previous` (certified, then corrected by `corrections`),
    /// or nil when it can.
    ///
    /// unique and qualified never decrease (COUNTING.md section 3), but a sealed snapshot is
    /// never changed (section 4): when late events lowered bucket m−1, its amendment carries
    /// the corrected numbers and bucket m is sealed with the corrected ones. So bucket m
    /// must be at least one standing of bucket m−1: its certified numbers or the corrected
    /// numbers of one of its amendments, unique and qualified together (docs/certificate.md,
    /// "Decreases"). Any other decrease is refused.
    public static func unexplainedDecrease(
        _ next: BucketNumbers, after previous: BucketNumbers, corrections: [BucketNumbers]
    ) -> String? {
        let standings = [previous] + corrections
        guard !standings.contains(where: { next.unique >= $0.unique && next.qualified >= $0.qualified }) else { return nil }
        var changes: [String] = []
        if next.unique < previous.unique { changes.append("unique decreased from \(previous.unique) to \(next.unique)") }
        if next.qualified < previous.qualified { changes.append("qualified decreased from \(previous.qualified) to \(next.qualified)") }
        let why = corrections.isEmpty
            ? " and no amendment of bucket \(previous.bucket) explains it" : ", below every amendment of bucket \(previous.bucket)"
        return changes.joined(separator: ", ") + why
    }
}
