import Foundation
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import HeadcountSimulation
import Kafka
import Logging
import Synchronization

/// Where simulated deliveries go: Kafka directly, or the routes of `headcount ingest`.
protocol DeliverySink: Sendable {
    /// The most deliveries one request (or produce call) carries.
    var deliveriesPerRequest: Int { get }
    /// Requests in flight at once.
    var concurrentRequests: Int { get }
    /// The requests for one run of deliveries, and the events Kafka will carry for them (the
    /// adapters' identity rules applied): what the expected result is computed from.
    func prepare(_ deliveries: ArraySlice<ScheduledDelivery>) throws -> PreparedDeliveries
    /// Flushes and releases what the sink holds.
    func close() async throws
}

/// One run of deliveries, ready to go.
struct PreparedDeliveries: Sendable {
    /// The events as Kafka will carry them.
    var events: [Event]
    /// Sends them; returns once every one was acknowledged (Kafka) or accepted (HTTP 2xx).
    var send: @Sendable () async throws -> Void
}

/// What a paced run sent, and whether it kept its schedule.
struct PacedRun: Sendable {
    /// The translated events in schedule order: what the expected result is computed from.
    var sent: [Event]
    /// The most any request was answered after its first delivery was due (event time).
    var maximumBehind: Duration
    /// Deliveries answered per wall second over the whole run.
    var deliveriesPerSecond: Double
}

/// Sends each delivery when its moment comes under the clock, several requests in flight
/// (`DeliveryDispatcher` decides what goes next), and says loudly when it falls behind.
struct DeliveryPacer: Sendable {
    let clock: ProcessingClock
    let statusFile: String?
    let say: @Sendable (String) -> Void
    /// Falling further behind schedule than this (event time) is reported as it happens and
    /// at the end: events that late may reach Kafka after their minute can be sealed.
    var behindLimit: Duration
    /// How long a due delivery may wait for company, in wall time; default 20 ms.
    var lingerWall: Duration = .milliseconds(20)

    private struct Progress {
        var dispatcher: DeliveryDispatcher
        var translated: [Int: [Event]] = [:]
        var answered = 0
        var lastBehind: Duration = .zero
    }

    /// The pacer loop and the request tasks share the dispatcher.
    private final class SharedProgress: Sendable {
        let mutex: Mutex<Progress>
        init(_ progress: Progress) { mutex = Mutex(progress) }
        func withLock<T: Sendable>(_ body: (inout Progress) -> T) -> T { mutex.withLock { body(&$0) } }
    }

    func send(_ deliveries: [ScheduledDelivery], through sink: any DeliverySink) async throws -> PacedRun {
        let started = ClockOption.wallNow()
        let speed = clock.speed
        let dispatcher = DeliveryDispatcher(
            deliveries: deliveries, maximumDeliveries: sink.deliveriesPerRequest,
            linger: .milliseconds(Int64(Double(lingerWall.wholeMilliseconds) * speed)))
        let progress = SharedProgress(Progress(dispatcher: dispatcher))
        var report = PacerReporter(started: started, total: deliveries.count)
        try await withThrowingDiscardingTaskGroup { group in
            while true {
                try Task.checkCancellation()
                let wall = ClockOption.wallNow()
                let now = clock.now(wall: wall)
                let action = progress.withLock { state in
                    state.dispatcher.nextAction(now: now, freeSlots: sink.concurrentRequests - state.dispatcher.inFlight)
                }
                switch action {
                case .finished:
                    return
                case .send(let request):
                    group.addTask {
                        let prepared = try sink.prepare(deliveries[request.range])
                        let events = prepared.events
                        try await prepared.send()
                        let answeredAt = clock.now(wall: ClockOption.wallNow())
                        progress.withLock { state in
                            state.lastBehind = state.dispatcher.answered(request, now: answeredAt)
                            state.translated[request.range.lowerBound] = events
                            state.answered += request.range.count
                        }
                    }
                    continue
                case .wait(let until):
                    // Until the next delivery is due (at most 50 ms), or briefly for an answer.
                    let due = until.map { clock.wallTime(of: $0, anchoredAt: started).milliseconds - wall.milliseconds } ?? 2
                    try await Task.sleep(for: .milliseconds(min(50, max(1, due))))
                }
                let (answered, behind) = progress.withLock { state in
                    (state.answered, max(state.lastBehind, state.dispatcher.behind(now: now)))
                }
                report.tick(wall: wall, now: now, answered: answered, behind: behind, limit: clock.isRehearsal ? behindLimit : nil,
                            speed: speed, say: say, statusFile: statusFile)
            }
        }
        try await sink.close()
        let final = progress.withLock { state in (state.translated, state.dispatcher.maximumBehind) }
        let sent = final.0.keys.sorted().flatMap { final.0[$0]! }
        let wall = ClockOption.wallNow()
        let seconds = max(0.001, Double(wall.milliseconds - started.milliseconds) / 1000)
        report.writeStatus(statusFile, answered: sent.count, eventTime: clock.now(wall: wall), behind: .zero,
                           maximumBehind: final.1, done: true)
        return PacedRun(sent: sent, maximumBehind: final.1, deliveriesPerSecond: Double(sent.count) / seconds)
    }
}

/// The pacer's voice: a line per 10 s, the status file per second, and a loud line whenever
/// the run is further behind schedule than its limit (at most one per 5 s).
struct PacerReporter {
    let started: Instant
    let total: Int
    var lastStatus = Instant(milliseconds: 0)
    var lastLine: Instant
    var lastLineAnswered = 0
    var lastWarning = Instant(milliseconds: 0)
    var maximumBehind: Duration = .zero

    init(started: Instant, total: Int) {
        self.started = started
        self.total = total
        lastLine = started
    }

    mutating func tick(
        wall: Instant, now: Instant, answered: Int, behind: Duration, limit: Duration?, speed: Double,
        say: (String) -> Void, statusFile: String?
    ) {
        maximumBehind = max(maximumBehind, behind)
        if let limit, behind > limit, wall.milliseconds - lastWarning.milliseconds >= 5_000 {
            lastWarning = wall
            say("BEHIND SCHEDULE by \(Self.seconds(behind)) s of event time (\(Self.seconds(behind, speed: speed)) s wall; limit \(Self.seconds(limit)) s): "
                + "deliveries this late can reach Kafka after their minute may be sealed, so this run does not show the pipeline live")
        }
        if wall.milliseconds - lastStatus.milliseconds >= 1_000 {
            lastStatus = wall
            writeStatus(statusFile, answered: answered, eventTime: now, behind: behind, maximumBehind: maximumBehind, done: false)
        }
        if wall.milliseconds - lastLine.milliseconds >= 10_000 {
            let rate = Double(answered - lastLineAnswered) * 1000 / Double(wall.milliseconds - lastLine.milliseconds)
            lastLine = wall
            lastLineAnswered = answered
            say("sent \(answered) of \(total) deliveries (\(Int(rate))/s); event time \(now); behind schedule \(Self.seconds(behind)) s")
        }
    }

    func writeStatus(_ file: String?, answered: Int, eventTime: Instant, behind: Duration, maximumBehind: Duration, done: Bool) {
        guard let file else { return }
        let line = "{\"sent\": \(answered), \"total\": \(total), \"event_time\": \"\(eventTime.rfc3339)\", "
            + "\"behind_s\": \(Self.seconds(behind)), \"max_behind_s\": \(Self.seconds(max(maximumBehind, behind))), \"done\": \(done)}\n"
        try? line.write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// Seconds with one decimal, divided by `speed` for wall time.
    static func seconds(_ duration: Duration, speed: Double = 1) -> String {
        String(format: "%.1f", Double(duration.wholeMilliseconds) / 1000 / speed)
    }
}

/// `--via kafka`: straight to the pipeline's topic through the canonical adapter (load tests).
struct KafkaDeliverySink: DeliverySink {
    let publisher: CanonicalPublisher
    var deliveriesPerRequest: Int { 5_000 }
    var concurrentRequests: Int { 4 }

    /// Straight to Kafka there are no adapters: the simulator's keys are the participants.
    func prepare(_ deliveries: ArraySlice<ScheduledDelivery>) throws -> PreparedDeliveries {
        let events = deliveries.map(\.event)
        return PreparedDeliveries(events: events) { _ = try await publisher.publish(events) }
    }

    func close() async throws {}
}

extension ProcessingClock {
    /// Event seconds per wall second: 1 for the wall clock.
    var speed: Double {
        if case .rehearsal(_, let speed, _) = mode { return speed }
        return 1
    }
}
