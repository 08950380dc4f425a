import HeadcountCore

/// One record attempt: the counted window and rules, and where its events flow.
///
/// Loaded from one YAML file in `Pipelines/`; see `Pipeline+YAML.swift` for the format.
public struct Pipeline: Sendable, Hashable {
    /// Stable identifier, used in events, topic names, database rows and certificates.
    public var id: String
    /// What the attempt is, for people.
    public var title: String
    /// The counting rules of COUNTING.md section 1.
    public var rules: CountingRules
    /// The Kafka topic that carries the pipeline's events.
    public var kafka: KafkaTopic
    /// Where the signing key comes from and which public key it must have; nil when the
    /// file has no `signing:` section (the key then comes from `--key` or the environment).
    public var signing: Signing?
    /// The event's own time zone as minutes east of UTC: the offset `window.start` is written
    /// with (420 for `+07:00`). Only how people are shown times; counting is in UTC.
    public var utcOffsetMinutes: Int
    /// Who is counted, as a plural noun for people ("teachers"); default "participants".
    /// Only how the certificate page words the result.
    public var audience = "participants"
    /// How the ingest service receives the pipeline's events; nil without an `ingest:` section.
    public var ingest: Ingest?

    public init(
        id: String, title: String, rules: CountingRules, kafka: KafkaTopic, signing: Signing? = nil, utcOffsetMinutes: Int = 0
    ) {
        self.utcOffsetMinutes = utcOffsetMinutes
        self.id = id
        self.title = title
        self.rules = rules
        self.kafka = kafka
        self.signing = signing
    }

    /// Where a pipeline's events live in Kafka.
    public struct KafkaTopic: Sendable, Hashable {
        /// Topic name; default `headcount.<id>.events`.
        public var topic: String
        /// Partition count; default 12. Events are keyed by participant, so this bounds how
        /// many workers can share the load.
        public var partitions: Int

        public init(topic: String, partitions: Int) {
            self.topic = topic
            self.partitions = partitions
        }
    }

    /// Identifiers appear in topic names, file names and SQL rows: keep them plain.
    static func isValidIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 100 && text.utf8.allSatisfy { byte in
            (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 45 || byte == 46 || byte == 95
        }
    }
}

/// A pipeline file that cannot be used, with the file, the field and the line.
public struct PipelineError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based line in the file, when the problem has a place.
    public var line: Int?
    /// Dotted field path (`rules.bucket`), or empty for the file as a whole.
    public var field: String
    public var message: String

    public init(file: String, line: Int? = nil, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return field.isEmpty ? "\(place): \(message)" : "\(place): \(field): \(message)"
    }
}
