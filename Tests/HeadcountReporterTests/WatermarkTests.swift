import HeadcountCore
import HeadcountReporter
import HeadcountSimulation
import HeadcountStore
import PropertyBased
import Testing

@Suite("Watermark v2 (COUNTING.md section 4)")
struct WatermarkTests {
    let lateness = Duration.seconds(120)
    let now = Instant(milliseconds: 1_000_000_000)

    func partition(_ k: Int32, next: Int64 = 10, maxAt: Int64?, updatedAgo: Int64) -> PartitionActivity {
        PartitionActivity(
            partition: k, nextOffset: next, maxEventAt: maxAt.map { Instant(milliseconds: now.milliseconds + $0) },
            updatedAt: Instant(milliseconds: now.milliseconds - updatedAgo))
    }

    func compute(_ kafka: HighWatermarks, _ progress: [PartitionActivity], expected: Int = 2, previous: Instant? = nil) -> WatermarkReading {
        Watermark.compute(
            kafka: kafka, progress: progress, expectedPartitions: expected, now: now, allowedLateness: lateness, previous: previous)
    }

    func ago(_ milliseconds: Int64) -> Instant { Instant(milliseconds: now.milliseconds - milliseconds) }

    @Test("caught up and idle everywhere: processing time minus L")
    func allCaughtUpAndIdle() {
        let reading = compute(.read([0: 10, 1: 10]), [partition(0, maxAt: -5_000, updatedAgo: 500_000), partition(1, maxAt: -1, updatedAgo: 200_000)])
        #expect(reading.watermark == now - lateness)
        #expect(reading.holding.isEmpty)
    }

    @Test("a partition Kafka holds messages for keeps holding, however long ago it stored anything (the v1 bug)")
    func stalledPartitionHolds() {
        // Partition 1 stored its last batch 10 minutes ago and stopped: v1 counted it idle.
        let reading = compute(.read([0: 10, 1: 1_214]), [partition(0, maxAt: -5_000, updatedAgo: 500_000), partition(1, maxAt: -600_000, updatedAgo: 600_000)])
        #expect(reading.watermark == ago(600_000) - lateness)
        #expect(reading.holding.map(\.partition) == [1])
        #expect(reading.holding[0].state == .behind(messages: 1_204))
        #expect(reading.holding[0].description.hasPrefix("partition 1: 1,204 messages not stored yet; offers "))
    }

    @Test("caught up but stored within L: its largest event time minus L")
    func recentlyStored() {
        let reading = compute(.read([0: 10, 1: 10]), [partition(0, maxAt: -5_000, updatedAgo: 1_000), partition(1, maxAt: -1_000, updatedAgo: 500_000)])
        #expect(reading.watermark == ago(5_000) - lateness)
        #expect(reading.holding.map(\.state) == [.caughtUpRecentlyStored])
    }

    @Test("no event time yet holds sealing entirely: a partition with messages and no progress row, or only dead letters")
    func noEventTimeHolds() {
        // Partition 1 has never been stored but Kafka holds 7 messages for it.
        let unread = compute(.read([0: 10, 1: 7]), [partition(0, maxAt: -5_000, updatedAgo: 500_000)])
        #expect(unread.watermark == nil && unread.candidate == nil)
        #expect(unread.holding.first?.description == "partition 1: 7 messages not stored yet; no event time yet: holds sealing")
        // Only dead letters so far, caught up but stored just now: no event time to offer.
        let letters = compute(.read([0: 10]), [partition(0, maxAt: nil, updatedAgo: 0)], expected: 1)
        #expect(letters.watermark == nil)
        // An empty partition never stored is caught up and idle.
        #expect(compute(.read([0: 10, 1: 0]), [partition(0, maxAt: -5_000, updatedAgo: 500_000)]).watermark == now - lateness)
    }

    @Test("Kafka unreachable: nothing is caught up, and the pipeline's partitions without progress hold sealing")
    func kafkaUnreachable() {
        let down = HighWatermarks.unavailable("brokers down")
        let both = [partition(0, maxAt: -5_000, updatedAgo: 500_000), partition(1, maxAt: -9_000, updatedAgo: 500_000)]
        let reading = compute(down, both)
        #expect(reading.watermark == ago(9_000) - lateness, "idle partitions offer their event time, not now − L")
        #expect(reading.holding.allSatisfy { $0.state == .kafkaUnknown("brokers down") })
        // A third partition of the pipeline without any progress: it may hold messages.
        #expect(compute(down, both, expected: 3).watermark == nil)
        // A leader that does not answer is the same for its partition alone.
        let leaderless = compute(.read([0: 10, 1: nil]), both)
        #expect(leaderless.holding.map(\.partition) == [1])
        #expect(leaderless.watermark == ago(9_000) - lateness)
    }

    @Test("the watermark never moves back, whatever this round offers")
    func neverBack() {
        let previous = now - .seconds(60)
        #expect(compute(.read([0: 99]), [partition(0, maxAt: -600_000, updatedAgo: 0)], expected: 1, previous: previous).watermark == previous)
        #expect(compute(.unavailable("down"), [], expected: 1, previous: previous).watermark == previous)
    }

    @Test("a retention gap's reason names what was lost in plain words")
    func gapReason() {
        #expect(IncompleteBuckets.reason(gaps: []) == nil)
        let reason = IncompleteBuckets.reason(gaps: [RetentionGap(partition: 3, firstMissingOffset: 10, lastMissingOffset: 19)])
        #expect(reason?.contains("10 messages") == true && reason?.contains("partition 3") == true)
    }

    // MARK: - Against a brute-force model

    @Test("equals the brute-force model on random partitions: behind, caught up, unknown, idle or not")
    func agreesWithModel() async {
        await propertyCheck(count: 2_000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SplitMix64(seed: UInt64(seed))
            let round = WatermarkModel.randomRound(&random)
            let reading = Watermark.compute(
                kafka: round.kafka, progress: round.progress, expectedPartitions: round.expected,
                now: round.now, allowedLateness: round.lateness, previous: round.previous)
            let model = WatermarkModel.watermark(round)
            #expect(reading.watermark == model, "seed \(seed)")
            #expect(reading.partitions.map(\.partition) == WatermarkModel.partitions(round), "seed \(seed)")
        }
    }

    @Test("over rounds with reporter restarts, failed rounds and clocks that jump back: monotone, and never past a partition Kafka holds messages for")
    func monotoneAndSafeAcrossRestarts() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SplitMix64(seed: UInt64(seed))
            var stored: Instant?  // what `headcount.watermarks` holds: survives restarts
            var inMemory: Instant?  // what a running reporter's sealer holds
            var clock = Instant(milliseconds: 1_700_000_000_000)
            for _ in 0..<40 {
                if random.chance(0.15) { inMemory = stored }  // a restart or a takeover reloads
                clock = clock + .milliseconds(random.inRange(-30_000...90_000))  // NTP steps, pauses
                var round = WatermarkModel.randomRound(&random, now: clock)
                round.previous = inMemory
                let reading = Watermark.compute(
                    kafka: round.kafka, progress: round.progress, expectedPartitions: round.expected,
                    now: round.now, allowedLateness: round.lateness, previous: round.previous)
                if let before = inMemory {
                    #expect(reading.watermark.map { $0 >= before } == true, "seed \(seed): moved back")
                }
                // Where it rose this round, no partition that may hold unstored messages is passed.
                if let mark = reading.watermark, mark > (inMemory ?? Instant(milliseconds: .min)) {
                    for bound in reading.partitions where bound.state != .caughtUpAndIdle {
                        #expect(bound.maxEventAt.map { mark <= $0 - round.lateness } == true, "seed \(seed): passed \(bound)")
                    }
                }
                if random.chance(0.9) {  // the round's transaction commits
                    inMemory = reading.watermark
                    stored = [stored, reading.watermark].compactMap { $0 }.max()
                }
            }
        }
    }
}

/// Section 4 written the slow, obvious way: the largest instant every partition allows,
/// searched among every instant any partition could offer.
enum WatermarkModel {
    struct Round {
        var kafka: HighWatermarks
        var progress: [PartitionActivity]
        var expected: Int
        var now: Instant
        var lateness: Duration
        var previous: Instant?
    }

    static func partitions(_ round: Round) -> [Int32] {
        (0..<Int32(16)).filter { k in
            if round.progress.contains(where: { $0.partition == k }) { return true }
            switch round.kafka {
            case .read(let marks): return marks.keys.contains(k)
            case .unavailable: return k < round.expected
            }
        }
    }

    static func watermark(_ round: Round) -> Instant? {
        let horizon = round.now - round.lateness
        var allows: [(Instant) -> Bool] = []
        var candidates = [horizon]
        for k in partitions(round) {
            let row = round.progress.first { $0.partition == k }
            var highWatermark: Int64?
            if case .read(let marks) = round.kafka, let known = marks[k] { highWatermark = known }
            let pending = highWatermark.map { $0 - (row?.nextOffset ?? 0) }
            let caughtUp = pending.map { $0 <= 0 } ?? false
            let idle = row.map { !($0.updatedAt >= horizon) } ?? true
            if caughtUp && idle {
                allows.append { $0 <= horizon }
            } else if let at = row?.maxEventAt {
                candidates.append(at - round.lateness)
                allows.append { $0 <= at - round.lateness }
            } else {
                allows.append { _ in false }
            }
        }
        let best = candidates.filter { t in allows.allSatisfy { $0(t) } }.max()
        return [best, round.previous].compactMap { $0 }.max()
    }

    /// Up to 6 partitions among 0..<8, offsets and times close together so that every case
    /// (behind, exactly caught up, ahead, idle at the edge of L) comes up often.
    static func randomRound(_ random: inout SplitMix64, now: Instant = Instant(milliseconds: 1_700_000_000_000)) -> Round {
        let lateness = Duration.milliseconds(random.inRange(0...5) * 30_000)
        let horizon = now - lateness
        var progress: [PartitionActivity] = []
        var marks: [Int32: Int64?] = [:]
        for k in Int32(0)..<8 {
            let stored = random.chance(0.6)
            let listed = random.chance(0.8)
            let next = random.inRange(0...5)
            if stored {
                let maxAt = random.chance(0.85) ? horizon + .milliseconds(random.inRange(-200_000...60_000)) : nil
                let updated = random.chance(0.3) ? horizon : horizon + .milliseconds(random.inRange(-300_000...300_000))
                progress.append(PartitionActivity(partition: k, nextOffset: next, maxEventAt: maxAt, updatedAt: updated))
            }
            if listed { marks[k] = random.chance(0.1) ? .some(nil) : next + random.inRange(-2...2) }
        }
        let kafka: HighWatermarks = random.chance(0.15) ? .unavailable("unreachable") : .read(marks)
        let previous = random.chance(0.5) ? horizon + .milliseconds(random.inRange(-300_000...100_000)) : nil
        return Round(kafka: kafka, progress: progress, expected: Int(random.inRange(0...8)), now: now, lateness: lateness, previous: previous)
    }
}
