import ArgumentParser
import Foundation
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import HeadcountSimulation
import Kafka
import Logging

/// `headcount simulate`: simulated attendees delivered as if live, through the adapters or
/// straight to Kafka, with the counting engine's expected result for exactly what was sent.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Send a seeded simulation of an event's attendees, each event when its moment comes under --clock.",
        discussion: """
            The traffic of HeadcountSimulation (join storm, latecomers, several devices, reconnects around the grace, \
            early leavers, missing and orphan leaves, heartbeats, retried deliveries minutes late, shuffled arrival). \
            Under a rehearsal clock (--clock rehearsal:START@SPEED) the event runs as if live, faster; under the wall \
            clock every past event is due at once (a load test). --expected FILE gets the counting engine's result \
            for exactly the deliveries sent, so a run checks itself against its certificate.
            """)

    enum Via: String, ExpressibleByArgument, CaseIterable {
        case kafka, canonical, zoom, webex, bbb, jitsi, cloudevents
    }

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var brokers: BrokersOption
    @OptionGroup var clock: ClockOption
    @OptionGroup var logging: LoggingOptions

    @Option(help: "Simulated participants.")
    var participants = 1_000

    @Option(help: "Seed of the simulation (the same seed gives the same deliveries).")
    var seed: UInt64 = 20_250_920

    @Option(help: ArgumentHelp("How events reach Headcount: \(Via.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "route"))
    var via: Via = .kafka

    @Option(help: ArgumentHelp("Base URL of `headcount ingest` (with --via other than kafka).", valueName: "url"))
    var ingest: String?

    @Option(help: ArgumentHelp("Write the expected result (JSON) here once everything is sent.", valueName: "file"))
    var expected: String?

    @Option(help: ArgumentHelp("Rewrite a one-line JSON progress file here every second (for scripts/rehearsal.sh).", valueName: "file"))
    var statusFile: String?

    @Flag(help: "End the story with the window: events after its end happen at its end (the same presence), repeats due after end + L are not sent, so a rehearsal ends before its last seal.")
    var endWithWindow = false

    func validate() throws {
        guard (1...10_000_000).contains(participants) else { throw ValidationError("--participants must be from 1 to 10000000") }
        if via != .kafka, ingest == nil { throw ValidationError("--via \(via.rawValue) needs --ingest URL of `headcount ingest`") }
    }

    func run() async throws {
        let logger = logging.bootstrap("headcount.simulate")
        let pipeline = try self.pipeline.load()
        let clock = try self.clock.load()
        let simulator = AttendeeSimulator(rules: pipeline.rules, pipelineID: pipeline.id, participants: participants, seed: seed)
        let deliveries = DeliverySchedule(seed: seed).deliveries(of: simulator, endingWithWindow: endWithWindow)
        say("\(participants) participants: \(deliveries.count) deliveries via \(via.rawValue), clock \(clock)"
            + (clock.isRehearsal ? " (a rehearsal)" : ""))
        let pacer = DeliveryPacer(clock: clock, statusFile: statusFile, say: say)
        let sent = try await withSink(pipeline: pipeline, logger: logger) { sink in
            try await pacer.send(deliveries, through: sink)
        }
        let result = ExpectedResult(pipeline: pipeline.id, participants: participants, seed: seed, sent: sent, rules: pipeline.rules)
        if let expected {
            try (result.json + "\n").write(toFile: expected, atomically: true, encoding: .utf8)
        }
        say("sent \(result.deliveries) deliveries (\(result.distinctEvents) distinct events); expected: \(result.summary)")
    }

    private func withSink<T: Sendable>(
        pipeline: Pipeline, logger: Logger, _ body: @Sendable (any DeliverySink) async throws -> T
    ) async throws -> T {
        switch via {
        case .kafka:
            var configuration = KafkaProducerConfiguration(bootstrapServers: try brokers.bootstrapServers())
            configuration.clientID = "headcount-simulate"
            configuration.additionalProperties = try brokers.properties()
            return try await KafkaProducer.withRunning(configuration: configuration, logger: logger) { producer in
                try await body(KafkaDeliverySink(publisher: CanonicalPublisher(pipeline: pipeline, producer: producer, logger: logger)))
            }
        case .canonical:
            return try await body(CanonicalDeliverySink(ingest: ingest ?? "", pipeline: pipeline))
        default:
            throw ValidationError("--via \(via.rawValue): not simulated yet; use --via canonical or --via kafka")
        }
    }

    private func say(_ text: String) {
        FileHandle.standardError.write(Data(("simulate: " + text + "\n").utf8))
    }
}
