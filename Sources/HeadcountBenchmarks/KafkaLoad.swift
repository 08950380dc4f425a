import HeadcountAdapters
import HeadcountPublisher
import HeadcountCore
import HeadcountPipeline
import HeadcountSimulation
import HeadcountStore
import HeadcountWorker
import Kafka
import Logging
import ServiceLifecycle

/// Stores simulated participants the way production does: published keyed by participant
/// into an embedded development cluster (the producer's murmur2 partitioner decides the
/// partition), then consumed by a real `Worker`, whose counting engine writes presence,
/// contributions and qualification changes.
///
/// A benchmark that measures what comes after the workers (sealing) thereby starts from the
/// rows the workers would have written, not from a second implementation of them.
struct KafkaLoad: Sendable {
    let pipeline: Pipeline
    let logger: Logger
    /// Participants generated and published at a time (bounds the load's memory).
    var chunk = 100_000
    /// Consumers of the worker that stores the load.
    var consumers = 2

    /// Publishes every participant's events, stores them, and returns how many messages the
    /// worker processed (each stored once; repeats and conflicts as the worker handles them).
    func store(_ simulator: AttendeeSimulator, into store: EventStore) async throws -> Int {
        let cluster = try KafkaDevCluster(brokerCount: 1, logger: logger)
        // The mock cluster lives as long as its object: keep it until the worker is done.
        defer { withExtendedLifetime(cluster) {} }
        try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
        let published = try await publish(simulator, to: cluster)
        try await checkRetained(published, cluster)
        try await consume(published, from: cluster, into: store)
        return published
    }

    private func publish(_ simulator: AttendeeSimulator, to cluster: KafkaDevCluster) async throws -> Int {
        let pipeline = self.pipeline, logger = self.logger, chunk = max(1, self.chunk)
        let configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        return try await KafkaProducer.withRunning(configuration: configuration, logger: logger) { producer in
            let publisher = CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger)
            var published = 0
            for start in stride(from: 0, to: simulator.participants, by: chunk) {
                published += try await publisher.publish(
                    simulator.events(forParticipants: start..<min(simulator.participants, start + chunk)))
            }
            return published
        }
    }

    /// Fails unless the topic still holds every message: the mock deletes silently past
    /// about 5 MB per partition.
    private func checkRetained(_ published: Int, _ cluster: KafkaDevCluster) async throws {
        let watcher = try KafkaConsumer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers, groupID: "bench-load-check"), logger: logger)
        var kept: Int64 = 0
        for partition in 0..<Int32(pipeline.kafka.partitions) {
            let marks = try await watcher.watermarks(for: KafkaTopicPartition(topic: pipeline.kafka.topic, partition: partition))
            kept += marks.high - marks.low
        }
        await watcher.close()
        guard kept == Int64(published) else {
            throw BenchFailure(description: """
                the development cluster kept \(kept) of \(published) messages (about 5 MB per partition): \
                pass a larger --partitions than \(pipeline.kafka.partitions)
                """)
        }
    }

    /// A worker from offset 0 until it processed every message, then a graceful stop.
    private func consume(_ expected: Int, from cluster: KafkaDevCluster, into store: EventStore) async throws {
        var configuration = WorkerConfiguration(pipeline: pipeline, bootstrapServers: cluster.bootstrapServers)
        configuration.concurrency = consumers
        let worker = Worker(configuration: configuration, store: store, logger: logger)
        let group = ServiceGroup(services: [worker], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var last = (processed: -1, at: ContinuousClock.now)
            while true {
                let totals = worker.statistics.snapshot
                let processed = totals.inserted + totals.duplicates + totals.conflictingDuplicates + totals.deadLetters + totals.rejected
                if processed >= expected { break }
                if processed != last.processed { last = (processed, .now) }
                guard ContinuousClock.now - last.at < .seconds(60) else {
                    await group.triggerGracefulShutdown()
                    throw BenchFailure(description: "the worker stalled at \(processed) of \(expected) messages")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
