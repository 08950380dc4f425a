@testable import Kafka
import Logging
import Synchronization
import Testing

/// librdkafka repeats the same lines while brokers are down: they reach swift-log once per window.
@Suite("librdkafka log lines, deduplicated")
struct KafkaLogDeduplicationTests {
    /// Keeps what reaches swift-log.
    final class Recorder: LogHandler, @unchecked Sendable {
        // @unchecked: `lines` is only touched under its Mutex; the LogHandler fields are set
        // once before the test logs.
        let lines = Mutex<[(Logger.Level, String, Logger.Metadata?)]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.withLock { $0.append((event.level, "\(event.message)", event.metadata)) }
        }
    }

    @Test("the same line within the window is logged once; after it, once more with the count left out")
    func deduplicates() {
        let recorder = Recorder()
        let logger = Logger(label: "test.kafka") { _ in recorder }
        let deduplicator = RdKafkaLogDeduplicator(window: .seconds(30))
        let start = ContinuousClock.now
        for attempt in 0..<50 {
            // librdkafka's own wording: only the milliseconds change from one retry to the next.
            deduplicator.log(logger, level: .warning, "Connect to ipv4#127.0.0.1:1 failed: Connection refused (after \(attempt)ms in state CONNECT)",
                             now: start + .milliseconds(attempt * 100))
        }
        deduplicator.log(logger, level: .warning, "1/1 brokers are down", now: start + .seconds(1))
        deduplicator.log(logger, level: .warning, "Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)",
                         now: start + .seconds(31))
        let lines = recorder.lines.withLock { $0 }
        #expect(lines.map(\.1) == [
            "Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)",
            "1/1 brokers are down",
            "Connect to ipv4#127.0.0.1:1 failed: Connection refused (after 0ms in state CONNECT)",
        ])
        #expect(lines.last?.2?["kafka.repeated"] == "49 more like it in the last 30.0 seconds")
    }

    @Test("a failed connect is a warning; other syslog levels map as before")
    func levels() {
        #expect(Logger.Level(syslogLevel: 3, facility: "FAIL") == .warning)
        #expect(Logger.Level(syslogLevel: 3) == .error)
        #expect(Logger.Level(syslogLevel: 7) == .debug)
    }
}
