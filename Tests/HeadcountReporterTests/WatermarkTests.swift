import HeadcountCore
import HeadcountReporter
import HeadcountStore
import Testing

@Suite("Watermark (COUNTING.md section 4)")
struct WatermarkTests {
    let lateness = Duration.seconds(120)
    let now = Instant(milliseconds: 1_000_000_000)

    func partition(_ k: Int32, maxAt: Int64?, updatedAgo: Int64) -> PartitionActivity {
        PartitionActivity(
            partition: k, nextOffset: 10, maxEventAt: maxAt.map { Instant(milliseconds: now.milliseconds + $0) },
            updatedAt: Instant(milliseconds: now.milliseconds - updatedAgo))
    }

    @Test("the slowest recently active partition holds the watermark, L behind its largest event time")
    func slowestActivePartition() {
        let progress = [partition(0, maxAt: -5_000, updatedAgo: 1_000), partition(1, maxAt: -60_000, updatedAgo: 100_000)]
        #expect(Watermark.compute(progress: progress, now: now, allowedLateness: lateness)
            == Instant(milliseconds: now.milliseconds - 60_000 - 120_000))
    }

    @Test("a partition idle for longer than L no longer holds it back")
    func idlePartitionIgnored() {
        let progress = [partition(0, maxAt: -5_000, updatedAgo: 1_000), partition(1, maxAt: -600_000, updatedAgo: 120_001)]
        #expect(Watermark.compute(progress: progress, now: now, allowedLateness: lateness)
            == Instant(milliseconds: now.milliseconds - 5_000 - 120_000))
    }

    @Test("with every partition idle, or none at all, the watermark is processing time minus L")
    func allIdle() {
        let idle = [partition(0, maxAt: -5_000, updatedAgo: 500_000)]
        #expect(Watermark.compute(progress: idle, now: now, allowedLateness: lateness) == now - lateness)
        #expect(Watermark.compute(progress: [], now: now, allowedLateness: lateness) == now - lateness)
        // Only dead letters so far: active, but without an event time to offer.
        #expect(Watermark.compute(progress: [partition(0, maxAt: nil, updatedAgo: 0)], now: now, allowedLateness: lateness) == now - lateness)
    }

    @Test("a retention gap's reason names what was lost in plain words")
    func gapReason() {
        #expect(IncompleteBuckets.reason(gaps: []) == nil)
        let reason = IncompleteBuckets.reason(gaps: [RetentionGap(partition: 3, firstMissingOffset: 10, lastMissingOffset: 19)])
        #expect(reason?.contains("10 messages") == true && reason?.contains("partition 3") == true)
    }
}
