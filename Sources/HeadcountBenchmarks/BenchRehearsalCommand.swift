import ArgumentParser
import Foundation
import HeadcountAdapters
import HeadcountPublisher
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountSimulation
import HeadcountStore
import Kafka
import Logging

/// `headcount bench rehearsal`: the load half of a million-participant rehearsal, and its
/// lag sampler. The workers and reporters are separate `headcount work` / `report`
/// processes (scripts/rehearsal-1m.sh starts them, kills a reporter, reads their RSS).
struct BenchRehearsalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rehearsal",
        abstract: "Publish a join storm with heartbeats straight to Kafka, as if live, sampling consumer lag.",
        discussion: """
            Every participant joins once within --join-within seconds of the window's start and sends a heartbeat \
            every --heartbeat seconds until its end (JoinStorm: generated in time order, in constant memory). Each \
            event is published when its moment comes under --clock. Every --sample-every seconds: what was published, \
            Kafka's high watermarks against the stored offsets (the lag), and the sealed buckets, as one JSON line \
            to --samples. After the last event it waits until the workers stored everything, then prints the summary.
            """)

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var brokers: BrokersOption
    @OptionGroup var database: DatabaseOption
    @OptionGroup var clock: ClockOption
    @OptionGroup var logging: LoggingOptions

    @Option(help: "Participants.")
    var participants = 1_000_000

    @Option(help: ArgumentHelp("Every participant has joined this many seconds after the window's start.", valueName: "seconds"))
    var joinWithin = 600

    @Option(help: ArgumentHelp("Heartbeat period.", valueName: "seconds"))
    var heartbeat = 30

    @Option(help: ArgumentHelp("Seconds between two samples.", valueName: "seconds"))
    var sampleEvery = 10

    @Option(help: ArgumentHelp("Append each sample here as a JSON line.", valueName: "file"))
    var samples: String?

    @Option(help: ArgumentHelp("After the last event, wait at most this long for the workers to store everything.", valueName: "seconds"))
    var drainTimeout = 600

    @Option(help: "Seed of the join moments.")
    var seed: UInt64 = 20_261_203

    func validate() throws {
        guard (1...10_000_000).contains(participants) else { throw ValidationError("--participants must be from 1 to 10000000") }
        guard joinWithin >= 0, heartbeat >= 1, sampleEvery >= 1 else {
            throw ValidationError("--join-within must be ≥ 0, --heartbeat and --sample-every ≥ 1")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap("headcount.bench")
        let pipeline = try self.pipeline.load()
        let clock = try self.clock.load()
        var storm = JoinStorm(
            pipelineID: pipeline.id, participants: participants, start: pipeline.rules.windowStart, end: pipeline.rules.windowEnd,
            seed: seed)
        storm.joinWithin = .seconds(joinWithin)
        storm.heartbeatPeriod = .seconds(heartbeat)
        let load = storm
        let total = storm.eventCount
        say("\(thousands(participants)) participants joining within \(joinWithin) s, heartbeats every \(heartbeat) s: \(thousands(total)) events into \(pipeline.kafka.topic) (\(pipeline.kafka.partitions) partitions), clock \(clock)")
        let bootstrap = try brokers.bootstrapServers()
        let kafka = try KafkaHighWatermarkSource(
            configuration: KafkaAdminConfiguration(bootstrapServers: bootstrap), topic: pipeline.kafka.topic, logger: logger)
        let sampler = RehearsalSampler(pipeline: pipeline, kafka: kafka, file: samples, say: say)
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrap)
        configuration.clientID = "headcount-rehearsal"
        configuration.additionalProperties = try brokers.properties()
        let producerConfiguration = configuration
        try await EventStore.withRunning(url: try database.url(), maximumConnections: 2, logger: logger) { store in
            let published = try await KafkaProducer.withRunning(configuration: producerConfiguration, logger: logger) { producer in
                let publisher = CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger)
                return try await withThrowingTaskGroup(of: Int.self) { group in
                    group.addTask { try await sampler.run(store: store, clock: clock, every: .seconds(sampleEvery)) }
                    defer { group.cancelAll() }
                    let published = try await Self.publish(load, clock: clock, publisher: publisher, sampler: sampler)
                    sampler.finishedPublishing(published)
                    return published
                }
            }
            try await sampler.drain(store: store, clock: clock, expected: published, timeout: .seconds(drainTimeout))
            print(sampler.summary(events: published, participants: participants, steadyFrom: pipeline.rules.windowStart + .seconds(joinWithin)))
        }
    }

    /// Sends each event when its moment comes; returns how many were acknowledged.
    static func publish(_ storm: JoinStorm, clock: ProcessingClock, publisher: CanonicalPublisher, sampler: RehearsalSampler) async throws -> Int {
        var cursor = JoinStorm.Cursor(storm: storm)
        var published = 0
        let speed = if case .rehearsal(_, let speed, _) = clock.mode { speed } else { 1.0 }
        while let next = cursor.nextMoment {
            try Task.checkCancellation()
            let now = clock.now(wall: ClockOption.wallNow())
            guard next <= now else {
                // Both in event time: a rehearsal clock at speed s waits 1/s of it.
                let wait = Double(next.milliseconds - now.milliseconds) / speed
                try await Task.sleep(for: .milliseconds(Int64(min(100, max(1, wait)))))
                continue
            }
            // Large enough to keep up with a burst, small enough that acknowledgements flow.
            let events = cursor.next(through: now, limit: 20_000)
            published += try await publisher.publish(events)
            sampler.published(published, through: events.last?.at ?? now)
        }
        return published
    }

    private func say(_ text: String) {
        print("bench rehearsal: " + text)
        fflush(nil)  // nil: every output stream, so the lines show as they come in a log file
    }
}
