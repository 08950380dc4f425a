import HeadcountCertificate
import HeadcountCore
import HeadcountStore

/// One sealing round's logic (COUNTING.md section 4): amend what late events changed,
/// then seal every bucket the watermark has passed, in order, never skipping one.
///
/// A value type the reporter keeps between rounds while it holds the lock; a round works
/// on a copy, and the reporter keeps the copy only once the round's transaction committed.
struct Sealer: Sendable {
    let configuration: ReporterConfiguration
    /// The sealed chain; nil until loaded from the store after taking the lock.
    var chain: SnapshotChain?
    /// Per sealed bucket: the numbers it stands at (the latest amendment's corrected
    /// numbers, else the certified ones) and the Kafka positions they counted.
    var standing: [Int: (numbers: BucketNumbers, seen: [Int32: Int64])] = [:]
    /// The Kafka positions the last round counted: when nothing moved since and no bucket
    /// is due, the round has nothing to do and skips the amendment check.
    var lastSeen: [Int32: Int64]?
    /// The contributions summed so far; each round adds only the rows stored since.
    var feed: ContributionFeed
    /// The watermark reached so far (stored with every round, so it never moves back across
    /// restarts or a takeover); nil while some partition has held sealing from the start.
    var watermark: Instant?
    /// Who the last sealed root covers (`headcount.certified_participants` and its changes).
    var membership = CertifiedMembership()
    /// The qualified participants and their leaf hashes, advanced by the changes stored since.
    var qualified = QualifiedSet()

    init(configuration: ReporterConfiguration) {
        self.configuration = configuration
        feed = ContributionFeed(rules: configuration.pipeline.rules)
    }

    /// What a round did, for logs, status and the benchmark.
    struct Outcome: Sendable {
        var reading: WatermarkReading
        var watermark: Instant? { reading.watermark }
        var sealed: [Int] = []
        var amended: [Int] = []
    }

    private var rules: CountingRules { configuration.pipeline.rules }
    private var pipelineID: String { configuration.pipeline.id }

    /// Loads the stored chain and amendments; throws when the chain does not continue under
    /// this pipeline's rules and key.
    mutating func load(_ round: SealingRound) async throws {
        let stored = try await round.snapshots(pipeline: pipelineID)
        let amendments = try await round.amendments(pipeline: pipelineID)
        let certified = stored.map(\.certified)
        // A chain is all rehearsal or all real: its genesis hash says which.
        if let first = stored.first, first.rehearsal != configuration.rehearsal {
            throw ReporterError(.chainMismatch, first.rehearsal
                ? "the stored chain was sealed under a rehearsal clock; this reporter runs on the wall clock (pass the same --clock, or use a fresh database)"
                : "the stored chain is real; a reporter under a rehearsal clock may not continue it (use a fresh database)")
        }
        do {
            chain = try SnapshotChain(
                pipeline: configuration.canonicalPipeline, signingKey: configuration.signingKey, continuing: certified,
                corrections: Dictionary(grouping: amendments.map(\.corrected), by: \.bucket))
        } catch {
            throw ReporterError(.chainMismatch, "the stored snapshots do not continue under this pipeline file and signing key: \(error)")
        }
        membership = CertifiedMembership(try await round.certifiedParticipants(pipeline: pipelineID))
        standing = [:]
        for snapshot in stored { standing[snapshot.bucket] = (snapshot.numbers, snapshot.seenOffsets) }
        // A store from before migration 6 has no watermark row: its last seal's watermark is
        // the floor then.
        let floors = [try await round.storedWatermark(pipeline: pipelineID)?.watermark, stored.last?.watermark]
        watermark = floors.compactMap { $0 }.max()
        for amendment in amendments {
            standing[amendment.bucket] = (amendment.corrected, amendment.seenOffsets)
        }
    }

    /// Runs one round inside `round`'s transaction; `fence` was taken just before it began,
    /// and `kafka` was read before that (section 4: the high watermarks before the progress).
    mutating func run(_ round: SealingRound, now: Instant, fence: ContributionFence, kafka: HighWatermarks) async throws -> Outcome {
        if chain == nil { try await load(round) }
        try await feed.advance(round, pipeline: pipelineID, to: fence)
        try await qualified.advance(round, pipeline: pipelineID, to: fence.qualifications)
        let progress = try await round.partitionActivity(pipeline: pipelineID)
        let reading = Watermark.compute(
            kafka: kafka, progress: progress, expectedPartitions: configuration.pipeline.kafka.partitions,
            now: now, allowedLateness: rules.allowedLateness, previous: watermark)
        try await round.record(
            StoredWatermark(watermark: reading.watermark, holding: reading.holding.map(\.description), processingTime: now),
            pipeline: pipelineID)
        watermark = reading.watermark
        var outcome = Outcome(reading: reading)
        guard let watermark = reading.watermark else { return outcome }
        let sealable = IncrementalCount.sealableBucketCount(rules: rules, watermark: watermark)
        guard let sealedCount = chain?.nextBucket else {
            throw ReporterError(.inconsistent, "pipeline \(pipelineID): no chain loaded before sealing")
        }
        let seen = Dictionary(uniqueKeysWithValues: progress.map { ($0.partition, $0.nextOffset) })
        guard sealable > sealedCount || seen != lastSeen else { return outcome }
        lastSeen = seen
        // Every bucket this round seals or amends ends by the end of bucket `sealable` − 1;
        // one more serves whoever reads the next minute's numbers.
        let cut = min(rules.bucketEnd(sealable), rules.windowEnd).milliseconds
        let behind = progress.filter { ($0.keptTailsFrom ?? .max) < cut }.map(\.partition)
        let numbers = feed.numbers(adding: try await round.openTails(pipeline: pipelineID, partitions: behind, before: cut))
        outcome.amended = try await amend(round, numbers: numbers, sealedCount: sealedCount, seen: seen)
        // The minute sealed next, exact as of this snapshot (the cut covers it): the dashboard's
        // provisional minute, one row to read instead of the whole event's change points.
        if sealable < numbers.count { try await round.recordProvisional(numbers[sealable], pipeline: pipelineID) }
        guard sealable > sealedCount else { return outcome }
        let incomplete = IncompleteBuckets.reason(gaps: try await round.retentionGaps(pipeline: pipelineID))
        for m in sealedCount..<sealable {
            try await seal(round, numbers[m], watermark: watermark, incomplete: incomplete, seen: seen)
            outcome.sealed.append(m)
        }
        return outcome
    }

    private mutating func seal(
        _ round: SealingRound, _ numbers: BucketNumbers, watermark: Instant, incomplete: String?, seen: [Int32: Int64]
    ) async throws {
        let root = qualified.root(atEndOf: numbers.bucket)
        let (newcomers, changed) = root.all.map { membership.difference(to: $0) }
            ?? membership.difference(entering: root.entering, leaving: root.leaving)
        guard root.count == numbers.qualified else {
            throw ReporterError(
                .unsealable, "cannot seal bucket \(numbers.bucket): \(root.count) qualified participants for qualified = \(numbers.qualified)")
        }
        guard var chain else {
            throw ReporterError(.inconsistent, "cannot seal bucket \(numbers.bucket) of pipeline \(pipelineID): no chain loaded")
        }
        let snapshot: CertifiedSnapshot
        do {
            snapshot = try chain.seal(numbers, participantsRoot: root.rootHex)
            self.chain = chain
        } catch {
            // The chain refuses a decrease of unique or qualified that no amendment explains:
            // the contributions and the amendments disagree, and clamping would certify a
            // wrong number.
            throw ReporterError(.unsealable, "cannot seal bucket \(numbers.bucket): \(error)")
        }
        try await round.insert(StoredSnapshot(
            pipeline: pipelineID, numbers: numbers, participantsRoot: snapshot.payload.participantsRoot,
            prevHash: snapshot.payload.prevHash, hash: snapshot.hash, signature: snapshot.signature,
            watermark: watermark, sealedAt: watermark, incomplete: incomplete, seenOffsets: seen,
            rehearsal: configuration.rehearsal),
            newcomers: newcomers, changed: changed)
        membership.advance(newcomers: newcomers, changed: changed)
        standing[numbers.bucket] = (numbers, seen)
    }

    /// Records an amendment for every sealed bucket whose numbers now differ from where
    /// it stands, naming the late events (see `lateEvents`).
    private mutating func amend(
        _ round: SealingRound, numbers: [BucketNumbers], sealedCount: Int, seen: [Int32: Int64]
    ) async throws -> [Int] {
        var amended: [Int] = []
        for m in 0..<sealedCount {
            guard let current = standing[m], let certified = chain?.snapshots[m].payload.numbers, m < numbers.count else {
                throw ReporterError(
                    .inconsistent, "bucket \(m) of pipeline \(pipelineID) is sealed, but its standing or certified numbers are missing")
            }
            guard current.numbers != numbers[m] else { continue }
            let late = try await round.eventsAfter(
                pipeline: pipelineID, since: current.seen, before: lateEventHorizon(m), limit: configuration.maximumListedLateEvents)
            try await round.insert(StoredAmendment(
                sequence: 0, pipeline: pipelineID, certified: certified, corrected: numbers[m], detectedAt: Instant(milliseconds: 0),
                reason: Self.reason(from: current.numbers, to: numbers[m], late: late), events: late.ids, seenOffsets: seen))
            standing[m] = (numbers[m], seen)
            // The next seal may now go below the certified numbers, down to these.
            chain?.amend(numbers[m])
            amended.append(m)
        }
        return amended
    }

    /// Late events timed before this instant are listed as responsible for bucket m: a
    /// later event can still change it (bridging a gap shorter than G, a heartbeat
    /// extending a session that H had closed, presence in the S-second periods that start
    /// in the bucket), so the list is a good guide, not a proof.
    private func lateEventHorizon(_ m: Int) -> Instant {
        rules.bucketEnd(m) + rules.sustainedPeak + rules.reconnectGrace + (rules.heartbeatTimeout ?? .zero)
    }

    static func reason(from old: BucketNumbers, to new: BucketNumbers, late: (ids: [String], total: Int)) -> String {
        var changes: [String] = []
        if old.active != new.active { changes.append("active \(old.active) → \(new.active)") }
        if old.peak != new.peak { changes.append("peak \(old.peak) → \(new.peak)") }
        if old.sustainedPeak != new.sustainedPeak { changes.append("sustained peak \(old.sustainedPeak) → \(new.sustainedPeak)") }
        if old.unique != new.unique { changes.append("unique \(old.unique) → \(new.unique)") }
        if old.qualified != new.qualified { changes.append("qualified \(old.qualified) → \(new.qualified)") }
        let listed = late.total > late.ids.count ? " (\(late.ids.count) of \(late.total) listed)" : ""
        return "events processed after the bucket was sealed changed it: \(changes.joined(separator: ", ")); "
            + "\(late.total) late events timed before the bucket's end plus S and the reconnect grace\(listed)"
    }
}
