/// Hears which partitions the group gives and takes away, and says where those it already
/// knows a position for start.
///
/// Both methods run inside librdkafka's rebalance callback, on the consumer's polling thread,
/// while the whole group waits for this member: they must only record what changed and return,
/// never wait for a database, the network or the consumer's own async methods. Work that needs
/// I/O (reading stored offsets) happens afterwards, and ends with `KafkaConsumer.start(_:)`.
public protocol KafkaRebalanceListener: Sendable {
    /// Called when the group gives this consumer partitions (under the cooperative protocol:
    /// only the newly added ones), before anything of theirs is delivered.
    ///
    /// - Returns: the partitions that start at once, and where (`.committed`: the group's
    ///   committed offset, else `auto.offset.reset`). Partitions left out are assigned paused
    ///   and deliver nothing until the application calls `KafkaConsumer.start(_:)` for them.
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset]

    /// Called when partitions are taken away (a rebalance, a lost session or `close()`; under
    /// the cooperative protocol only the ones that move). Nothing of theirs is delivered any
    /// more; a batch in flight for them may still be stored if the application's own fence
    /// (its stored offsets) allows, since another member may start on them at once.
    func partitionsRevoked(_ partitions: [KafkaTopicPartition])
}

/// A listener built from two closures, for callers that need no type of their own.
public struct KafkaRebalanceHandlers: KafkaRebalanceListener {
    private let assigned: @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset]
    private let revoked: @Sendable ([KafkaTopicPartition]) -> Void

    /// A listener calling `assigned` and `revoked`; by default every partition starts at its
    /// committed offset and revokes are ignored.
    public init(
        assigned: @escaping @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] = {
            Dictionary($0.map { ($0, KafkaOffset.committed) }, uniquingKeysWith: { $1 })
        },
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
