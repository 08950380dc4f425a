/// Decides where each newly assigned partition starts, and hears when partitions go away.
///
/// Both methods run synchronously on the consumer's own polling thread (never the cooperative
/// pool), inside `KafkaConsumer.poll` or `close`, so they may block on I/O, such as reading the
/// application's stored offsets from a database. They must not wait for the consumer's own async
/// methods: those run on the same thread and would deadlock.
public protocol KafkaRebalanceListener: Sendable {
    /// Called when the group gives this consumer partitions, before anything is fetched.
    ///
    /// - Returns: where each partition starts. Partitions left out start from the group's
    ///   committed offset, or `auto.offset.reset` when nothing is committed.
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset]

    /// Called before partitions are taken away (a rebalance or `close()`): finish or abandon the
    /// batch in flight for them now, because another member may start on them next.
    func partitionsRevoked(_ partitions: [KafkaTopicPartition])
}

/// A listener built from two closures, for callers that need no type of their own.
public struct KafkaRebalanceHandlers: KafkaRebalanceListener {
    private let assigned: @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset]
    private let revoked: @Sendable ([KafkaTopicPartition]) -> Void

    /// A listener calling `assigned` and `revoked`; by default it chooses no offsets and ignores revokes.
    public init(
        assigned: @escaping @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] = { _ in [:] },
        revoked: @escaping @Sendable ([KafkaTopicPartition]) -> Void = { _ in }
    ) {
        self.assigned = assigned
        self.revoked = revoked
    }

    public func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
        assigned(partitions)
    }

    public func partitionsRevoked(_ partitions: [KafkaTopicPartition]) {
        revoked(partitions)
    }
}
