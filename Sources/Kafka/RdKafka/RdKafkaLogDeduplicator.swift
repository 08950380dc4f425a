import Logging
import Synchronization

/// Keeps librdkafka from flooding the logs: while brokers are unreachable it repeats the
/// same few lines (a failed connect per broker per backoff, "all brokers are down") for as
/// long as the client lives.
///
/// A line is logged the first time; the same line again (digits aside: "after 3ms",
/// "3/3 brokers") within `window` is only counted, and the next one after the window is
/// logged with how many were left out.
final class RdKafkaLogDeduplicator: Sendable {
    private struct Seen {
        var loggedAt: ContinuousClock.Instant
        var suppressed: Int
    }

    private let window: Duration
    private let seen = Mutex<[String: Seen]>([:])

    init(window: Duration = .seconds(30)) {
        self.window = window
    }

    /// Logs `message` unless the same line was logged within the window.
    func log(_ logger: Logger, level: Logger.Level, _ message: String, metadata: Logger.Metadata = [:], now: ContinuousClock.Instant = .now) {
        guard logger.logLevel <= level else { return }
        let key = "\(level) " + Self.shape(of: message)
        let suppressed: Int? = seen.withLock { seen in
            if let entry = seen[key], now - entry.loggedAt < window {
                seen[key]?.suppressed += 1
                return nil
            }
            // Bounded: librdkafka's lines are few in kind, but names and addresses vary.
            if seen.count > 512 { seen.removeAll() }
            let before = seen[key]?.suppressed ?? 0
            seen[key] = Seen(loggedAt: now, suppressed: 0)
            return before
        }
        guard let suppressed else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["kafka.repeated"] = "\(suppressed) more like it in the last \(window)" }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    /// The line with every run of digits replaced by `#`.
    static func shape(of message: String) -> String {
        var shape = ""
        var inDigits = false
        for character in message {
            if character.isASCII, character.isNumber {
                if !inDigits { shape.append("#") }
                inDigits = true
            } else {
                shape.append(character)
                inDigits = false
            }
        }
        return shape
    }
}
