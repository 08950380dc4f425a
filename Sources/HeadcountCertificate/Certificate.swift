import HeadcountCore

/// A correction of a sealed bucket by events that arrived after it was sealed
/// (COUNTING.md section 4). The sealed snapshot itself never changes.
public struct Amendment: Sendable, Hashable {
    public var bucket: Int
    /// The numbers the sealed snapshot certified.
    public var certified: BucketNumbers
    /// The numbers with the late events counted.
    public var corrected: BucketNumbers
    /// Why, in plain words.
    public var reason: String
    /// The ids of the late events that changed the bucket.
    public var events: [String]

    public init(bucket: Int, certified: BucketNumbers, corrected: BucketNumbers, reason: String, events: [String] = []) {
        self.bucket = bucket
        self.certified = certified
        self.corrected = corrected
        self.reason = reason
        self.events = events
    }
}

/// Everything a certificate folder holds, before it is written or after it is read.
public struct Certificate: Sendable {
    public var pipeline: PipelineCanonicalForm
    public var publicKey: PublicKey
    /// The sealed chain, bucket 0 first; may stop before the last bucket (then not final).
    public var snapshots: [CertifiedSnapshot]
    /// Later corrections, in the order they were recorded; the last one of a bucket wins.
    public var amendments: [Amendment]
    /// Buckets whose numbers may miss events (an outage, a gap in the input), with the
    /// reason in plain words.
    public var incomplete: [Int: String]
    /// The qualified participants at the end of the last snapshot, sorted bytewise.
    public var participants: [QualifiedParticipant]
    /// The pipeline's own UTC offset in minutes (e.g. 420 for WIB, UTC+07:00): how the
    /// page shows times beside UTC. Presentation only; no hash depends on it.
    public var utcOffsetMinutes: Int
    /// Who is counted, as a plural noun ("teachers"): how the page words the result.
    public var audience = "participants"
    /// When each bucket was sealed (the database's clock), where known: shown beside the
    /// snapshot, outside its hash (the document hash covers it).
    public var sealedAt: [Int: Instant] = [:]

    /// Assembles a certificate; participants qualified after the last sealed bucket are
    /// left out, since no snapshot certifies them yet.
    public init(
        pipeline: PipelineCanonicalForm, publicKey: PublicKey, snapshots: [CertifiedSnapshot],
        amendments: [Amendment] = [], incomplete: [Int: String] = [:], participants: [QualifiedParticipant],
        utcOffsetMinutes: Int = 0
    ) {
        self.pipeline = pipeline
        self.utcOffsetMinutes = utcOffsetMinutes
        self.publicKey = publicKey
        self.snapshots = snapshots
        self.amendments = amendments
        self.incomplete = incomplete
        let last = snapshots.count - 1
        self.participants = QualifiedParticipant.sorted(participants.filter { $0.bucket <= last }.map {
            QualifiedParticipant(key: $0.key, bucket: $0.bucket, changes: $0.changes.filter { $0 <= last })
        })
    }

    /// A certificate of a whole chain, with its signing key's public half.
    public init(
        chain: SnapshotChain, publicKey: PublicKey, amendments: [Amendment] = [], incomplete: [Int: String] = [:],
        participants: [QualifiedParticipant], utcOffsetMinutes: Int = 0
    ) {
        self.init(
            pipeline: chain.pipeline, publicKey: publicKey, snapshots: chain.snapshots, amendments: amendments,
            incomplete: incomplete, participants: participants, utcOffsetMinutes: utcOffsetMinutes)
    }

    /// The result as certified: the last snapshot's `qualified`, the highest `peak` and the
    /// highest `sustained_peak` (0 under spec v1).
    public var result: CountOutcome { CountOutcome(buckets: snapshots.map(\.payload.numbers)) }

    /// The result with every bucket's latest amendment applied, or nil without amendments.
    public var amendedResult: CountOutcome? {
        guard !amendments.isEmpty else { return nil }
        var numbers = snapshots.map(\.payload.numbers)
        for amendment in amendments where numbers.indices.contains(amendment.bucket) {
            numbers[amendment.bucket] = amendment.corrected
        }
        return CountOutcome(buckets: numbers)
    }

    /// Whether every bucket of the window is sealed.
    public var isFinal: Bool { snapshots.count == pipeline.rules.bucketCount }

    /// The last link's hash: with the public key, it pins the whole chain.
    public var headHash: String { snapshots.last?.hash ?? pipeline.genesisHash }

    /// The participants root of the last snapshot: what inclusion proofs prove against.
    public var finalRoot: String { snapshots.last?.payload.participantsRoot ?? MerkleTree(leafHashes: []).rootHex }
}
