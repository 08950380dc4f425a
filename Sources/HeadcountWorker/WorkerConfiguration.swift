import HeadcountPipeline
import Kafka

/// How a worker process consumes one pipeline's topic into PostgreSQL.
public struct WorkerConfiguration: Sendable {
    /// The pipeline whose topic is consumed and whose rules validate events.
    public var pipeline: Pipeline
    /// Kafka bootstrap servers, `host:port[,host:port]`.
    public var bootstrapServers: String
    /// The consumer group; default `headcount-<pipeline id>`. Every worker process of a
    /// pipeline joins the same group, so partitions are shared among all of them.
    public var groupID: String
    /// Consumers in this process; default 1. Each owns the partitions Kafka assigns it.
    public var concurrency: Int = 1
    /// Largest batch stored in one transaction; default 5,000 messages.
    public var maximumBatchSize: Int = 5_000
    /// Stored event ids each consumer remembers, at least, to tell new events from repeats;
    /// default 1,000,000 (at most twice that, about 16 bytes each, are held). New ones are
    /// written with one COPY; an id forgotten only costs its batch the slower duplicate check.
    public var recentEventIDs: Int = 1_000_000
    /// Most bytes of fetched messages a consumer holds ahead of what it stores; default
    /// 32 MiB. The back-pressure of a worker slower than its partitions: at the limit,
    /// librdkafka stops fetching from them (as a pause would) instead of buffering more.
    public var maximumPrefetchBytes: Int = 32 << 20
    /// How long one poll waits to fill a batch; default 200 ms (the latency added at low load).
    public var pollTimeout: Duration = .milliseconds(200)
    /// When set, the whole process stops (every consumer at once) after this long without
    /// messages: for the demo, tests and one-off catch-up runs. Default nil: run until shutdown.
    public var stopWhenIdleFor: Duration? = nil
    /// First wait before retrying PostgreSQL after a retriable error; default 100 ms,
    /// doubling up to `maximumRetryDelay`.
    public var initialRetryDelay: Duration = .milliseconds(100)
    /// Cap of the retry backoff; default 10 s.
    public var maximumRetryDelay: Duration = .seconds(10)
    /// The consumer group session timeout; default 6 s, the smallest a default Kafka broker
    /// accepts (`group.min.session.timeout.ms`). A member that dies is replaced after this
    /// long; a member that leaves cleanly is replaced at once.
    public var sessionTimeout: Duration = .seconds(6)
    /// How often each consumer tells the group it is alive; default 2 s. A rebalance reaches
    /// the members within one interval, so a round on Apache Kafka lasts about this long.
    /// Kept below a third of `sessionTimeout`.
    public var heartbeatInterval: Duration = .seconds(2)
    /// How partitions move between members; default `.cooperativeSticky`: a join or leave
    /// moves only the partitions that change owner, the others keep flowing.
    public var assignmentStrategy: KafkaAssignmentStrategy = .cooperativeSticky
    /// How long a batch whose partitions were revoked may keep retrying PostgreSQL before
    /// it is abandoned (the new owner re-reads it); default 5 s.
    public var revokedBatchDeadline: Duration = .seconds(5)
    /// librdkafka properties passed through unchanged (SASL, TLS, tuning).
    public var kafkaProperties: [String: String] = [:]

    public init(pipeline: Pipeline, bootstrapServers: String, groupID: String? = nil) {
        self.pipeline = pipeline
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID ?? "headcount-\(pipeline.id)"
    }

    func consumerConfiguration(index: Int) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: groupID)
        configuration.clientID = "headcount-worker-\(index)"
        configuration.sessionTimeout = sessionTimeout
        configuration.heartbeatInterval = min(heartbeatInterval, sessionTimeout / 3)
        configuration.assignmentStrategy = assignmentStrategy
        // Events carry everything in their JSON; the `source` header is for other readers.
        configuration.copiesHeaders = false
        configuration.additionalProperties = [
            "queued.max.messages.kbytes": String(max(1, maximumPrefetchBytes >> 10)),
            // How long a broker may hold a fetch that found nothing new (default 500 ms). A
            // broker connection has one fetch in flight, so a partition resumed on it (a move)
            // or filling again after a quiet spell waits for the one held; 100 ms bounds that
            // for ten idle fetches a second per broker.
            "fetch.wait.max.ms": "100",
        ]
            .merging(kafkaProperties) { _, explicit in explicit }
        return configuration
    }
}
