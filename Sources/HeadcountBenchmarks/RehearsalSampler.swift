import Foundation
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import Synchronization

/// What `bench rehearsal` samples: publishing against Kafka's high watermarks against the
/// workers' stored offsets, and what the reporter has sealed.
final class RehearsalSampler: Sendable {
    struct Sample: Sendable {
        var wallSeconds: Double
        var eventTime: Instant
        var published: Int
        var publishedThrough: Instant?
        var kafkaHigh: Int64
        var stored: Int64
        var lag: Int64
        var maximumPartitionLag: Int64
        var sealedBuckets: Int
    }

    private struct State {
        var published = 0
        var publishedThrough: Instant?
        var publishingDone: Double?
        var samples: [Sample] = []
    }

    let pipeline: Pipeline
    let kafka: KafkaHighWatermarkSource
    let file: String?
    let say: @Sendable (String) -> Void
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    init(pipeline: Pipeline, kafka: KafkaHighWatermarkSource, file: String?, say: @escaping @Sendable (String) -> Void) {
        self.pipeline = pipeline
        self.kafka = kafka
        self.file = file
        self.say = say
    }

    func published(_ count: Int, through at: Instant) {
        state.withLock { $0.published = count; $0.publishedThrough = at }
    }

    func finishedPublishing(_ count: Int) {
        let now = elapsed
        state.withLock { $0.published = count; $0.publishingDone = now }
    }

    private var elapsed: Double { (ContinuousClock.now - started).inSeconds }

    /// Samples every `interval` until cancelled.
    func run(store: EventStore, clock: ProcessingClock, every interval: Duration) async throws -> Int {
        while true {
            try await Task.sleep(for: interval)
            _ = try await sample(store: store, clock: clock)
        }
    }

    /// Samples until the workers stored all `expected` messages, or `timeout` passed.
    func drain(store: EventStore, clock: ProcessingClock, expected: Int, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let last = try await sample(store: store, clock: clock)
            if last.stored >= Int64(expected), last.lag == 0 { return }
            guard ContinuousClock.now < deadline else {
                throw BenchFailure(description: "after \(timeout) the workers had stored \(last.stored) of \(expected) messages (lag \(last.lag))")
            }
            try await Task.sleep(for: .seconds(2))
        }
    }

    private func sample(store: EventStore, clock: ProcessingClock) async throws -> Sample {
        // Kafka first, then the store (the reporter's order): the lag is never understated.
        let highs = await kafka.highWatermarks()
        let stored = try await store.storedOffsets(pipeline: pipeline.id, topic: pipeline.kafka.topic)
        let sealed = try await store.pipelineStatus(pipeline: pipeline.id, includingTotals: false).sealed.count
        var high: Int64 = 0, lag: Int64 = 0, worst: Int64 = 0
        if case .read(let partitions) = highs {
            for (partition, mark) in partitions {
                let behind = max(0, (mark ?? 0) - (stored[partition] ?? 0))
                high += mark ?? 0
                lag += behind
                worst = max(worst, behind)
            }
        }
        let (published, through) = state.withLock { ($0.published, $0.publishedThrough) }
        let sample = Sample(
            wallSeconds: elapsed, eventTime: clock.now(wall: ClockOption.wallNow()), published: published, publishedThrough: through,
            kafkaHigh: high, stored: stored.values.reduce(0, +), lag: lag, maximumPartitionLag: worst, sealedBuckets: sealed)
        let previous = state.withLock { state in
            defer { state.samples.append(sample) }
            return state.samples.last
        }
        report(sample, since: previous)
        return sample
    }

    private func report(_ sample: Sample, since previous: Sample?) {
        let seconds = max(0.001, sample.wallSeconds - (previous?.wallSeconds ?? 0))
        let publishedRate = Double(sample.published - (previous?.published ?? 0)) / seconds
        let storedRate = Double(sample.stored - (previous?.stored ?? 0)) / seconds
        let behind = sample.publishedThrough.map { (sample.eventTime.milliseconds - $0.milliseconds) / 1000 } ?? 0
        say("t=\(Int(sample.wallSeconds)) s, event time \(sample.eventTime.rfc3339): published \(thousands(sample.published)) "
            + "(\(thousands(publishedRate))/s, \(behind) s behind schedule), stored \(thousands(Int(sample.stored))) (\(thousands(storedRate))/s), "
            + "lag \(thousands(Int(sample.lag))) (worst partition \(thousands(Int(sample.maximumPartitionLag)))), sealed \(sample.sealedBuckets)")
        guard let file else { return }
        let line = """
            {"t": \(String(format: "%.1f", sample.wallSeconds)), "event_time": "\(sample.eventTime.rfc3339)", "published": \(sample.published), \
            "kafka_high": \(sample.kafkaHigh), "stored": \(sample.stored), "lag": \(sample.lag), "max_partition_lag": \(sample.maximumPartitionLag), \
            "published_per_s": \(Int(publishedRate)), "stored_per_s": \(Int(storedRate)), "sealed": \(sample.sealedBuckets)}

            """
        if let handle = FileHandle(forWritingAtPath: file) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try? handle.close()
        } else {
            try? line.write(toFile: file, atomically: false, encoding: .utf8)
        }
    }

    /// The figures for docs/BENCHMARKS.md.
    func summary(events: Int, participants: Int, steadyFrom: Instant) -> String {
        let (samples, done) = state.withLock { ($0.samples, $0.publishingDone ?? $0.samples.last?.wallSeconds ?? 0) }
        guard let last = samples.last else { return "bench rehearsal: no samples" }
        let loading = samples.filter { $0.wallSeconds <= done }
        let steady = loading.filter { $0.eventTime >= steadyFrom }
        let storedWhenDone = loading.last?.stored ?? 0
        let slope = Self.slope(steady.map { ($0.wallSeconds, Double($0.lag)) })
        let steadyRate = steady.count >= 2
            ? Double(steady.last!.stored - steady.first!.stored) / (steady.last!.wallSeconds - steady.first!.wallSeconds) : 0
        return """
            bench rehearsal: \(thousands(participants)) participants, \(thousands(events)) events published in \(String(format: "%.0f", done)) s, all stored after \(String(format: "%.0f", last.wallSeconds)) s
              sustained: \(thousands(Double(storedWhenDone) / max(1, done))) events/s stored while publishing; \(thousands(steadyRate)) events/s in the heartbeat steady state
              lag: max \(thousands(Int(loading.map(\.lag).max() ?? 0))) messages (worst partition \(thousands(Int(loading.map(\.maximumPartitionLag).max() ?? 0)))), \
            at the end of publishing \(thousands(Int(loading.last?.lag ?? 0))); trend in the steady state \(String(format: "%+.1f", slope)) messages/s (\(slope > 50 ? "GROWING" : "not growing"))
              lag every sample: \(loading.map { String($0.lag) }.joined(separator: " "))
              sealed buckets at the end: \(last.sealedBuckets)
            """
    }

    /// Least-squares slope of y over x; 0 with fewer than two points.
    static func slope(_ points: [(Double, Double)]) -> Double {
        guard points.count >= 2 else { return 0 }
        let n = Double(points.count)
        let mx = points.reduce(0) { $0 + $1.0 } / n, my = points.reduce(0) { $0 + $1.1 } / n
        let sxx = points.reduce(0) { $0 + ($1.0 - mx) * ($1.0 - mx) }
        let sxy = points.reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        return sxx > 0 ? sxy / sxx : 0
    }
}
