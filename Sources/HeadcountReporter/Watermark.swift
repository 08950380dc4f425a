import HeadcountCore
import HeadcountStore

/// The watermark of COUNTING.md section 4 (v2), from what Kafka holds and what is stored.
///
/// Pure: Kafka's answer, the stored progress, the processing clock and the previous
/// watermark are all parameters, so tests place every one of them where they need it.
///
/// A partition is caught up when its stored next offset is at least its high watermark (the
/// offset Kafka gives the next message), which the caller read *before* the progress: every
/// message Kafka held then is stored and visible in the progress read after. A partition
/// caught up and without a commit in the last L offers now − L; every other one (behind,
/// recently stored, or one Kafka could not be asked about) offers its largest `at` − L, and
/// one without an event time holds sealing entirely. The watermark is the least offer, and
/// never below `previous`.
public enum Watermark {
    /// Applies section 4 to one round's inputs.
    ///
    /// - Parameters:
    ///   - kafka: the topic's high watermarks, read before `progress`.
    ///   - progress: the stored `partition_progress` rows of the pipeline's topic.
    ///   - expectedPartitions: the pipeline's partition count; when Kafka cannot be asked,
    ///     partitions 0..<expectedPartitions without a progress row still hold sealing (they
    ///     may hold messages nobody stored).
    ///   - now: the processing clock. `updated_at` of the progress is the processing clock of
    ///     the worker that stored it (the database's for rows stored without one), so the
    ///     clocks must be roughly in sync (NTP), and every process must run the same
    ///     rehearsal clock.
    ///   - previous: the watermark already reached (persisted across restarts); nil before
    ///     the first.
    public static func compute(
        kafka: HighWatermarks, progress: [PartitionActivity], expectedPartitions: Int,
        now: Instant, allowedLateness: Duration, previous: Instant?
    ) -> WatermarkReading {
        let horizon = now - allowedLateness
        let stored = Dictionary(progress.map { ($0.partition, $0) }, uniquingKeysWith: { first, _ in first })
        var partitions = Set(stored.keys)
        switch kafka {
        case .read(let marks): partitions.formUnion(marks.keys)
        case .unavailable: partitions.formUnion((0..<Int32(clamping: max(0, expectedPartitions))).map { $0 })
        }
        let bounds = partitions.sorted().map { partition in
            bound(partition, kafka: kafka, progress: stored[partition], horizon: horizon, allowedLateness: allowedLateness)
        }
        // The minimum of the bounds (section 4), not also capped at now − L: when every
        // partition offers its event time, that minimum is the watermark even if it is later.
        // An empty topic list with Kafka answering: nothing can be missing, now − L.
        var candidate: Instant? = bounds.isEmpty ? horizon : bounds[0].offer
        for bound in bounds.dropFirst() {
            guard let offer = bound.offer, let least = candidate else { candidate = nil; break }
            candidate = min(least, offer)
        }
        let watermark: Instant? = switch (previous, candidate) {
        case (let p?, let c?): max(p, c)
        case (let p?, nil): p
        case (nil, let c): c
        }
        return WatermarkReading(watermark: watermark, candidate: candidate, horizon: horizon, partitions: bounds)
    }

    /// What one partition offers, and why.
    static func bound(
        _ partition: Int32, kafka: HighWatermarks, progress: PartitionActivity?, horizon: Instant, allowedLateness: Duration
    ) -> PartitionBound {
        let next = progress?.nextOffset ?? 0
        let eventBound = progress?.maxEventAt.map { $0 - allowedLateness }
        let state: PartitionBound.State
        switch kafka {
        case .unavailable(let reason):
            state = .kafkaUnknown(reason)
        case .read(let marks):
            switch marks[partition] {
            case .none: state = .kafkaUnknown("Kafka does not list the partition")
            case .some(.none): state = .kafkaUnknown("its leader did not answer")
            case .some(.some(let high)) where next >= high:
                // No commit in the last L: nothing stored recently that a later event of the
                // same partition could still be close to (section 4's "idle").
                let idle = progress.map { $0.updatedAt < horizon } ?? true
                state = idle ? .caughtUpAndIdle : .caughtUpRecentlyStored
            case .some(.some(let high)):
                state = .behind(messages: high - next)
            }
        }
        let offer = state == .caughtUpAndIdle ? horizon : eventBound
        return PartitionBound(partition: partition, state: state, offer: offer, maxEventAt: progress?.maxEventAt)
    }
}

/// What Kafka said about a topic's partitions, read before the stored progress.
public enum HighWatermarks: Sendable, Hashable {
    /// Every partition Kafka lists, with the offset it will give the partition's next
    /// message; nil for a partition whose leader could not be asked.
    case read([Int32: Int64?])
    /// Kafka could not be asked about the topic (unreachable, timed out); why, in plain words.
    case unavailable(String)
}

/// Where the reporter reads the high watermarks: the brokers in production, a fake in tests.
public protocol HighWatermarkSource: Sendable {
    /// The pipeline topic's high watermarks now; a failure is `.unavailable` with its reason
    /// (which delays sealing and never lets it pass a partition's events).
    func highWatermarks() async -> HighWatermarks
}

/// One partition's part in the watermark.
public struct PartitionBound: Sendable, Hashable, CustomStringConvertible {
    public enum State: Sendable, Hashable {
        /// Every message Kafka held is stored and nothing was stored in the last L.
        case caughtUpAndIdle
        /// Caught up, but a batch was stored in the last L.
        case caughtUpRecentlyStored
        /// Kafka holds this many messages not stored yet.
        case behind(messages: Int64)
        /// Kafka could not be asked about the partition; why.
        case kafkaUnknown(String)
    }

    public var partition: Int32
    public var state: State
    /// The bound the partition offers; nil holds sealing entirely.
    public var offer: Instant?
    /// The partition's largest stored event time.
    public var maxEventAt: Instant?

    /// The state's name without its details: `caught_up_idle`, `recently_stored`, `behind`,
    /// `kafka_unknown`.
    public var reason: String {
        switch state {
        case .caughtUpAndIdle: "caught_up_idle"
        case .caughtUpRecentlyStored: "recently_stored"
        case .behind: "behind"
        case .kafkaUnknown: "kafka_unknown"
        }
    }

    /// Whether the partition keeps the watermark below processing time − L.
    public var isHolding: Bool { state != .caughtUpAndIdle }

    /// In plain words, for the dashboard and logs: "partition 3: 1,204 messages not stored yet; …".
    public var description: String {
        let why: String = switch state {
        case .caughtUpAndIdle: "caught up and idle"
        case .caughtUpRecentlyStored: "caught up, stored events in the last L"
        case .behind(let messages): "\(Self.grouped(messages)) message\(messages == 1 ? "" : "s") not stored yet"
        case .kafkaUnknown(let reason): "Kafka cannot say what it holds (\(reason))"
        }
        let offers = offer.map { "offers \($0.rfc3339)" } ?? "no event time yet: holds sealing"
        return "partition \(partition): \(why); \(offers)"
    }

    /// 1204 → "1,204".
    static func grouped(_ number: Int64) -> String {
        let digits = String(number.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return number < 0 ? "-" + out : out
    }
}

/// One round's watermark and what each partition offered.
public struct WatermarkReading: Sendable, Hashable {
    /// The watermark: the least offer, never below the previous one; nil while no partition
    /// set ever let one exist (nothing may be sealed).
    public var watermark: Instant?
    /// The least offer of this round alone; nil when some partition holds sealing.
    public var candidate: Instant?
    /// Processing time − L: the most the watermark can be (the caught-up, idle offer).
    public var horizon: Instant
    /// Every partition, in partition order.
    public var partitions: [PartitionBound]

    /// The partitions that keep the watermark below processing time − L, the one holding it
    /// furthest back first (those holding sealing entirely before any other).
    public var holding: [PartitionBound] {
        partitions.filter(\.isHolding).sorted { a, b in
            switch (a.offer, b.offer) {
            case (nil, nil): a.partition < b.partition
            case (nil, _): true
            case (_, nil): false
            case (let x?, let y?): (x, a.partition) < (y, b.partition)
            }
        }
    }
}
