import HeadcountCore

/// One participant's presence after a batch, as the worker that owns it computed it.
public struct PresenceUpdate: Sendable, Hashable {
    public var participant: String
    public var partition: Int32
    public var presence: Presence
    /// First bucket at whose end the participant is unique / qualified (nil: not yet).
    public var uniqueBucket: Int?
    public var qualifiedBucket: Int?
    /// The contribution's tail when it is kept on the presence row instead of in the change
    /// rows (`ContributionTail`); nil when the rows hold the whole contribution.
    public var tail: ContributionTail?

    public init(
        participant: String, partition: Int32, presence: Presence, uniqueBucket: Int?, qualifiedBucket: Int?,
        tail: ContributionTail? = nil
    ) {
        self.participant = participant
        self.partition = partition
        self.presence = presence
        self.uniqueBucket = uniqueBucket
        self.qualifiedBucket = qualifiedBucket
        self.tail = tail
    }
}

/// What a batch's new events changed: the presences to store and the summed contributions
/// that the reporter adds up instead of rescanning events.
public struct DerivedPresence: Sendable {
    public var presences: [PresenceUpdate] = []
    /// Per bucket: change of `active` in it, and of `unique` / `qualified` from it on.
    public var active: [Int: Int] = [:]
    public var unique: [Int: Int] = [:]
    public var qualified: [Int: Int] = [:]
    /// Per instant (Unix ms): change of concurrent presence.
    public var peak: [Int64: Int] = [:]
    /// Per instant (Unix ms): change of how many cover the S-second period starting there.
    public var sustained: [Int64: Int] = [:]
    /// The participants whose first qualified bucket changed, and that bucket (-1: no longer
    /// qualified): the rows of `headcount.qualification_changes`.
    public var requalified: [String] = []
    public var requalifiedBuckets: [Int32] = []
    /// Per partition of the batch: at or before the earliest change of any tail kept on its
    /// participants' presence rows after it (nil: none kept), for `partition_progress`.
    public var keptTailsFrom: [Int32: Int64?] = [:]

    public init() {}

    /// Adds one participant's change.
    public mutating func add(_ update: PresenceUpdate, delta: ContributionDelta) {
        presences.append(update)
        for change in delta.active {
            for bucket in change.buckets { active[bucket, default: 0] += change.delta }
        }
        for change in delta.unique { unique[change.bucket, default: 0] += change.delta }
        for change in delta.qualified { qualified[change.bucket, default: 0] += change.delta }
        // A qualified change exists exactly when the first qualified bucket moved.
        if !delta.qualified.isEmpty {
            requalified.append(update.participant)
            requalifiedBuckets.append(Int32(update.qualifiedBucket ?? -1))
        }
        for change in delta.peak { peak[change.at, default: 0] += change.delta }
        for change in delta.sustained { sustained[change.at, default: 0] += change.delta }
    }

    /// The buckets whose contribution rows this batch writes, in order.
    var buckets: [Int] {
        Set(active.keys).union(unique.keys).union(qualified.keys).sorted()
    }
}

extension Presence {
    /// PostgreSQL's `int8multirange` literal: `{[from,to),…}`.
    var multirangeLiteral: String {
        "{" + intervals.map { "[\($0.from),\($0.to))" }.joined(separator: ",") + "}"
    }
}
