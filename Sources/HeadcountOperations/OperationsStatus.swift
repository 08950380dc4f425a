import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore

/// What `headcount status` reports about one pipeline: Kafka's and the store's view of every
/// partition, the watermark and what holds it, sealing, dead letters, retention gaps, and the
/// workers with their partitions.
///
/// Built from what could be read: with Kafka unreachable the lag is unknown (and every
/// partition holds the watermark, as the reporter would see it); with PostgreSQL unreachable
/// only Kafka's numbers remain. The JSON (`encodedJSON()`) is stable: snake_case keys, sorted,
/// instants as RFC 3339 UTC strings, unknown optional values left out; fields are only ever added.
/// docs/operations.md documents each field.
public struct OperationsStatus: Encodable, Sendable {
    public struct PipelineInfo: Encodable, Sendable {
        public var id: String
        public var topic: String
        public var partitions: Int
        public var bucketsTotal: Int
        public var allowedLatenessSeconds: Int64
    }

    /// Whether a source answered, and if not, why.
    public struct Source: Encodable, Sendable {
        public var address: String
        public var reachable: Bool
        public var error: String?
    }

    public struct Partition: Encodable, Sendable {
        public var partition: Int32
        /// Kafka's high watermark (the offset of its next message); nil when unknown.
        public var highWatermark: Int64?
        /// The stored next offset; nil when nothing of the partition is stored yet.
        public var storedNextOffset: Int64?
        /// High watermark − stored next offset (messages Kafka holds that are not stored); nil when unknown.
        public var lag: Int64?
        public var maxEventAt: String?
        public var lastStoredAt: String?
        /// The watermark's reason (`PartitionBound.reason`): caught_up_idle, recently_stored, behind, kafka_unknown.
        public var watermarkReason: String?
        /// What the partition offers the watermark now; nil when it holds sealing entirely.
        public var watermarkOffer: String?
        /// Whether it keeps the watermark below processing time − L.
        public var holdsWatermark: Bool
        /// In plain words, as the reporter logs it.
        public var detail: String?
        /// The workers that report owning it (more than one only during a rebalance or with a stale row).
        public var owners: [String]
    }

    public struct WatermarkInfo: Encodable, Sendable {
        /// The watermark of the reporter's last round (what seals use), nil before any.
        public var reporter: String?
        /// The processing time of that round (the reporter's clock).
        public var reporterRoundAt: String?
        /// What holds it, as the reporter recorded it.
        public var reporterHolding: [String]
        /// What a round would compute now from the same Kafka and stored readings as this
        /// report (`Watermark.compute`, never below the reporter's); nil without PostgreSQL.
        public var now: String?
        /// The partitions holding it now, furthest back first.
        public var holdingPartitions: [Int32]
    }

    public struct SealedBucket: Encodable, Sendable {
        public var bucket: Int
        public var bucketStart: String
        public var bucketEnd: String
        public var sealedAt: String?
        public var active: Int
        public var peak: Int
        public var unique: Int
        public var qualified: Int
        public var incomplete: String?
    }

    public struct DeadLetters: Encodable, Sendable {
        public var total: Int
        public var byReason: [String: Int]
    }

    public struct Gap: Encodable, Sendable {
        public var partition: Int32
        public var firstMissingOffset: Int64
        public var lastMissingOffset: Int64
        public var messages: Int64
    }

    public struct WorkerInfo: Encodable, Sendable {
        /// host/pid/consumer index.
        public var worker: String
        public var host: String
        public var pid: Int32
        public var consumer: Int
        public var partitions: [Int32]
        public var startedAt: String
        public var partitionsSince: String
        public var lastSeen: String
        public var secondsSinceSeen: Double
        /// Not seen for longer than the stale limit: most likely dead (its partitions move once its session times out).
        public var stale: Bool
    }

    public var pipeline: PipelineInfo
    public var readAt: String
    public var kafka: Source
    public var database: Source
    /// Every partition Kafka or the store knows, in order.
    public var partitions: [Partition]
    /// The sum of the known lags; nil when Kafka did not answer.
    public var totalLag: Int64?
    public var watermark: WatermarkInfo
    public var sealedBuckets: Int?
    public var lastSealed: SealedBucket?
    public var eventsStored: Int?
    public var deadLetters: DeadLetters?
    public var retentionGaps: [Gap]
    public var workers: [WorkerInfo]
    /// Partitions no live worker reports owning.
    public var unownedPartitions: [Int32]
    /// Everything that needs an operator's look, in plain words; empty when all is well.
    public var problems: [String]
}
