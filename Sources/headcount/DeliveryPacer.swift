import Foundation
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline
import HeadcountPublisher
import HeadcountSimulation
import Kafka
import Logging

/// Where simulated deliveries go: Kafka directly, or a route of `headcount ingest`.
protocol DeliverySink: Sendable {
    /// The events as Kafka will carry them (the adapters' identity rules applied); what the
    /// expected result is computed from.
    func translate(_ events: [Event]) throws -> [Event]
    /// Sends `events` (as translated) and returns once every one was acknowledged (Kafka) or accepted (HTTP 2xx).
    func send(_ events: [Event]) async throws
    /// Flushes and releases what the sink holds.
    func close() async throws
}

/// Sends each delivery when its moment comes under the clock, in batches of what is due.
struct DeliveryPacer: Sendable {
    let clock: ProcessingClock
    let statusFile: String?
    let say: @Sendable (String) -> Void
    /// The most events one send carries (the first burst of a rehearsal can be large).
    var maximumBatch = 5_000

    /// Sends everything and returns the events in the order they were sent.
    func send(_ deliveries: [ScheduledDelivery], through sink: any DeliverySink) async throws -> [Event] {
        let started = ClockOption.wallNow()
        var sent: [Event] = []
        sent.reserveCapacity(deliveries.count)
        var index = 0
        var lastStatus = Instant(milliseconds: 0), lastLine = started
        while index < deliveries.count {
            try Task.checkCancellation()
            let wall = ClockOption.wallNow()
            let now = clock.now(wall: wall)
            var end = index
            // A batch holds one delivery per id: its requests may run concurrently, and which
            // delivery of an id comes first must be the schedule's.
            var ids = Set<String>()
            while end < deliveries.count, end - index < maximumBatch, deliveries[end].sendAt <= now,
                  ids.insert(deliveries[end].event.id).inserted {
                end += 1
            }
            if end > index {
                let batch = try sink.translate(deliveries[index..<end].map(\.event))
                try await sink.send(batch)
                sent += batch
                index = end
            } else {
                let due = clock.wallTime(of: deliveries[index].sendAt, anchoredAt: started)
                let wait = min(100, max(1, due.milliseconds - wall.milliseconds))
                try await Task.sleep(for: .milliseconds(wait))
            }
            if wall.milliseconds - lastStatus.milliseconds >= 1000 {
                lastStatus = wall
                writeStatus(sent: sent.count, total: deliveries.count, eventTime: now)
            }
            if wall.milliseconds - lastLine.milliseconds >= 10_000 {
                lastLine = wall
                say("sent \(sent.count) of \(deliveries.count) deliveries; event time \(now)")
            }
        }
        try await sink.close()
        writeStatus(sent: sent.count, total: deliveries.count, eventTime: clock.now(wall: ClockOption.wallNow()), done: true)
        return sent
    }

    private func writeStatus(sent: Int, total: Int, eventTime: Instant, done: Bool = false) {
        guard let statusFile else { return }
        let line = "{\"sent\": \(sent), \"total\": \(total), \"event_time\": \"\(eventTime.rfc3339)\", \"done\": \(done)}\n"
        try? line.write(toFile: statusFile, atomically: true, encoding: .utf8)
    }
}

/// `--via kafka`: straight to the pipeline's topic through the canonical adapter (load tests).
struct KafkaDeliverySink: DeliverySink {
    let publisher: CanonicalPublisher

    /// Straight to Kafka there are no adapters: the simulator's keys are the participants.
    func translate(_ events: [Event]) throws -> [Event] { events }

    func send(_ events: [Event]) async throws {
        _ = try await publisher.publish(events)
    }

    func close() async throws {}
}
