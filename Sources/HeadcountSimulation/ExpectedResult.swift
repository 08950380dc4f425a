import HeadcountCore

/// What the counting engine says a simulated run must certify: the batch count of exactly
/// the deliveries sent, in sending order (which of two deliveries of an id stands), with the
/// participant keys Kafka sees (after the adapters' identity rules).
public struct ExpectedResult: Sendable, Hashable {
    public var pipeline: String
    public var participants: Int
    public var seed: UInt64
    /// Deliveries sent, repeats included.
    public var deliveries: Int
    /// Distinct event ids among them: what the store should hold.
    public var distinctEvents: Int
    public var outcome: CountOutcome
    public var unique: Int
    public var buckets: [BucketNumbers]

    public init(pipeline: String, participants: Int, seed: UInt64, sent: [Event], rules: CountingRules) {
        let count = BatchCount(events: sent, rules: rules)
        self.pipeline = pipeline
        self.participants = participants
        self.seed = seed
        deliveries = sent.count
        distinctEvents = Set(sent.lazy.map(\.id)).count
        outcome = count.outcome
        unique = count.buckets.last?.unique ?? 0
        buckets = count.buckets
    }

    /// One JSON object (keys in a fixed order), for `--expected FILE` and the demo.
    public var json: String {
        """
        {"pipeline": "\(pipeline)", "participants": \(participants), "seed": \(seed), \
        "deliveries": \(deliveries), "distinct_events": \(distinctEvents), \
        "qualified": \(outcome.qualified), "peak": \(outcome.peak), "sustained_peak": \(outcome.sustainedPeak), \
        "unique": \(unique)}
        """
    }

    /// `qualified …, peak …, sustained peak …`, as the demo prints it beside the certificate's.
    public var summary: String {
        "qualified \(outcome.qualified), peak \(outcome.peak), sustained peak \(outcome.sustainedPeak), unique \(unique)"
    }
}
