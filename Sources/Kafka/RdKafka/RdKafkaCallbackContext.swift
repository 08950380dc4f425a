internal import CRdKafka
import Logging
import Synchronization

/// What librdkafka's C callbacks need from Swift, reached through the client's opaque pointer.
///
/// One instance per `rd_kafka_t`; `RdKafkaClient` retains it for C before `rd_kafka_new` and
/// releases it only after `rd_kafka_destroy` has returned, so no callback ever sees it freed.
final class RdKafkaCallbackContext: Sendable {
    /// Where librdkafka's log lines and error callbacks go.
    let logger: Logger
    /// Keeps the same line repeated while brokers are down from flooding `logger`.
    let deduplicator = RdKafkaLogDeduplicator()
    /// The consumer's rebalance listener; nil for producers and admin clients.
    let rebalanceListener: (any KafkaRebalanceListener)?
    /// The consumer's view of its assignment, updated by the rebalance callback; nil otherwise.
    let positions: ConsumerPositionTracker?
    /// The first fatal error raised on this client, if any: every later operation throws it.
    private let fatal = Mutex<KafkaError?>(nil)
    /// Whether the group has given this consumer an assignment (an empty one counts).
    private let assigned = Mutex(false)

    init(logger: Logger, rebalanceListener: (any KafkaRebalanceListener)? = nil, positions: ConsumerPositionTracker? = nil) {
        self.logger = logger
        self.rebalanceListener = rebalanceListener
        self.positions = positions
    }

    /// The fatal error that made this client unusable, if one was raised.
    var fatalError: KafkaError? {
        fatal.withLock { $0 }
    }

    func recordFatal(_ error: KafkaError) {
        fatal.withLock { current in
            if current == nil { current = error }
        }
    }

    /// Whether the rebalance callback has seen an assignment: by then librdkafka's sticky
    /// assignor has its state (see `ConsumerHandle.close`).
    var hasBeenAssigned: Bool {
        assigned.withLock { $0 }
    }

    func recordAssignment() {
        assigned.withLock { $0 = true }
    }

    /// The context registered as `rk`'s opaque, without changing its retain count.
    static func of(_ rk: OpaquePointer?) -> RdKafkaCallbackContext? {
        guard let rk, let opaque = rd_kafka_opaque(rk) else { return nil }
        return Unmanaged<RdKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Installs the callbacks every client shares: logs into swift-log, errors into log and fatal state.
func installCommonCallbacks(on conf: OpaquePointer) {
    rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
    rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
}

/// Routes one librdkafka log line to the client's Logger; called on librdkafka's own threads.
private let rdKafkaLogCallback: @convention(c) (
    OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?
) -> Void = { rk, level, facility, line in
    guard let context = RdKafkaCallbackContext.of(rk), let line else { return }
    let facilityName = facility.map { String(cString: $0) } ?? ""
    let metadata: Logger.Metadata = [
        "kafka.facility": .string(facilityName),
        "kafka.client": .string(rk.map { String(cString: rd_kafka_name($0)) } ?? ""),
    ]
    context.deduplicator.log(
        context.logger, level: Logger.Level(syslogLevel: level, facility: facilityName), String(cString: line), metadata: metadata)
}

/// Logs a client-level error; a fatal one is also kept so that later operations throw it.
private let rdKafkaErrorCallback: @convention(c) (
    OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?
) -> Void = { rk, code, reason, _ in
    guard let rk, let context = RdKafkaCallbackContext.of(rk) else { return }
    let reasonText = reason.map { String(cString: $0) } ?? ""
    var error = KafkaError(code: KafkaError.Code(rawValue: code), message: reasonText)
    if error.code == .fatal {
        // The error callback only says "fatal"; rd_kafka_fatal_error names the real cause.
        var buffer = [CChar](repeating: 0, count: 512)
        let underlying = rd_kafka_fatal_error(rk, &buffer, buffer.count)
        error = KafkaError(
            code: KafkaError.Code(rawValue: underlying.rawValue),
            message: String(cStringBuffer: buffer),
            isRetriable: false,
            isFatal: true
        )
        context.recordFatal(error)
        context.logger.critical("librdkafka fatal error: \(error)")
    } else if error.isRetriable {
        // Transport and broker-down errors are routine while brokers restart; librdkafka retries.
        context.deduplicator.log(context.logger, level: .warning, "librdkafka: \(error)")
    } else {
        context.deduplicator.log(context.logger, level: .error, "librdkafka: \(error)")
    }
}

extension Logger.Level {
    /// Maps librdkafka's syslog levels (0 emergency ... 7 debug) onto swift-log's.
    ///
    /// A failed connection to a broker (facility `FAIL`) comes at syslog's error level, but
    /// librdkafka retries it by itself and the error callback reports the same: a warning,
    /// as the Java client logs it.
    init(syslogLevel: Int32, facility: String = "") {
        switch syslogLevel {
        case ...2: self = .critical
        case 3: self = facility == "FAIL" ? .warning : .error
        case 4: self = .warning
        case 5: self = .notice
        case 6: self = .info
        default: self = .debug
        }
    }
}
