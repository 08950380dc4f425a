import Kafka
import Testing

/// Configuration errors: no broker needed.
@Suite struct KafkaConfigurationTests {
    @Test("an unknown librdkafka property is refused with an error naming it")
    func unknownProperty() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: "localhost:9092")
        configuration.additionalProperties = ["no.such.property": "1"]
        let error = try #require(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: testLogger) }
        #expect(error.property == "no.such.property")
        #expect(error.code == .invalidArgument)
        #expect(!error.isRetriable)
        #expect(error.description.contains("no.such.property"))
    }

    @Test("an invalid value is refused, naming the property")
    func invalidValue() throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "localhost:9092", groupID: "g")
        configuration.additionalProperties = ["fetch.max.bytes": "lots"]
        let error = try #require(throws: KafkaError.self) { try KafkaConsumer(configuration: configuration, logger: testLogger) }
        #expect(error.property == "fetch.max.bytes")
        #expect(error.description.contains("fetch.max.bytes"))
    }

    @Test("typed fields own their keys: additionalProperties cannot turn idempotence or manual offsets off")
    func managedKeysAreProtected() throws {
        var producer = KafkaProducerConfiguration(bootstrapServers: "localhost:9092")
        producer.additionalProperties = ["enable.idempotence": "false"]
        let producerError = try #require(throws: KafkaError.self) { try KafkaProducer(configuration: producer, logger: testLogger) }
        #expect(producerError.property == "enable.idempotence")

        var consumer = KafkaConsumerConfiguration(bootstrapServers: "localhost:9092", groupID: "g")
        consumer.additionalProperties = ["partition.assignment.strategy": "cooperative-sticky"]
        let consumerError = try #require(throws: KafkaError.self) { try KafkaConsumer(configuration: consumer, logger: testLogger) }
        #expect(consumerError.property == "partition.assignment.strategy")
    }

    @Test("fields are validated where they are built, naming the field")
    func fieldValidation() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: " ")
        var error = try #require(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: testLogger) }
        #expect(error.property == "bootstrap.servers" && error.message.contains("bootstrapServers"))

        configuration = KafkaProducerConfiguration(bootstrapServers: "localhost:9092")
        configuration.messageTimeout = .zero
        error = try #require(throws: KafkaError.self) { try KafkaProducer(configuration: configuration, logger: testLogger) }
        #expect(error.property == "message.timeout.ms" && error.message.contains("messageTimeout"))
    }

    @Test("secrets never appear in descriptions or errors")
    func secretsAreRedacted() throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "localhost:9092", groupID: "g")
        configuration.additionalProperties = [
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": "headcount",
            "sasl.password": "hunter2",
        ]
        #expect(!configuration.description.contains("hunter2"))
        #expect(configuration.description.contains("sasl.username=headcount"))
        #expect(configuration.description.contains("sasl.password=[REDACTED]"))

        configuration.additionalProperties = ["ssl.key.password": "hunter2", "sasl.oauthbearer.client.secret": "hunter2"]
        configuration.additionalProperties["ssl.key.pem"] = "hunter2"
        #expect(!configuration.description.contains("hunter2"))
    }

    @Test("error codes carry librdkafka's names and retriability")
    func errorCodes() {
        #expect(KafkaError.Code.offsetOutOfRange.name == "OFFSET_OUT_OF_RANGE")
        #expect(KafkaError.Code.queueFull.name == "_QUEUE_FULL")
        #expect(KafkaError(code: .transport, message: "down").isRetriable)
        #expect(!KafkaError(code: .topicAlreadyExists, message: "exists").isRetriable)
        #expect(KafkaError(code: .autoOffsetReset, message: "gap", topic: "t", partition: 3, offset: 9).isOffsetOutOfRange)
    }
}
