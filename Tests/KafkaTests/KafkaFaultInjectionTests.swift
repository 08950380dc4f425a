import Kafka
import Testing

extension KafkaIntegrationTests {
    @Suite struct FaultInjection {
        let cluster: KafkaDevCluster

        init() throws {
            cluster = try KafkaDevCluster(brokerCount: 3, logger: testLogger)
        }

        /// Consumes the whole topic and checks that it holds exactly the sent values, once each.
        private func expectTopicHoldsExactly(_ messages: [KafkaProducerMessage], topic: String) async throws {
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "g-\(topic)"), logger: testLogger)
            try await consumer.subscribe(topics: [topic])
            let (consumed, _) = try await consume(consumer, count: messages.count)
            // Give late duplicates, if any, a chance to show up.
            let extra = try await consumer.poll(maxMessages: 100, timeout: .milliseconds(500)).messages
            await consumer.close()
            #expect((consumed + extra).map(\.text).sorted() == messages.map { String(decoding: $0.value, as: UTF8.self) }.sorted())
        }

        @Test("all brokers down during production, then up: every message delivered once")
        func brokersDownThenUp() async throws {
            let topic = uniqueTopic("broker-down")
            try await cluster.createTopic(topic, partitions: 3)
            let before = makeMessages(topic: topic, count: 100)
            let during = makeMessages(topic: topic, count: 400, offset: 100)
            try await withProducer(producerConfiguration(cluster)) { producer in
                _ = try await producer.sendAll(before)
                try await cluster.setBrokerDown(-1)
                try await withThrowingTaskGroup(of: [KafkaDeliveryReport].self) { group in
                    group.addTask { try await producer.sendAll(during) }
                    try await Task.sleep(for: .seconds(2))
                    #expect(producer.outstandingMessageCount > 0, "nothing can be acknowledged while brokers are down")
                    try await cluster.setBrokerUp(-1)
                    let reports = try await group.next()!
                    #expect(reports.count == during.count)
                }
            }
            try await expectTopicHoldsExactly(before + during, topic: topic)
        }

        @Test("retriable Produce errors are retried until delivered, without duplicates")
        func retriableProduceErrors() async throws {
            let topic = uniqueTopic("produce-errors")
            try await cluster.createTopic(topic, partitions: 1)
            let messages = makeMessages(topic: topic, count: 50)
            try await withProducer(producerConfiguration(cluster)) { producer in
                _ = try await producer.send(KafkaProducerMessage(topic: topic, key: "warm-up", value: [1]))
                try await cluster.pushRequestErrors(
                    apiKey: .produce,
                    errors: [.init(rawValue: 6), .init(rawValue: 7), .init(rawValue: 19), .transport]  // not leader, timed out, not enough replicas
                )
                let reports = try await producer.sendAll(messages)
                #expect(reports.count == messages.count)
            }
            try await expectTopicHoldsExactly([KafkaProducerMessage(topic: topic, key: "warm-up", value: [1])] + messages, topic: topic)
        }
    }
}
