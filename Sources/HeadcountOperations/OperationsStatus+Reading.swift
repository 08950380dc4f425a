import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore

extension OperationsStatus {
    /// What one `status` run read: Kafka first, then the store, in the reporter's order
    /// (COUNTING.md section 4), so a partition counts as caught up only if the progress read
    /// afterwards covers every message Kafka held.
    public struct Readings: Sendable {
        public var kafka: HighWatermarks
        public var kafkaAddress: String
        public var store: Result<PipelineStatus, StoreError>
        public var workers: Result<[WorkerHeartbeat], StoreError>
        public var databaseAddress: String

        public init(
            kafka: HighWatermarks, kafkaAddress: String, store: Result<PipelineStatus, StoreError>,
            workers: Result<[WorkerHeartbeat], StoreError>, databaseAddress: String
        ) {
            self.kafka = kafka
            self.kafkaAddress = kafkaAddress
            self.store = store
            self.workers = workers
            self.databaseAddress = databaseAddress
        }

        /// Reads Kafka, then the store (with the totals, which scan the events and dead letters).
        public static func read(
            pipeline: Pipeline, kafka: any HighWatermarkSource, kafkaAddress: String, store: EventStore
        ) async -> Readings {
            let marks = await kafka.highWatermarks()
            let status: Result<PipelineStatus, StoreError>
            do {
                status = .success(try await store.pipelineStatus(pipeline: pipeline.id, includingTotals: true))
            } catch {
                status = .failure(error)
            }
            let workers: Result<[WorkerHeartbeat], StoreError>
            do {
                workers = .success(try await store.workerHeartbeats(pipeline: pipeline.id))
            } catch {
                workers = .failure(error)
            }
            return Readings(kafka: marks, kafkaAddress: kafkaAddress, store: status, workers: workers, databaseAddress: store.url.description)
        }
    }

    /// Whether both Kafka and PostgreSQL answered (otherwise `status` exits non-zero).
    public var isComplete: Bool { kafka.reachable && database.reachable }

    /// - Parameters:
    ///   - now: the processing clock the watermark is computed with.
    ///   - staleAfter: a worker not seen for longer is flagged stale.
    public init(pipeline: Pipeline, readings: Readings, now: Instant, staleAfter: Duration) {
        let rules = pipeline.rules
        self.pipeline = PipelineInfo(
            id: pipeline.id, topic: pipeline.kafka.topic, partitions: pipeline.kafka.partitions, bucketsTotal: rules.bucketCount,
            allowedLatenessSeconds: rules.allowedLateness.components.seconds)
        readAt = now.rfc3339
        var problems: [String] = []
        switch readings.kafka {
        case .read:
            kafka = Source(address: readings.kafkaAddress, reachable: true, error: nil)
        case .unavailable(let reason):
            kafka = Source(address: readings.kafkaAddress, reachable: false, error: reason)
            problems.append("Kafka unreachable: \(reason)")
        }
        let stored: PipelineStatus?
        switch readings.store {
        case .success(let status):
            stored = status
            database = Source(address: readings.databaseAddress, reachable: true, error: nil)
        case .failure(let error):
            stored = nil
            database = Source(address: readings.databaseAddress, reachable: false, error: "\(error)")
            problems.append("PostgreSQL unreachable: \(error)")
        }
        let heartbeats = (try? readings.workers.get()) ?? []
        workers = heartbeats.map { beat in
            WorkerInfo(
                worker: beat.worker, host: beat.host, pid: beat.pid, consumer: beat.consumer, partitions: beat.partitions,
                startedAt: beat.startedAt.rfc3339, partitionsSince: beat.partitionsAt.rfc3339, lastSeen: beat.lastSeen.rfc3339,
                secondsSinceSeen: Double(beat.age.components.seconds) + Double(beat.age.components.attoseconds) / 1e18,
                stale: beat.age > staleAfter)
        }
        // The reporter's own rule on this report's readings: the same function, not a second way.
        let reading = stored.map { status in
            Watermark.compute(
                kafka: readings.kafka, progress: status.partitions, expectedPartitions: pipeline.kafka.partitions,
                now: now, allowedLateness: rules.allowedLateness, previous: status.watermark?.watermark)
        }
        partitions = Self.partitions(kafka: readings.kafka, stored: stored, reading: reading, workers: workers)
        let lags = partitions.map(\.lag)
        totalLag = kafka.reachable && !lags.contains(nil) ? lags.reduce(0) { $0 + ($1 ?? 0) } : nil
        watermark = WatermarkInfo(
            reporter: stored?.watermark?.watermark?.rfc3339, reporterRoundAt: stored?.watermark?.processingTime.rfc3339,
            reporterHolding: stored?.watermark?.holding ?? [], now: reading?.watermark?.rfc3339,
            holdingPartitions: reading?.holding.map(\.partition) ?? [])
        sealedBuckets = stored?.sealed.count
        lastSealed = stored?.sealed.last.map { sealed in
            let n = sealed.numbers
            return SealedBucket(
                bucket: n.bucket, bucketStart: n.bucketStart.rfc3339, bucketEnd: rules.bucketEnd(n.bucket).rfc3339,
                sealedAt: stored?.lastSealedAt?.rfc3339, active: n.active, peak: n.peak, unique: n.unique, qualified: n.qualified,
                incomplete: sealed.incomplete ?? IncompleteBuckets.reason(gaps: stored?.retentionGaps ?? []))
        }
        eventsStored = stored?.totals?.eventsStored
        deadLetters = stored?.totals.map { DeadLetters(total: $0.deadLetters.values.reduce(0, +), byReason: $0.deadLetters) }
        retentionGaps = (stored?.retentionGaps ?? []).map {
            Gap(partition: $0.partition, firstMissingOffset: $0.firstMissingOffset, lastMissingOffset: $0.lastMissingOffset, messages: $0.count)
        }
        let owned = Set(workers.filter { !$0.stale }.flatMap(\.partitions))
        unownedPartitions = partitions.map(\.partition).filter { !owned.contains($0) }
        problems += Self.problems(
            partitions: partitions, workers: workers, unowned: unownedPartitions, gaps: retentionGaps, stored: stored != nil,
            workersError: readings.workers.failureDescription)
        self.problems = problems
    }

    private static func partitions(
        kafka: HighWatermarks, stored: PipelineStatus?, reading: WatermarkReading?, workers: [WorkerInfo]
    ) -> [Partition] {
        let progress = Dictionary((stored?.partitions ?? []).map { ($0.partition, $0) }, uniquingKeysWith: { first, _ in first })
        let bounds = Dictionary((reading?.partitions ?? []).map { ($0.partition, $0) }, uniquingKeysWith: { first, _ in first })
        var numbers = Set(progress.keys).union(bounds.keys)
        if case .read(let marks) = kafka { numbers.formUnion(marks.keys) }
        return numbers.sorted().map { number in
            let high: Int64? = if case .read(let marks) = kafka, let mark = marks[number] { mark } else { nil }
            let next = progress[number]?.nextOffset
            let bound = bounds[number]
            return Partition(
                partition: number, highWatermark: high, storedNextOffset: next,
                // Nothing stored yet: every message Kafka holds is lag. Without the store, unknown.
                lag: stored == nil ? nil : high.map { max(0, $0 - (next ?? 0)) },
                maxEventAt: progress[number]?.maxEventAt?.rfc3339, lastStoredAt: progress[number]?.updatedAt.rfc3339,
                watermarkReason: bound?.reason, watermarkOffer: bound?.offer?.rfc3339, holdsWatermark: bound?.isHolding ?? true,
                detail: bound?.description,
                owners: workers.filter { $0.partitions.contains(number) }.map(\.worker))
        }
    }

    private static func problems(
        partitions: [Partition], workers: [WorkerInfo], unowned: [Int32], gaps: [Gap], stored: Bool, workersError: String?
    ) -> [String] {
        var problems: [String] = []
        if let workersError, stored { problems.append("worker heartbeats cannot be read: \(workersError)") }
        let stale = workers.filter(\.stale)
        if !stale.isEmpty {
            problems.append("\(stale.count) worker consumer(s) not seen recently (dead?): \(stale.map(\.worker).joined(separator: ", "))")
        }
        if stored, workersError == nil, !unowned.isEmpty {
            problems.append("no live worker owns partition(s) \(unowned.map(String.init).joined(separator: ", "))")
        }
        if !gaps.isEmpty {
            let lost = gaps.reduce(0) { $0 + $1.messages }
            problems.append("retention gaps: \(lost) message(s) deleted by Kafka before they were stored; every bucket is flagged incomplete")
        }
        return problems
    }
}

extension Result {
    fileprivate var failureDescription: String? {
        if case .failure(let error) = self { "\(error)" } else { nil }
    }
}
