import Kafka
import Testing

extension KafkaIntegrationTests {
    @Suite struct ProducerConsumer {
        let cluster: KafkaDevCluster

        init() throws {
            cluster = try KafkaDevCluster(brokerCount: 3, logger: testLogger)
        }

        @Test("keyed messages with headers are acknowledged and consumed back intact")
        func produceAndConsume() async throws {
            let topic = uniqueTopic("roundtrip")
            try await cluster.createTopic(topic, partitions: 4)
            let messages = makeMessages(topic: topic, count: 300)
            let (reports, single) = try await withProducer(producerConfiguration(cluster)) { producer in
                let reports = try await producer.sendAll(Array(messages.dropLast()))
                let single = try await producer.send(messages.last!)
                return (reports, single)
            }
            #expect(reports.count == 299)
            #expect(reports.allSatisfy { $0.topic == topic && $0.offset >= 0 && (0..<4).contains($0.partition) })
            #expect(single.topic == topic && single.offset >= 0)
            // Equal keys land in one partition, so per key the partitions agree.
            let allReports = reports + [single]
            var partitionOfKey: [String: Int32] = [:]
            for (message, report) in zip(messages, allReports) {
                let key = String(decoding: message.key!, as: UTF8.self)
                #expect(partitionOfKey[key, default: report.partition] == report.partition)
                partitionOfKey[key] = report.partition
            }

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "g-\(topic)"), logger: testLogger)
            try await consumer.subscribe(topics: [topic])
            let (consumed, others) = try await consume(consumer, count: messages.count)
            await consumer.close()

            #expect(others.isEmpty)
            #expect(consumed.count == messages.count)
            let byValue = Dictionary(uniqueKeysWithValues: consumed.map { ($0.value, $0) })
            for (message, report) in zip(messages, allReports) {
                let received = try #require(byValue[message.value])
                #expect(received.key == message.key)
                #expect(received.headers == message.headers)
                #expect(received.partition == report.partition)
                #expect(received.offset == report.offset)
                #expect(received.timestamp?.kind == .createTime)
            }
        }

        @Test("a queue far smaller than the batch applies back-pressure and loses nothing")
        func backPressure() async throws {
            let topic = uniqueTopic("backpressure")
            try await cluster.createTopic(topic, partitions: 2)
            var configuration = producerConfiguration(cluster)
            configuration.maxQueuedMessages = 10
            let messages = makeMessages(topic: topic, count: 2_000)
            let reports = try await withProducer(configuration) { try await $0.sendAll(messages) }
            #expect(reports.count == messages.count)
            #expect(Set(reports.map { "\($0.partition)/\($0.offset)" }).count == messages.count)

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "g-\(topic)"), logger: testLogger)
            try await consumer.subscribe(topics: [topic])
            let (consumed, _) = try await consume(consumer, count: messages.count)
            await consumer.close()
            #expect(Set(consumed.map(\.text)) == Set(messages.map { String(decoding: $0.value, as: UTF8.self) }))
        }

        @Test("watermarks, pause/resume, seek and partition EOF")
        func positionControl() async throws {
            let topic = uniqueTopic("positions")
            try await cluster.createTopic(topic, partitions: 1)
            let partition = KafkaTopicPartition(topic: topic, partition: 0)
            try await withProducer(producerConfiguration(cluster)) { _ = try await $0.sendAll(makeMessages(topic: topic, count: 50)) }

            var configuration = consumerConfiguration(cluster, group: "g-\(topic)")
            configuration.reportsPartitionEOF = true
            let consumer = try KafkaConsumer(configuration: configuration, logger: testLogger)
            try await consumer.subscribe(topics: [topic])
            #expect(try await consumer.watermarks(for: partition) == KafkaWatermarks(low: 0, high: 50))
            let first = try await consume(consumer, count: 50)
            #expect(first.messages.map(\.offset) == Array(0..<50))
            #expect(try await consumer.assignment() == [partition])

            // Caught up: an EOF record says where the next message will be.
            var eof: [KafkaConsumerRecord] = first.others
            for _ in 0..<10 where eof.isEmpty { eof += try await consumer.poll(maxMessages: 10, timeout: .milliseconds(200)) }
            #expect(eof.contains(.partitionEOF(partition, nextOffset: 50)))

            try await consumer.pause([partition])
            try await withProducer(producerConfiguration(cluster)) { _ = try await $0.sendAll(makeMessages(topic: topic, count: 30, offset: 50)) }
            let whilePaused = try await consume(consumer, count: 1, within: .seconds(2))
            #expect(whilePaused.messages.isEmpty)
            try await consumer.resume([partition])
            let resumed = try await consume(consumer, count: 30)
            #expect(resumed.messages.map(\.offset) == Array(50..<80))
            // The fetch that brought them reported the high watermark: no broker round trip.
            #expect(try await consumer.cachedHighWatermark(for: partition) == 80)

            try await consumer.seek(partition, to: KafkaOffset(10))
            let replay = try await consume(consumer, count: 70)
            #expect(replay.messages.map(\.offset) == Array(10..<80))
            try await consumer.commit([partition: 80])
            #expect(try await consumer.committedOffsets(for: [partition]) == [partition: KafkaOffset(80)])
            await consumer.close()
            await #expect(throws: KafkaError.self) { try await consumer.poll(maxMessages: 1, timeout: .zero) }
        }
    }
}
