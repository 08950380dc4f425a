import HeadcountTestSupport
import Kafka
import Synchronization
import Testing

extension KafkaIntegrationTests {
    @Suite struct CooperativeRebalance {
        let cluster: KafkaDevCluster

        init() throws {
            cluster = try KafkaDevCluster(brokerCount: 3, logger: testLogger)
        }

        @Test("partitions the listener gives no offset deliver nothing until start(), then from the chosen offset")
        func pausedUntilStarted() async throws {
            let topic = uniqueTopic("paused")
            try await cluster.createTopic(topic, partitions: 2)
            try await withProducer(producerConfiguration(cluster)) { producer in
                _ = try await producer.sendAll((0..<40).map {
                    KafkaProducerMessage(topic: topic, partition: Int32($0 % 2), key: nil as [UInt8]?, value: Array("\($0)".utf8))
                })
            }
            let zero = KafkaTopicPartition(topic: topic, partition: 0)
            let one = KafkaTopicPartition(topic: topic, partition: 1)
            // Partition 0 starts at once, partition 1 waits, as a worker's partitions wait for PostgreSQL.
            let listener = RecordingListener { _ in [zero: .beginning] }
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "g-\(topic)"), rebalanceListener: listener, logger: testLogger)
            try await consumer.subscribe(topics: [topic])
            let (early, _) = try await consume(consumer, count: 20)
            #expect(early.map(\.partition).allSatisfy { $0 == 0 }, "nothing of the waiting partition")
            // More polls: still nothing of partition 1 while it waits.
            let (later, _) = try await consume(consumer, count: 1, within: .seconds(2))
            #expect(later.isEmpty)
            #expect(try await consumer.start([one: KafkaOffset(15)]) == [one])
            let (started, _) = try await consume(consumer, count: 5)
            #expect(started.map(\.offset) == Array(15..<20) && started.allSatisfy { $0.partition == 1 })
            await consumer.close()
        }

        @Test("cooperative-sticky: a join and a leave move only the partitions that change owner; the others keep flowing")
        func joinAndLeaveMoveOnlyTheirPartitions() async throws {
            let topic = uniqueTopic("cooperative")
            try await cluster.createTopic(topic, partitions: 6)
            let journal = Journal()
            let first = Member(name: "first", journal: journal)
            let second = Member(name: "second", journal: journal)
            let configuration = consumerConfiguration(cluster, group: "g-\(topic)")
            #expect(configuration.assignmentStrategy == .cooperativeSticky, "the default")
            try await withProducer(producerConfiguration(cluster)) { producer in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await Self.produceSteadily(producer, topic: topic, until: { journal.isFinished }) }
                    group.addTask { try await first.consume(configuration, topic: topic, until: { journal.isFinished }) }
                    try await journal.waitFor("the first member to own all 6 partitions") { first.owned.count == 6 }
                    group.addTask { try await second.consume(configuration, topic: topic, until: { second.leaves }) }
                    try await journal.waitFor("the join to settle") { second.owned.count == 3 && first.owned.count == 3 }
                    try await journal.waitFor("messages after the join") { journal.messages(of: "second") > 0 }
                    second.leave()
                    try await journal.waitFor("the leave to settle") { first.owned.count == 6 }
                    try await journal.waitFor("messages after the leave") { journal.messagesSinceLastAssignment(of: "first") > 20 }
                    journal.finish()
                    try await group.waitForAll()
                }
            }
            let moved = second.assigned.first ?? []
            #expect(first.revoked.dropLast() == [moved], "the join revoked only the partitions that moved, once")
            #expect(first.revoked.last == Set(0..<6), "and close() revoked everything")
            #expect(second.assigned == [moved] && second.revoked.last == moved)
            #expect(first.assigned.count == 2 && first.assigned.last == moved, "the leave gave back only those")
            let kept = Set(0..<6).subtracting(moved)
            #expect(kept.count == 3)
            // Between the join's revoke and the assignment to the new member (the rebalance's
            // second round), the partitions that stayed kept delivering.
            #expect(journal.keptFlowing(partitions: kept, member: "first", between: "first revoked", and: "second assigned"),
                    "the kept partitions delivered during the rebalance")
        }

        /// Messages to every partition, a few every 20 ms, until told to stop.
        static func produceSteadily(_ producer: KafkaProducer, topic: String, until finished: @Sendable () -> Bool) async throws {
            var index = 0
            while !finished() {
                _ = try await producer.sendAll((0..<6).map {
                    KafkaProducerMessage(topic: topic, partition: Int32($0), key: nil as [UInt8]?, value: Array("m\(index)".utf8))
                })
                index += 1
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

/// One ordered record of what every member saw, so tests can ask what happened between two events.
private final class Journal: Sendable {
    enum Entry: Sendable { case event(String), message(member: String, partition: Int32) }
    private let state = Mutex<(entries: [Entry], finished: Bool)>(([], false))

    func record(_ entry: Entry) { state.withLock { $0.entries.append(entry) } }
    func finish() { state.withLock { $0.finished = true } }
    var isFinished: Bool { state.withLock { $0.finished } }

    func messages(of member: String) -> Int {
        state.withLock { $0.entries.filter { if case .message(member, _) = $0 { true } else { false } }.count }
    }

    func messagesSinceLastAssignment(of member: String) -> Int {
        state.withLock { state in
            let start = state.entries.lastIndex { if case .event("\(member) assigned") = $0 { true } else { false } } ?? 0
            return state.entries[start...].filter { if case .message(member, _) = $0 { true } else { false } }.count
        }
    }

    func keptFlowing(partitions: Set<Int>, member: String, between first: String, and second: String) -> Bool {
        state.withLock { state in
            guard let start = state.entries.firstIndex(where: { if case .event(first) = $0 { true } else { false } }),
                  let end = state.entries.firstIndex(where: { if case .event(second) = $0 { true } else { false } }), start < end
            else { return false }
            let seen = state.entries[start..<end].compactMap { entry -> Int? in
                guard case .message(member, let partition) = entry else { return nil }
                return Int(partition)
            }
            return Set(seen) == partitions
        }
    }

    func waitFor(_ what: String, _ condition: () -> Bool) async throws {
        try await waitUntil(what, timeout: .seconds(60), condition)
    }
}

/// A group member that records its assignments and messages in the journal.
private final class Member: KafkaRebalanceListener {
    let name: String
    let journal: Journal
    private let state = Mutex<(owned: Set<Int>, assigned: [Set<Int>], revoked: [Set<Int>], leaves: Bool)>(([], [], [], false))

    init(name: String, journal: Journal) {
        self.name = name
        self.journal = journal
    }

    var owned: Set<Int> { state.withLock { $0.owned } }
    var assigned: [Set<Int>] { state.withLock { $0.assigned } }
    var revoked: [Set<Int>] { state.withLock { $0.revoked } }
    var leaves: Bool { state.withLock { $0.leaves } }
    func leave() { state.withLock { $0.leaves = true } }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
        let set = Set(partitions.map { Int($0.partition) })
        // The cooperative protocol also reports rounds that give nothing new.
        guard !set.isEmpty else { return [:] }
        state.withLock { $0.owned.formUnion(set); $0.assigned.append(set) }
        journal.record(.event("\(name) assigned"))
        return Dictionary(partitions.map { ($0, KafkaOffset.end) }, uniquingKeysWith: { $1 })
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) {
        let set = Set(partitions.map { Int($0.partition) })
        state.withLock { $0.owned.subtract(set); $0.revoked.append(set) }
        journal.record(.event("\(name) revoked"))
    }

    func consume(_ configuration: KafkaConsumerConfiguration, topic: String, until done: @Sendable () -> Bool) async throws {
        let consumer = try KafkaConsumer(configuration: configuration, rebalanceListener: self, logger: testLogger)
        try await consumer.subscribe(topics: [topic])
        while !done() {
            for message in try await consumer.poll(maxMessages: 100, timeout: .milliseconds(50)).messages {
                journal.record(.message(member: name, partition: message.partition))
            }
        }
        await consumer.close()
    }
}
