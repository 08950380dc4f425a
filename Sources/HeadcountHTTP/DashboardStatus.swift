import Foundation
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore

/// The JSON of `GET /api/status`: what the dashboard page draws, built from the store's
/// `PipelineStatus` and the processing clock.
///
/// Instants are RFC 3339 UTC strings, durations whole seconds. Only sealed snapshots carry
/// numbers; an incomplete bucket always carries its reason next to its numbers, so no
/// reader of this JSON can take it for a complete one.
struct DashboardStatus: Encodable, Sendable {
    struct PipelineInfo: Encodable, Sendable {
        var id: String
        var title: String
        var windowStart: String
        var windowEnd: String
        var bucketSeconds: Int64
        var bucketsTotal: Int
        var minimumPresenceSeconds: Int64
        var allowedLatenessSeconds: Int64
        /// S, the period of `sustained_peak`.
        var sustainedPeakMilliseconds: Int64
    }

    struct Bucket: Encodable, Sendable {
        var bucket: Int
        var bucketStart: String
        var bucketEnd: String
        var active: Int
        var peak: Int
        /// The best S-second period starting in the minute (0 for a spec v1 snapshot).
        var sustainedPeak: Int
        var unique: Int
        var qualified: Int
        /// Why events may be missing, in plain words; nil for a complete bucket.
        var incomplete: String?
        var amendments: Int
    }

    /// One series per number, index = bucket, sealed buckets only.
    struct Chart: Encodable, Sendable {
        var active: [Int] = []
        var peak: [Int] = []
        var sustainedPeak: [Int] = []
        var unique: [Int] = []
        var qualified: [Int] = []
        /// Buckets flagged incomplete, and buckets with amendments.
        var incomplete: [Int] = []
        var amended: [Int] = []
    }

    struct Integrity: Encodable, Sendable {
        var headHash: String?
        var publicKey: String?
        var amendments: Int
        var amendedBuckets: Int
        var incompleteBuckets: Int
        var retentionGapRanges: Int
        var messagesLost: Int64
        /// Retention gaps in plain words, nil without any.
        var retentionGaps: String?
    }

    struct Totals: Encodable, Sendable {
        var eventsStored: Int
        var deadLetters: Int
        var deadLettersByReason: [String: Int]
        var readAt: String
    }

    struct Result: Encodable, Sendable {
        var qualified: Int
        var peak: Int
        var sustainedPeak: Int
        /// All buckets sealed: the certified result of the attempt.
        var final: Bool
        /// Some bucket is incomplete: the result may miss people.
        var incomplete: Bool
    }

    /// The minute being sealed next (the first not sealed yet) as the stored contributions say
    /// now: provisional, never certified (events may still come; the seal waits for the watermark).
    struct Current: Encodable, Sendable {
        var bucket: Int
        var bucketStart: String
        var bucketEnd: String
        var active: Int
        var peak: Int
        var sustainedPeak: Int
        var unique: Int
        var qualified: Int
        /// Always true: says so to every reader of the JSON.
        var provisional = true
    }

    /// One Kafka partition: what is stored of it and, when Kafka could be asked, its lag.
    struct Partition: Encodable, Sendable {
        var partition: Int32
        var storedNextOffset: Int64
        var highWatermark: Int64?
        /// Messages Kafka holds that are not stored yet; nil when Kafka was not asked.
        var lag: Int64?
        var maxEventAt: String?
        var updatedAt: String
    }

    var pipeline: PipelineInfo
    var readAt: String
    var current: Current?
    var partitions: [Partition] = []
    var lagError: String?
    var ingest: IngestCounts?
    var ingestError: String?
    /// The reporter's watermark as of its last round; nil before its first round, or while
    /// some partition has held sealing from the start.
    var watermark: String?
    /// The processing time of that round (the reporter's clock).
    var watermarkRoundAt: String?
    /// Why sealing waits: each partition keeping the watermark below processing time − L,
    /// in plain words ("partition 3: 1,204 messages not stored yet; …"), furthest back first.
    var sealingWaitsFor: [String]
    var sealedBuckets: Int
    var lastSealedAt: String?
    var last: Bucket?
    var result: Result?
    var chart: Chart
    var integrity: Integrity
    var totals: Totals?
    /// Set when the latest read failed: the rest is the last good read, as of `readAt`.
    var error: String?

    init(pipeline: Pipeline, status: PipelineStatus, now: Instant, totalsReadAt: Instant?) {
        let rules = pipeline.rules
        self.pipeline = PipelineInfo(
            id: pipeline.id, title: pipeline.title, windowStart: rules.windowStart.rfc3339, windowEnd: rules.windowEnd.rfc3339,
            bucketSeconds: rules.bucket.wholeMilliseconds / 1000, bucketsTotal: rules.bucketCount,
            minimumPresenceSeconds: rules.minimumPresence.wholeMilliseconds / 1000,
            allowedLatenessSeconds: rules.allowedLateness.wholeMilliseconds / 1000,
            sustainedPeakMilliseconds: rules.sustainedPeak.wholeMilliseconds)
        readAt = now.rfc3339
        // The reporter's own reading (it asks Kafka, the dashboard does not): what the seals use.
        watermark = status.watermark?.watermark?.rfc3339
        watermarkRoundAt = status.watermark?.processingTime.rfc3339
        sealingWaitsFor = status.sealed.count == rules.bucketCount ? [] : status.watermark?.holding ?? []
        sealedBuckets = status.sealed.count
        lastSealedAt = status.lastSealedAt?.rfc3339
        // The certificate's rule (IncompleteBuckets.flags): one retention gap makes every
        // bucket incomplete, including those sealed before it was noticed.
        let gapReason = IncompleteBuckets.reason(gaps: status.retentionGaps)
        let chart = Self.chart(status.sealed, gapReason: gapReason)
        self.chart = chart
        last = status.sealed.last.map { sealed in
            let n = sealed.numbers
            return Bucket(
                bucket: n.bucket, bucketStart: n.bucketStart.rfc3339, bucketEnd: rules.bucketEnd(n.bucket).rfc3339,
                active: n.active, peak: n.peak, sustainedPeak: n.sustainedPeak, unique: n.unique, qualified: n.qualified,
                incomplete: sealed.incomplete ?? gapReason,
                amendments: sealed.amendments)
        }
        result = last.map { last in
            Result(qualified: last.qualified, peak: chart.peak.max() ?? 0, sustainedPeak: chart.sustainedPeak.max() ?? 0,
                   final: status.sealed.count == rules.bucketCount,
                   incomplete: !chart.incomplete.isEmpty)
        }
        integrity = Integrity(
            headHash: status.headHash, publicKey: status.publicKey, amendments: status.amendments,
            amendedBuckets: chart.amended.count, incompleteBuckets: chart.incomplete.count,
            retentionGapRanges: status.retentionGaps.count, messagesLost: status.retentionGaps.reduce(0) { $0 + $1.count },
            retentionGaps: gapReason)
        totals = status.totals.map { totals in
            Totals(
                eventsStored: totals.eventsStored, deadLetters: totals.deadLetters.values.reduce(0, +),
                deadLettersByReason: totals.deadLetters, readAt: (totalsReadAt ?? now).rfc3339)
        }
    }

    private static func chart(_ sealed: [PipelineStatus.SealedBucket], gapReason: String?) -> Chart {
        var chart = Chart()
        for bucket in sealed {
            let n = bucket.numbers
            chart.active.append(n.active)
            chart.peak.append(n.peak)
            chart.sustainedPeak.append(n.sustainedPeak)
            chart.unique.append(n.unique)
            chart.qualified.append(n.qualified)
            if bucket.incomplete ?? gapReason != nil { chart.incomplete.append(n.bucket) }
            if bucket.amendments > 0 { chart.amended.append(n.bucket) }
        }
        return chart
    }

    mutating func setCurrent(_ numbers: BucketNumbers, rules: CountingRules) {
        current = Current(
            bucket: numbers.bucket, bucketStart: numbers.bucketStart.rfc3339, bucketEnd: rules.bucketEnd(numbers.bucket).rfc3339,
            active: numbers.active, peak: numbers.peak, sustainedPeak: numbers.sustainedPeak, unique: numbers.unique,
            qualified: numbers.qualified)
    }

    mutating func setPartitions(_ stored: [PartitionActivity], highWatermarks: [Int32: Int64]?) {
        let byPartition = Dictionary(stored.map { ($0.partition, $0) }, uniquingKeysWith: { a, _ in a })
        let all = Set(byPartition.keys).union(highWatermarks?.keys ?? [:].keys).sorted()
        partitions = all.map { partition in
            let row = byPartition[partition]
            let high = highWatermarks?[partition]
            return Partition(
                partition: partition, storedNextOffset: row?.nextOffset ?? 0, highWatermark: high,
                lag: high.map { max(0, $0 - (row?.nextOffset ?? 0)) }, maxEventAt: row?.maxEventAt?.rfc3339,
                updatedAt: (row?.updatedAt ?? Instant(milliseconds: 0)).rfc3339)
        }
    }

    /// A status with nothing but an error, before any read succeeded.
    static func encodedError(_ message: String) -> [UInt8] {
        Array((try? JSONEncoder().encode(["error": message])) ?? Data("{}".utf8))
    }

    /// Sorted keys and snake_case: stable output that tests and `jq` read easily.
    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a string, number, array or dictionary of those: encoding cannot fail.
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }
}
