/// The counted period and the rules of one pipeline (COUNTING.md section 1).
///
/// Everything the numbers depend on, and nothing else: the pipeline file adds identity,
/// Kafka and signing settings around it.
public struct CountingRules: Sendable, Hashable {
    /// W = [windowStart, windowEnd).
    public var windowStart: Instant
    public var windowEnd: Instant
    /// Snapshot bucket length; default 60 s.
    public var bucket: Duration
    /// G: gaps in one participant's presence strictly shorter than this are bridged; default 60 s.
    public var reconnectGrace: Duration
    /// Q: presence needed to be qualified; default 0 s (then qualified = unique).
    public var minimumPresence: Duration
    /// H: when set, an open session with no news for H is closed; default unset.
    public var heartbeatTimeout: Duration?
    /// L: how far the watermark trails event time; must be ≥ G; default 120 s.
    public var allowedLateness: Duration
    /// S: the period over which `sustained_peak` is judged; 0 < S ≤ bucket; default 10 s, or
    /// the bucket when that is shorter (docs/counting.md: a default must never be invalid).
    public var sustainedPeak: Duration

    /// The default S for a bucket length: 10 s, or the bucket when it is shorter.
    public static func defaultSustainedPeak(bucket: Duration) -> Duration {
        min(.seconds(10), bucket)
    }

    /// Builds and validates rules; the error names the offending field.
    public init(
        windowStart: Instant,
        windowEnd: Instant,
        bucket: Duration = .seconds(60),
        reconnectGrace: Duration = .seconds(60),
        minimumPresence: Duration = .zero,
        heartbeatTimeout: Duration? = nil,
        allowedLateness: Duration = .seconds(120),
        sustainedPeak: Duration? = nil
    ) throws(CountingRulesError) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.bucket = bucket
        self.reconnectGrace = reconnectGrace
        self.minimumPresence = minimumPresence
        self.heartbeatTimeout = heartbeatTimeout
        self.allowedLateness = allowedLateness
        self.sustainedPeak = sustainedPeak ?? Self.defaultSustainedPeak(bucket: bucket)
        try validate()
    }

    private func validate() throws(CountingRulesError) {
        guard windowEnd > windowStart else {
            throw CountingRulesError(field: "window.end", message: "must be after window.start")
        }
        try Self.requireWholeMilliseconds(bucket, "rules.bucket", positive: true)
        try Self.requireWholeMilliseconds(reconnectGrace, "rules.reconnectGrace", positive: false)
        try Self.requireWholeMilliseconds(minimumPresence, "rules.minimumPresence", positive: false)
        if let heartbeatTimeout {
            try Self.requireWholeMilliseconds(heartbeatTimeout, "rules.heartbeatTimeout", positive: true)
        }
        try Self.requireWholeMilliseconds(allowedLateness, "rules.allowedLateness", positive: false)
        guard allowedLateness >= reconnectGrace else {
            throw CountingRulesError(
                field: "rules.allowedLateness",
                message: "must be at least rules.reconnectGrace (\(reconnectGrace.wholeMilliseconds / 1000) s)")
        }
        try Self.requireWholeMilliseconds(sustainedPeak, "rules.sustainedPeak", positive: true)
        guard sustainedPeak <= bucket else {
            throw CountingRulesError(
                field: "rules.sustainedPeak", message: "must not be longer than rules.bucket (\(Self.describe(bucket)))")
        }
        // One bucket per minute over a year is 525,600 snapshots; more than that is a typo.
        guard bucketCount <= 10_000_000 else {
            throw CountingRulesError(field: "rules.bucket", message: "gives more than 10,000,000 buckets over the window")
        }
    }

    private static func requireWholeMilliseconds(
        _ duration: Duration, _ field: String, positive: Bool
    ) throws(CountingRulesError) {
        let (_, attoseconds) = duration.components
        guard attoseconds % 1_000_000_000_000_000 == 0 else {
            throw CountingRulesError(field: field, message: "must be a whole number of milliseconds")
        }
        if positive ? duration <= .zero : duration < .zero {
            throw CountingRulesError(field: field, message: positive ? "must be positive" : "must not be negative")
        }
    }

    private static func describe(_ duration: Duration) -> String {
        let milliseconds = duration.wholeMilliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }

    /// M = ceil((end − start) / bucket).
    public var bucketCount: Int {
        let length = windowEnd.milliseconds - windowStart.milliseconds
        let size = bucket.wholeMilliseconds
        return Int((length + size - 1) / size)
    }

    /// The start of bucket m.
    public func bucketStart(_ m: Int) -> Instant {
        Instant(milliseconds: windowStart.milliseconds + Int64(m) * bucket.wholeMilliseconds)
    }

    /// E_m, the end of bucket m; the last bucket is cut at the window end.
    public func bucketEnd(_ m: Int) -> Instant {
        Instant(milliseconds: min(windowEnd.milliseconds, windowStart.milliseconds + Int64(m + 1) * bucket.wholeMilliseconds))
    }

    /// Events outside [start − 1 day, end + 1 day] can never be counted: they are dead letters.
    public func acceptsEventTime(_ at: Instant) -> Bool {
        at.milliseconds >= windowStart.milliseconds - 86_400_000 && at.milliseconds <= windowEnd.milliseconds + 86_400_000
    }
}

/// A rule that cannot hold, named by its pipeline-file field.
public struct CountingRulesError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}
