/// The librdkafka properties of one client, in the order they are applied, built and validated
/// from a typed configuration.
///
/// Typed fields own their librdkafka keys: `additionalProperties` may add any other key (SASL, TLS,
/// fetch sizes...) but may not set one of those, so a value is never silently overridden.
struct KafkaClientProperties: Sendable, CustomStringConvertible {
    /// The properties as librdkafka keys and values.
    private(set) var entries: [(key: String, value: String)] = []
    /// The typed-configuration field that set each managed key, for error messages.
    private var owners: [String: String] = [:]
    /// The configuration type's name, for error messages (`KafkaConsumerConfiguration`...).
    let configurationName: String

    init(configurationName: String) {
        self.configurationName = configurationName
    }

    /// Sets a key on behalf of a typed field.
    mutating func set(_ key: String, _ value: String, field: String) {
        entries.append((key, value))
        owners[key] = field
    }

    /// Sets a duration key in whole milliseconds, rejecting values librdkafka cannot express.
    mutating func set(
        _ key: String,
        milliseconds duration: Duration,
        field: String,
        minimum: Duration = .milliseconds(1)
    ) throws(KafkaError) {
        guard duration >= minimum else {
            throw invalid(key: key, "\(configurationName).\(field) must be at least \(minimum), got \(duration)")
        }
        set(key, String(duration.wholeMilliseconds), field: field)
    }

    /// Appends the caller's pass-through properties, refusing keys that a typed field owns.
    mutating func add(additional: [String: String]) throws(KafkaError) {
        // Sorted so that the applied order (and any error) is the same on every run.
        for (key, value) in additional.sorted(by: { $0.key < $1.key }) {
            if let field = owners[key] {
                throw invalid(
                    key: key,
                    "\(configurationName).additionalProperties sets \"\(key)\", which \(field) controls; set \(field) instead"
                )
            }
            entries.append((key, value))
        }
    }

    /// A configuration error naming the property and the configuration type.
    func invalid(key: String, _ message: String) -> KafkaError {
        KafkaError(code: .invalidArgument, message: message, isRetriable: false, property: key)
    }

    /// The properties with every secret value replaced by `[REDACTED]`.
    var description: String {
        entries.map { "\($0.key)=\(Self.redacted($0.key, $0.value))" }.joined(separator: ", ")
    }

    /// Whether a property's value must never appear in logs or error descriptions.
    ///
    /// Deliberately broad: `sasl.password`, `ssl.key.password`, `ssl.key.pem`,
    /// `sasl.oauthbearer.client.secret` and anything else naming a password, secret or key.
    static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return ["password", "secret", "key", "token", "credential"].contains { lowered.contains($0) }
    }

    /// The value as it may be shown to humans.
    static func redacted(_ key: String, _ value: String) -> String {
        isSecret(key) ? "[REDACTED]" : value
    }
}

/// Validation shared by the producer and consumer configurations.
extension KafkaClientProperties {
    /// Checks and sets `bootstrap.servers` and `client.id`.
    mutating func setConnection(bootstrapServers: String, clientID: String) throws(KafkaError) {
        let servers = bootstrapServers.split(separator: ",").map { $0.trimmingSpaces }
        guard !servers.isEmpty, servers.allSatisfy({ !$0.isEmpty }) else {
            throw invalid(
                key: "bootstrap.servers",
                "\(configurationName).bootstrapServers must be a comma-separated list of host:port, got \"\(bootstrapServers)\""
            )
        }
        guard !clientID.isEmpty else {
            throw invalid(key: "client.id", "\(configurationName).clientID must not be empty")
        }
        set("bootstrap.servers", servers.joined(separator: ","), field: "bootstrapServers")
        set("client.id", clientID, field: "clientID")
    }
}

extension Substring {
    /// The text without leading or trailing spaces (no Foundation needed).
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

extension Duration {
    /// The duration in whole milliseconds, as librdkafka's `*.ms` properties and timeouts expect.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// The duration as a librdkafka `int timeout_ms`, clamped to what an `Int32` holds.
    var timeoutMilliseconds: Int32 {
        Int32(clamping: max(0, wholeMilliseconds))
    }
}
