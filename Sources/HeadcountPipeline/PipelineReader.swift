import HeadcountCore
import Yams

/// Walks the YAML tree of a pipeline file, turning every problem into a `PipelineError`
/// that names the field and its line.
struct PipelineReader {
    let file: String

    func pipeline(from root: Node) throws(PipelineError) -> Pipeline {
        let top = try mapping(root, field: "", allowed: ["id", "title", "audience", "window", "rules", "kafka", "signing", "ingest"])
        let id = try string(top, "id", required: true)!
        guard Pipeline.isValidIdentifier(id) else {
            throw error(top["id"], "id", "must be 1 to 100 characters of a-z, 0-9, '-', '.', '_'")
        }
        let title = try string(top, "title", required: false) ?? id
        let audience = try string(top, "audience", required: false) ?? "participants"
        let window = try mapping(try node(top, "window", required: true)!, field: "window", allowed: ["start", "end"])
        let start = try instant(window, "start", parent: "window")
        let end = try instant(window, "end", parent: "window")
        let rules = try countingRules(top, start: start, end: end)
        let kafka = try kafkaTopic(top, id: id)
        // The window's start is valid RFC 3339 by now, so it carries a zone.
        let offset = window["start"]?.scalar.flatMap { Instant.utcOffsetMinutes(rfc3339: $0.string) } ?? 0
        var pipeline = Pipeline(id: id, title: title, rules: rules, kafka: kafka, signing: try signing(top), utcOffsetMinutes: offset)
        pipeline.audience = audience
        pipeline.ingest = try ingest(top)
        return pipeline
    }

    private func countingRules(_ top: [String: Node], start: Instant, end: Instant) throws(PipelineError) -> CountingRules {
        let names = ["bucket", "reconnectGrace", "minimumPresence", "heartbeatTimeout", "allowedLateness", "sustainedPeak"]
        let rules = try top["rules"].map { node throws(PipelineError) in try mapping(node, field: "rules", allowed: names) } ?? [:]
        func rule(_ name: String, _ fallback: Duration) throws(PipelineError) -> Duration {
            try rules[name].map { node throws(PipelineError) in try duration(node, field: "rules." + name) } ?? fallback
        }
        do {
            return try CountingRules(
                windowStart: start, windowEnd: end,
                bucket: try rule("bucket", .seconds(60)),
                reconnectGrace: try rule("reconnectGrace", .seconds(60)),
                minimumPresence: try rule("minimumPresence", .zero),
                heartbeatTimeout: try rules["heartbeatTimeout"].map { node throws(PipelineError) in
                    try duration(node, field: "rules.heartbeatTimeout")
                },
                allowedLateness: try rule("allowedLateness", .seconds(120)),
                sustainedPeak: try rules["sustainedPeak"].map { node throws(PipelineError) in
                    try duration(node, field: "rules.sustainedPeak")
                })
        } catch let failure as CountingRulesError {
            let key = failure.field.split(separator: ".").last.map(String.init) ?? ""
            let place = failure.field.hasPrefix("window") ? top["window"] : (rules[key] ?? top["rules"])
            throw error(place, failure.field, failure.message)
        } catch let failure as PipelineError {
            throw failure
        } catch {
            throw PipelineError(file: file, field: "rules", message: "\(error)")
        }
    }

    private func kafkaTopic(_ top: [String: Node], id: String) throws(PipelineError) -> Pipeline.KafkaTopic {
        let kafka = try top["kafka"].map { node throws(PipelineError) in
            try mapping(node, field: "kafka", allowed: ["topic", "partitions"])
        } ?? [:]
        let topic = try string(kafka, "topic", required: false, parent: "kafka") ?? "headcount.\(id).events"
        // Kafka's own limit: 249 characters of [a-zA-Z0-9._-].
        guard topic.utf8.count <= 249, topic.utf8.allSatisfy({ $0 == 45 || $0 == 46 || $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }) else {
            throw error(kafka["topic"], "kafka.topic", "must be at most 249 characters of a-z, A-Z, 0-9, '.', '_', '-'")
        }
        var partitions = 12
        if let node = kafka["partitions"] {
            guard let value = node.scalar.flatMap({ Int($0.string) }), (1...10_000).contains(value) else {
                throw error(node, "kafka.partitions", "must be a whole number from 1 to 10000")
            }
            partitions = value
        }
        return Pipeline.KafkaTopic(topic: topic, partitions: partitions)
    }

    private func signing(_ top: [String: Node]) throws(PipelineError) -> Pipeline.Signing? {
        guard let node = top["signing"] else { return nil }
        let section = try mapping(node, field: "signing", allowed: ["keyFile", "keyEnvironment", "publicKey"])
        let file = try string(section, "keyFile", required: false, parent: "signing")
        let variable = try string(section, "keyEnvironment", required: false, parent: "signing")
        if file != nil, variable != nil {
            throw error(section["keyEnvironment"], "signing", "give keyFile or keyEnvironment, not both: one key signs a pipeline")
        }
        if let file, file.contains("PRIVATE KEY") {
            // Pipeline files are committed and published: a pasted key would be leaked.
            throw error(section["keyFile"], "signing.keyFile", "must be the path of a PEM file, never the key itself")
        }
        if let variable, !Self.isEnvironmentName(variable) {
            throw error(section["keyEnvironment"], "signing.keyEnvironment",
                        "must be the name of an environment variable (A-Z, a-z, 0-9, '_', not starting with a digit)")
        }
        var publicKey: String?
        if let text = try string(section, "publicKey", required: false, parent: "signing") {
            guard let normalized = Pipeline.Signing.normalizedPublicKey(text) else {
                throw error(section["publicKey"], "signing.publicKey",
                            "must be base64 of the 32-byte Ed25519 public key, or a PEM PUBLIC KEY block")
            }
            publicKey = normalized
        }
        let key = file.map(Pipeline.KeySource.file) ?? variable.map(Pipeline.KeySource.environment)
        guard key != nil || publicKey != nil else {
            throw error(node, "signing", "needs keyFile or keyEnvironment, and may pin publicKey")
        }
        return Pipeline.Signing(key: key, publicKey: publicKey)
    }

    static func isEnvironmentName(_ text: String) -> Bool {
        guard let first = text.utf8.first, !(48...57).contains(first), text.utf8.count <= 255 else { return false }
        return text.utf8.allSatisfy { $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }

    // MARK: - Field readers

    func error(_ node: Node?, _ field: String, _ message: String) -> PipelineError {
        PipelineError(file: file, line: node?.mark?.line, field: field, message: message)
    }

    func mapping(_ node: Node, field: String, allowed: [String]) throws(PipelineError) -> [String: Node] {
        guard let mapping = node.mapping else {
            throw error(node, field, field.isEmpty ? "the file must be a mapping of keys to values" : "must be a mapping")
        }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            let name = key.string ?? ""
            let path = field.isEmpty ? name : field + "." + name
            guard allowed.contains(name) else {
                throw error(key, path, "unknown key (allowed here: \(allowed.joined(separator: ", ")))")
            }
            guard result.updateValue(value, forKey: name) == nil else { throw error(key, path, "appears twice") }
        }
        return result
    }

    private func node(_ map: [String: Node], _ key: String, required: Bool, parent: String = "") throws(PipelineError) -> Node? {
        let path = parent.isEmpty ? key : parent + "." + key
        guard let value = map[key] else {
            if required { throw PipelineError(file: file, field: path, message: "is required") }
            return nil
        }
        return value
    }

    func string(_ map: [String: Node], _ key: String, required: Bool, parent: String = "") throws(PipelineError) -> String? {
        guard let value = try node(map, key, required: required, parent: parent) else { return nil }
        let path = parent.isEmpty ? key : parent + "." + key
        guard let scalar = value.scalar, !scalar.string.isEmpty else { throw error(value, path, "must be a non-empty text") }
        return scalar.string
    }

    private func instant(_ map: [String: Node], _ key: String, parent: String) throws(PipelineError) -> Instant {
        let text = try string(map, key, required: true, parent: parent)!
        guard let instant = Instant(rfc3339: text) else {
            throw error(map[key], parent + "." + key, "must be an RFC 3339 date-time with a zone, like 2025-09-20T08:00:00+07:00")
        }
        return instant
    }

    func duration(_ node: Node, field: String) throws(PipelineError) -> Duration {
        guard let text = node.scalar?.string, let value = Self.parseDuration(text) else {
            throw error(node, field, "must be a duration such as 90s, 10m, 2h, 250ms or a number of seconds")
        }
        return value
    }

    /// `250ms`, `90s`, `10m`, `2h`, or a bare number of seconds (fractions allowed down to the millisecond).
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            return milliseconds(String(trimmed.dropLast(suffix.count)), scale: scale)
        }
        return milliseconds(trimmed, scale: 1000)
    }

    private static func milliseconds(_ number: String, scale: Int64) -> Duration? {
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              number.filter({ $0 == "." }).count <= 1, let value = Double(number)
        else { return nil }
        let milliseconds = value * Double(scale)
        guard milliseconds.isFinite, milliseconds < 1e15, milliseconds == milliseconds.rounded() else { return nil }
        return .milliseconds(Int64(milliseconds))
    }
}
