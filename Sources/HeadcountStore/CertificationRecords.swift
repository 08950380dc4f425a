import HeadcountCore

/// One row of `headcount.snapshots`: a sealed snapshot as stored.
///
/// The store knows nothing of hashing or signing; it keeps the fields the certificate
/// module hashes, exactly as sealed, and hands them back untouched.
public struct StoredSnapshot: Sendable, Hashable {
    public var pipeline: String
    public var numbers: BucketNumbers
    public var participantsRoot: String
    public var prevHash: String
    public var hash: String
    public var signature: String
    /// The watermark that let the bucket be sealed.
    public var watermark: Instant
    /// When the sealing transaction started (the database's clock); ignored when
    /// inserting, since the database stamps it.
    public var sealedAt: Instant
    /// Why events may be missing, in plain words; nil for a complete bucket.
    public var incomplete: String?
    /// Per Kafka partition, the next offset the seal had counted: later events are late.
    public var seenOffsets: [Int32: Int64]
    /// False for a row sealed under spec v1 (its `sustained_peak` is NULL and unhashed;
    /// `numbers.sustainedPeak` then reads 0).
    public var certifiesSustainedPeak: Bool
    /// Sealed under a rehearsal clock (not evidence; see migration 10).
    public var rehearsal: Bool

    public init(
        pipeline: String, numbers: BucketNumbers, participantsRoot: String, prevHash: String, hash: String,
        signature: String, watermark: Instant, sealedAt: Instant, incomplete: String?, seenOffsets: [Int32: Int64],
        certifiesSustainedPeak: Bool = true, rehearsal: Bool = false
    ) {
        self.rehearsal = rehearsal
        self.pipeline = pipeline
        self.numbers = numbers
        self.participantsRoot = participantsRoot
        self.prevHash = prevHash
        self.hash = hash
        self.signature = signature
        self.watermark = watermark
        self.sealedAt = sealedAt
        self.incomplete = incomplete
        self.seenOffsets = seenOffsets
        self.certifiesSustainedPeak = certifiesSustainedPeak
    }

    public var bucket: Int { numbers.bucket }
}

/// One row of `headcount.amendments`: late events changed a sealed bucket.
public struct StoredAmendment: Sendable, Hashable {
    /// Order of recording; the highest of a bucket is its latest amendment.
    public var sequence: Int64
    public var pipeline: String
    public var certified: BucketNumbers
    public var corrected: BucketNumbers
    public var detectedAt: Instant
    public var reason: String
    /// Ids of the late events held responsible (see docs/analysts.md for the rule).
    public var events: [String]
    /// Per partition, the next offset counted when the amendment was recorded.
    public var seenOffsets: [Int32: Int64]

    public init(
        sequence: Int64, pipeline: String, certified: BucketNumbers, corrected: BucketNumbers, detectedAt: Instant,
        reason: String, events: [String], seenOffsets: [Int32: Int64]
    ) {
        self.sequence = sequence
        self.pipeline = pipeline
        self.certified = certified
        self.corrected = corrected
        self.detectedAt = detectedAt
        self.reason = reason
        self.events = events
        self.seenOffsets = seenOffsets
    }

    public var bucket: Int { certified.bucket }
}

/// A partition's progress as the watermark needs it (`headcount.partition_progress`).
public struct PartitionActivity: Sendable, Hashable {
    public var partition: Int32
    public var nextOffset: Int64
    /// The largest event time processed; nil while only dead letters came.
    public var maxEventAt: Instant?
    /// When a batch of the partition was last committed (the database's clock).
    public var updatedAt: Instant
    /// At or before the earliest change of any tail kept on the presence rows of this
    /// partition's participants (Unix ms; nil: none kept).
    public var keptTailsFrom: Int64?

    public init(partition: Int32, nextOffset: Int64, maxEventAt: Instant?, updatedAt: Instant, keptTailsFrom: Int64? = nil) {
        self.partition = partition
        self.nextOffset = nextOffset
        self.maxEventAt = maxEventAt
        self.updatedAt = updatedAt
        self.keptTailsFrom = keptTailsFrom
    }
}

/// A participant of the certificate with the first sealed bucket that covered it.
public struct CertifiedParticipant: Sendable, Hashable {
    public var participant: String
    public var bucket: Int
    /// Later buckets from which the participant is out of the roots, back in, … (increasing).
    public var changes: [Int]

    public init(participant: String, bucket: Int, changes: [Int] = []) {
        self.participant = participant
        self.bucket = bucket
        self.changes = changes
    }
}

/// Offsets per partition as stored in a `jsonb` object (`{"3": 1200}`).
enum OffsetMap {
    static func encode(_ offsets: [Int32: Int64]) -> String {
        "{" + offsets.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
    }
}
