internal import CRdKafka
import Logging

/// Owns one `rd_kafka_t` and the callback context that its C callbacks reach.
///
/// Owners destroy it explicitly, in the order librdkafka needs (queues and topic handles first,
/// `rd_kafka_consumer_close` before a consumer's destroy); `deinit` is only a safety net.
///
/// `@unchecked Sendable`: librdkafka documents `rd_kafka_t` as thread-safe, the pointer itself is
/// immutable, and the only mutable field (`isDestroyed`) is touched solely by the owner's
/// serialised shutdown path and by `deinit`, which cannot race with it.
final class RdKafkaClient: @unchecked Sendable {
    /// The librdkafka handle; valid until `destroy()`.
    let pointer: OpaquePointer
    /// The Swift side of the callbacks, retained for C as the client's opaque.
    let context: RdKafkaCallbackContext
    private var isDestroyed = false

    private init(pointer: OpaquePointer, context: RdKafkaCallbackContext) {
        self.pointer = pointer
        self.context = context
    }

    /// Creates a client from validated properties.
    ///
    /// - Parameter configure: sets kind-specific callbacks (delivery reports, rebalance) on the
    ///   conf before the handle is created.
    static func make(
        _ type: rd_kafka_type_t,
        properties: KafkaClientProperties,
        context: RdKafkaCallbackContext,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) -> RdKafkaClient {
        let conf = try makeConf(properties)
        installCommonCallbacks(on: conf)
        configure(conf)
        // C holds one reference to the context from here until destroy() releases it.
        let opaque = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(conf, opaque.toOpaque())

        var errorText = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            // rd_kafka_new takes ownership of the conf only on success: free it ourselves here.
            rd_kafka_conf_destroy(conf)
            opaque.release()
            throw KafkaError(
                code: .invalidArgument,
                message: "cannot create the Kafka client: \(String(cStringBuffer: errorText))",
                isRetriable: false
            )
        }
        return RdKafkaClient(pointer: rk, context: context)
    }

    /// Builds an `rd_kafka_conf_t`, naming the property that librdkafka refuses.
    private static func makeConf(_ properties: KafkaClientProperties) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .invalidArgument, message: "rd_kafka_conf_new failed")
        }
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.entries {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                // The conf never reached rd_kafka_new, so it is still ours to free.
                rd_kafka_conf_destroy(conf)
                throw confError(result, key: key, librdkafkaText: String(cStringBuffer: errorText), properties)
            }
        }
        return conf
    }

    private static func confError(
        _ result: rd_kafka_conf_res_t,
        key: String,
        librdkafkaText: String,
        _ properties: KafkaClientProperties
    ) -> KafkaError {
        let kind = result == RD_KAFKA_CONF_UNKNOWN ? "unknown" : "invalid value for"
        // librdkafka's text quotes the value; for secrets only the key may be shown.
        let detail = KafkaClientProperties.isSecret(key) ? "" : ": \(librdkafkaText)"
        return properties.invalid(
            key: key,
            "\(properties.configurationName): \(kind) librdkafka property \"\(key)\"\(detail)"
        )
    }

    /// The fatal error raised on this client, if any.
    func checkFatal() throws(KafkaError) {
        if let fatal = context.fatalError { throw fatal }
    }

    /// Destroys the handle, then releases the context C was holding.
    ///
    /// Callers must have destroyed every queue and topic handle derived from this client first.
    func destroy(flags: Int32 = 0) {
        guard !isDestroyed else { return }
        isDestroyed = true
        rd_kafka_destroy_flags(pointer, flags)
        // No callback can run after rd_kafka_destroy returns: only now may the context go.
        Unmanaged.passUnretained(context).release()
    }

    /// Gives the handle up without `rd_kafka_destroy`: its threads, sockets and the context C
    /// holds stay until the process ends. Only for a handle whose destroy would abort the
    /// process (see `ConsumerHandle.close`).
    func abandon() {
        isDestroyed = true
    }

    deinit {
        destroy()
    }
}

extension String {
    /// The text librdkafka wrote into a NUL-terminated `errstr` buffer.
    init(cStringBuffer buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
