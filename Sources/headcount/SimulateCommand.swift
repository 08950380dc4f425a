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
            --via zoom|webex|bbb|jitsi|cloudevents sends each connection's joins and leaves as that platform's signed \
            webhooks (heartbeats of platforms without them through the canonical route, as a poller would); --via mix \
            puts each connection on a platform by share (canonical 35 %, CloudEvents 15 %, BigBlueButton 15 %, Zoom 20 %, \
            Webex 8 %, Jitsi 7 %), one e-mail per teacher across them. \
            Under a rehearsal clock (--clock rehearsal:START@SPEED) the event runs as if live, faster; under the wall \
            clock every past event is due at once (a load test). --expected FILE gets the counting engine's result \
            for exactly the deliveries sent, so a run checks itself against its certificate.
            """)

    enum Via: String, ExpressibleByArgument, CaseIterable {
        case kafka, canonical, zoom, webex, bbb, jitsi, cloudevents, mix

        /// The platforms of the connections, by share (percent).
        var platforms: [(SimulatedPlatform, Int)] {
            switch self {
            case .mix: SimulatedPlatform.mix
            case .kafka: []
            default: [(SimulatedPlatform(rawValue: rawValue)!, 100)]
            }
        }
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

    @Option(help: ArgumentHelp(
        "Confirm connections that send no heartbeats of their own this often (seconds; 0: never). Default: under a rehearsal clock with rules.heartbeatTimeout H, H + (L − 20 s) / 2, the longest silence a live seal absorbs; otherwise never.",
        valueName: "seconds"))
    var keepAlive: Double?

    @Option(help: ArgumentHelp(
        "Under a rehearsal clock, say loudly and exit 3 when deliveries are answered more than this long (event-time seconds) after they were due. Default (L − 20 s) / 2.",
        valueName: "seconds"))
    var behindLimit: Double?

    func validate() throws {
        if let keepAlive, !(keepAlive >= 0) { throw ValidationError("--keep-alive must be 0 or more seconds") }
        if let behindLimit, !(behindLimit > 0) { throw ValidationError("--behind-limit must be more than 0 seconds") }
        guard (1...10_000_000).contains(participants) else { throw ValidationError("--participants must be from 1 to 10000000") }
        if via != .kafka, ingest == nil { throw ValidationError("--via \(via.rawValue) needs --ingest URL of `headcount ingest`") }
    }

    func run() async throws {
        let logger = logging.bootstrap("headcount.simulate")
        let pipeline = try self.pipeline.load()
        let clock = try self.clock.load()
        let schedule = DeliverySchedule(seed: seed)
        let profile = self.profile(rules: pipeline.rules, clock: clock, schedule: schedule)
        let simulator = AttendeeSimulator(rules: pipeline.rules, pipelineID: pipeline.id, participants: participants, seed: seed, profile: profile)
        let deliveries = schedule.deliveries(of: simulator, endingWithWindow: endWithWindow)
        say("\(participants) participants: \(deliveries.count) deliveries via \(via.rawValue), clock \(clock)"
            + (clock.isRehearsal ? " (a rehearsal)" : "")
            + (profile.keepAlivePeriod.map { "; connections without heartbeats confirmed every \(PacerReporter.seconds($0)) s" } ?? ""))
        let slack = pipeline.rules.allowedLateness.wholeMilliseconds - schedule.arrivalJitter.wholeMilliseconds
        let limit = behindLimit.map { Duration.milliseconds(Int64($0 * 1000)) } ?? .milliseconds(max(1_000, slack / 2))
        let pacer = DeliveryPacer(clock: clock, statusFile: statusFile, say: say, behindLimit: limit)
        let run = try await withSink(pipeline: pipeline, clock: clock, logger: logger) { sink in
            try await pacer.send(deliveries, through: sink)
        }
        let result = ExpectedResult(pipeline: pipeline.id, participants: participants, seed: seed, sent: run.sent, rules: pipeline.rules)
        let keptSchedule = !clock.isRehearsal || run.maximumBehind <= limit
        if let expected {
            let json = String(result.json.dropLast()) + ", \"max_behind_s\": \(PacerReporter.seconds(run.maximumBehind)), \"kept_schedule\": \(keptSchedule)}"
            try (json + "\n").write(toFile: expected, atomically: true, encoding: .utf8)
        }
        say("sent \(result.deliveries) deliveries (\(result.distinctEvents) distinct events) at \(Int(run.deliveriesPerSecond))/s, "
            + "at most \(PacerReporter.seconds(run.maximumBehind)) s of event time behind schedule; expected: \(result.summary)")
        guard keptSchedule else {
            say("FELL BEHIND SCHEDULE: deliveries were answered up to \(PacerReporter.seconds(run.maximumBehind)) s of event time after they were due "
                + "(limit \(PacerReporter.seconds(limit)) s), so this run does not show the pipeline keeping up live; send fewer participants or a lower speed")
            throw ExitCode(3)
        }
    }

    /// The story: the standard one, with keep-alives for a live rehearsal under a heartbeat timeout.
    private func profile(rules: CountingRules, clock: ProcessingClock, schedule: DeliverySchedule) -> AttendeeProfile {
        var profile = AttendeeProfile.standard
        if let keepAlive {
            profile.keepAlivePeriod = keepAlive > 0 ? .milliseconds(Int64(keepAlive * 1000)) : nil
        } else if clock.isRehearsal {
            profile.keepAlivePeriod = AttendeeProfile.keepAliveFor(rules: rules, arrivalJitter: schedule.arrivalJitter)
        }
        return profile
    }

    private func withSink<T: Sendable>(
        pipeline: Pipeline, clock: ProcessingClock, logger: Logger, _ body: @Sendable (any DeliverySink) async throws -> T
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
        case .zoom, .webex, .bbb, .jitsi, .cloudevents, .mix:
            let sink = try PlatformDeliverySink(ingest: ingest ?? "", pipeline: pipeline, clock: clock, mix: via.platforms)
            do {
                return try await body(sink)
            } catch {
                try? await sink.close()
                throw error
            }
        }
    }

    private func say(_ text: String) {
        FileHandle.standardError.write(Data(("simulate: " + text + "\n").utf8))
    }
}
