import HeadcountCore

/// What a pipeline's live dashboard shows, read from the store in one consistent snapshot.
///
/// Sealed numbers only: the store knows nothing about buckets that are still open, and the
/// dashboard presents nothing it could not later show in the certificate.
public struct PipelineStatus: Sendable, Hashable {
    /// One sealed snapshot as certified, with what qualifies it.
    public struct SealedBucket: Sendable, Hashable {
        public var numbers: BucketNumbers
        /// Why events may be missing, in plain words; nil when the seal saw no gap.
        public var incomplete: String?
        /// How many amendments late events have recorded against this bucket.
        public var amendments: Int

        public init(numbers: BucketNumbers, incomplete: String?, amendments: Int) {
            self.numbers = numbers
            self.incomplete = incomplete
            self.amendments = amendments
        }
    }

    /// Totals that cost a scan of a large table: read less often than the rest.
    public struct Totals: Sendable, Hashable {
        /// Distinct events stored.
        public var eventsStored: Int
        /// Dead letters per reason code.
        public var deadLetters: [String: Int]

        public init(eventsStored: Int, deadLetters: [String: Int]) {
            self.eventsStored = eventsStored
            self.deadLetters = deadLetters
        }
    }

    /// Every sealed snapshot, bucket 0 first (sealing never skips a bucket).
    public var sealed: [SealedBucket]
    /// The hash of the last sealed snapshot: the head of the chain.
    public var headHash: String?
    /// When the last snapshot was sealed (the database's clock).
    public var lastSealedAt: Instant?
    /// Amendment rows in all.
    public var amendments: Int
    /// Retention gaps recorded: messages Kafka deleted before they were counted.
    public var retentionGaps: [RetentionGap]
    /// Per-partition progress.
    public var partitions: [PartitionActivity]
    /// The watermark of the reporter's last round and what holds it; nil before any round.
    public var watermark: StoredWatermark?
    /// The public key (base64) the chain is signed with, stored with the first seal.
    public var publicKey: String?
    /// Nil when the caller did not ask for them.
    public var totals: Totals?

    public init(
        sealed: [SealedBucket] = [], headHash: String? = nil, lastSealedAt: Instant? = nil, amendments: Int = 0,
        retentionGaps: [RetentionGap] = [], partitions: [PartitionActivity] = [], watermark: StoredWatermark? = nil,
        publicKey: String? = nil, totals: Totals? = nil
    ) {
        self.sealed = sealed
        self.headHash = headHash
        self.lastSealedAt = lastSealedAt
        self.amendments = amendments
        self.retentionGaps = retentionGaps
        self.partitions = partitions
        self.watermark = watermark
        self.publicKey = publicKey
        self.totals = totals
    }
}
