import HeadcountTestSupport
import Kafka
import Synchronization
import Testing

extension KafkaIntegrationTests {
    @Suite struct Rebalance {
        let cluster: KafkaDevCluster

        init() throws {
            cluster = try KafkaDevCluster(brokerCount: 3, logger: testLogger)
        }

        @Test("the listener's offsets decide where each assigned partition starts")
        func listenerOffsetsAreHonoured() async throws {
            let topic = uniqueTopic("listener")
            try await cluster.createTopic(topic, partitions: 2)
            let messages = (0..<40).map { KafkaProducerMessage(topic: topic, partition: Int32($0 % 2), key: nil as [UInt8]?, value: Array("\($0)".utf8)) }
            try await withProducer(producerConfiguration(cluster)) { _ = try await $0.sendAll(messages) }

            let zero = KafkaTopicPartition(topic: topic, partition: 0)
            let one = KafkaTopicPartition(topic: topic, partition: 1)
            let listener = RecordingListener { _ in [zero: KafkaOffset(7), one: .beginning] }
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "g-\(topic)"), rebalanceListener: listener, logger: testLogger)
            try await consumer.subscribe(topics: [topic])
            let (consumed, _) = try await consume(consumer, count: 20 - 7 + 20)
            await consumer.close()

            #expect(consumed.filter { $0.partition == 0 }.map(\.offset) == Array(7..<20))
            #expect(consumed.filter { $0.partition == 1 }.map(\.offset) == Array(0..<20))
            #expect(listener.assignments.first?.sorted() == [zero, one])
            #expect(listener.revocations.last?.sorted() == [zero, one], "close() revokes through the listener")
        }

        @Test("an out-of-range start offset is reported as an error, not skipped silently")
        func offsetOutOfRangeIsDetectable() async throws {
            let topic = uniqueTopic("out-of-range")
            try await cluster.createTopic(topic, partitions: 1)
            try await withProducer(producerConfiguration(cluster)) { _ = try await $0.sendAll(makeMessages(topic: topic, count: 5)) }
            let partition = KafkaTopicPartition(topic: topic, partition: 0)
            var configuration = consumerConfiguration(cluster, group: "g-\(topic)")
            configuration.autoOffsetReset = .error
            let listener = RecordingListener { _ in [partition: KafkaOffset(1_000)] }
            let consumer = try KafkaConsumer(configuration: configuration, rebalanceListener: listener, logger: testLogger)
            try await consumer.subscribe(topics: [topic])
            var errors: [KafkaError] = []
            for _ in 0..<50 where errors.isEmpty {
                errors += try await consumer.poll(maxMessages: 10, timeout: .milliseconds(200)).errors
            }
            let error = try #require(errors.first)
            #expect(error.isOffsetOutOfRange)
            #expect(error.topic == topic && error.partition == 0)

            // The application recovers by choosing a position itself.
            try await consumer.seek(partition, to: .beginning)
            let (consumed, _) = try await consume(consumer, count: 5)
            #expect(consumed.map(\.offset) == Array(0..<5))
            await consumer.close()
        }

        @Test("two members across rebalances: every message once, from the stored positions")
        func twoConsumersShareTheTopic() async throws {
            let topic = uniqueTopic("group")
            try await cluster.createTopic(topic, partitions: 4)
            let waves = (0..<3).map { makeMessages(topic: topic, count: 400, keys: 64, offset: $0 * 400) }
            let produce: @Sendable (Int) async throws -> Void = { wave in
                try await withProducer(producerConfiguration(cluster)) { _ = try await $0.sendAll(waves[wave]) }
            }
            try await produce(0)

            // The application's own offset store, as the worker keeps it with its results.
            let progress = GroupProgress()
            let startFromStore: @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] = { progress.startOffsets(for: $0) }
            let firstListener = RecordingListener(startOffsets: startFromStore)
            let secondListener = RecordingListener(startOffsets: startFromStore)
            let configuration = consumerConfiguration(cluster, group: "g-\(topic)")
            let first = try KafkaConsumer(configuration: configuration, rebalanceListener: firstListener, logger: testLogger)
            try await first.subscribe(topics: [topic])
            while progress.seenCount < 100 { try await progress.process(first.poll(maxMessages: 10, timeout: .milliseconds(100)), by: 0) }

            let second = try KafkaConsumer(configuration: configuration, rebalanceListener: secondListener, logger: testLogger)
            try await second.subscribe(topics: [topic])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await progress.consume(with: first, as: 0)
                    await first.close()
                }
                group.addTask { try await progress.consume(with: second, as: 1) }
                // Wave 1 arrives once both members share the topic, wave 2 once the first has left.
                try await progress.waitUntil { secondListener.assignments.count >= 1 }
                try await produce(1)
                try await progress.waitUntil { progress.seenCount >= 800 }
                progress.stop(0)
                try await produce(2)
                try await progress.waitUntil { progress.seenCount >= 1_200 }
                progress.stop(1)
                try await group.waitForAll()
            }
            await second.close()

            let counts = progress.seen
            #expect(counts.count == 1_200, "every message seen")
            #expect(counts.values.allSatisfy { $0 == 1 }, "no message seen twice: \(counts.filter { $0.value > 1 }.count) duplicates")
            #expect(progress.processed(by: 0) > 0 && progress.processed(by: 1) > 0, "both members consumed")
            #expect(firstListener.revocations.count >= 2, "the first member lived through the second's join, then left")
            // Cooperative assignments are increments: together they make up the whole topic.
            #expect(Set(secondListener.assignments.joined()).count == 4, "the second member took over every partition")
        }
    }
}

/// What the two group members processed, and the positions they stored with it.
private final class GroupProgress: Sendable {
    private let state = Mutex<(stored: [KafkaTopicPartition: Int64], seen: [String: Int], byMember: [Int: Int], stopped: Set<Int>)>(([:], [:], [:], []))

    /// Records a batch and, with it, the next position of each partition (like a worker's commit),
    /// taking a little time as real processing does, so that rebalances land mid-stream.
    func process(_ batch: [KafkaConsumerRecord], by member: Int) async throws {
        state.withLock { state in
            for message in batch.messages {
                state.seen[message.text, default: 0] += 1
                state.stored[message.topicPartition] = message.offset + 1
                state.byMember[member, default: 0] += 1
            }
        }
        if !batch.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
    }

    func processed(by member: Int) -> Int { state.withLock { $0.byMember[member] ?? 0 } }
    func stop(_ member: Int) { state.withLock { _ = $0.stopped.insert(member) } }

    /// One member's poll loop, until it is told to stop.
    func consume(with consumer: KafkaConsumer, as member: Int) async throws {
        while !isStopped(member) {
            try await process(consumer.poll(maxMessages: 10, timeout: .milliseconds(100)), by: member)
        }
    }
    func isStopped(_ member: Int) -> Bool { state.withLock { $0.stopped.contains(member) } }

    /// Waits (bounded) for a condition the members' progress will make true.
    func waitUntil(_ condition: () -> Bool, _ what: String = "the members' progress") async throws {
        try await HeadcountTestSupport.waitUntil(what, timeout: .seconds(45), condition)
    }

    func startOffsets(for partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: KafkaOffset] {
        state.withLock { state in
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset(state.stored[$0] ?? 0)) })
        }
    }

    var seenCount: Int { state.withLock { $0.seen.count } }
    var seen: [String: Int] { state.withLock { $0.seen } }
}
