import HeadcountCore

/// The pipeline as the certificate binds it: identity, window and every counting rule.
///
/// Its canonical JSON (RFC 8785) is hashed into the genesis hash, the `prev_hash` of
/// bucket 0, so changing any rule after the fact breaks the chain at its first link:
///
///     {"spec": "headcount-counting/2",
///      "id": ID, "title": TITLE,
///      "window": {"start": RFC3339, "end": RFC3339},
///      "rules": {"bucket_ms": n, "reconnect_grace_ms": n, "minimum_presence_ms": n,
///                "heartbeat_timeout_ms": n or null, "allowed_lateness_ms": n,
///                "sustained_peak_ms": n}}
///
/// A pipeline run under a rehearsal clock adds `"rehearsal": true` (and a real one has no
/// `rehearsal` member, so its hash is what it always was): the mark sits in the genesis hash,
/// so a rehearsal's chain cannot be passed off as evidence by dropping it.
///
/// Instants are `YYYY-MM-DDTHH:MM:SS.mmmZ`; durations are whole milliseconds. `spec` names
/// the version of the counting rules, so that a later change of their meaning cannot pass
/// for the old one. Version 1 (certificates issued before `sustained_peak`) has no
/// `sustained_peak_ms`, and its snapshots hash no `sustained_peak`; it is still read and
/// verified by its own rules, never issued.
public struct PipelineCanonicalForm: Sendable, Hashable {
    /// The version of COUNTING.md whose numbers a certificate certifies.
    public enum Spec: String, Sendable, Hashable, CaseIterable {
        case v1 = "headcount-counting/1"
        case v2 = "headcount-counting/2"

        /// Whether snapshots of this version carry and hash `sustained_peak`.
        public var hasSustainedPeak: Bool { self != .v1 }
    }

    /// The version new certificates are issued under.
    public static let specVersion = Spec.v2.rawValue

    public var spec: Spec
    public var id: String
    public var title: String
    public var rules: CountingRules
    /// Whether the chain was sealed under a rehearsal clock: a rehearsal, not evidence.
    public var rehearsal: Bool

    public init(id: String, title: String, rules: CountingRules, spec: Spec = .v2, rehearsal: Bool = false) {
        self.spec = spec
        self.rehearsal = rehearsal
        self.id = id
        self.title = title
        self.rules = rules
    }

    /// The canonical object of a pipeline (see the type's documentation).
    public static func json(id: String, title: String, rules: CountingRules, spec: Spec = .v2, rehearsal: Bool = false) -> JSONValue {
        let timeout: JSONValue = rules.heartbeatTimeout.map { .integer($0.wholeMilliseconds) } ?? .null
        var ruleMembers: [String: JSONValue] = [
            "bucket_ms": .integer(rules.bucket.wholeMilliseconds),
            "reconnect_grace_ms": .integer(rules.reconnectGrace.wholeMilliseconds),
            "minimum_presence_ms": .integer(rules.minimumPresence.wholeMilliseconds),
            "heartbeat_timeout_ms": timeout,
            "allowed_lateness_ms": .integer(rules.allowedLateness.wholeMilliseconds),
        ]
        if spec.hasSustainedPeak { ruleMembers["sustained_peak_ms"] = .integer(rules.sustainedPeak.wholeMilliseconds) }
        var members: [String: JSONValue] = [
            "spec": .string(spec.rawValue),
            "id": .string(id),
            "title": .string(title),
            "window": ["start": .string(rules.windowStart.rfc3339), "end": .string(rules.windowEnd.rfc3339)],
            "rules": .object(ruleMembers),
        ]
        if rehearsal { members["rehearsal"] = .bool(true) }
        return .object(members)
    }

    /// The canonical object of this pipeline.
    public var json: JSONValue { Self.json(id: id, title: title, rules: rules, spec: spec, rehearsal: rehearsal) }

    /// SHA-256 of the canonical JSON, lowercase hex: the `prev_hash` of bucket 0.
    public var genesisHash: String {
        // The object holds only strings and integers, which always serialize.
        Digest256.hex(try! json.canonicalBytes())
    }

    /// Reads a canonical object back, validating the rules as a pipeline file would.
    public init(json: JSONValue) throws(CertificateError) {
        func fail(_ field: String, _ message: String) -> CertificateError {
            CertificateError(.invalidCertificate, "pipeline.\(field): \(message)")
        }
        guard let spec = json["spec"]?.stringValue.flatMap(Spec.init(rawValue:)) else {
            throw fail("spec", "must be one of " + Spec.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
        }
        guard let id = json["id"]?.stringValue else { throw fail("id", "must be a string") }
        guard let title = json["title"]?.stringValue else { throw fail("title", "must be a string") }
        guard let start = json["window"]?["start"]?.stringValue.flatMap({ Instant(rfc3339: $0) }),
              let end = json["window"]?["end"]?.stringValue.flatMap({ Instant(rfc3339: $0) })
        else { throw fail("window", "must hold RFC 3339 start and end") }
        func milliseconds(_ key: String) throws(CertificateError) -> Duration {
            guard let value = json["rules"]?[key]?.integerValue else { throw fail("rules.\(key)", "must be an integer") }
            return .milliseconds(value)
        }
        let timeout = json["rules"]?["heartbeat_timeout_ms"]
        let heartbeat: Duration? = timeout?.isNull == true ? nil : try milliseconds("heartbeat_timeout_ms")
        // Version 1 has no S: its default then stands in, and nothing it certifies uses it.
        let sustained: Duration? = spec.hasSustainedPeak ? try milliseconds("sustained_peak_ms") : nil
        if !spec.hasSustainedPeak, json["rules"]?["sustained_peak_ms"] != nil {
            throw fail("rules.sustained_peak_ms", "is not a rule of \(spec.rawValue)")
        }
        do {
            rules = try CountingRules(
                windowStart: start, windowEnd: end, bucket: try milliseconds("bucket_ms"),
                reconnectGrace: try milliseconds("reconnect_grace_ms"),
                minimumPresence: try milliseconds("minimum_presence_ms"), heartbeatTimeout: heartbeat,
                allowedLateness: try milliseconds("allowed_lateness_ms"), sustainedPeak: sustained)
        } catch let error as CountingRulesError {
            throw fail(error.field, error.message)
        } catch let error as CertificateError {
            throw error
        } catch {
            throw fail("rules", "\(error)")
        }
        switch json["rehearsal"] {
        case nil: rehearsal = false
        case .bool(true)?: rehearsal = true
        // Only true is written: `false` would give a real pipeline a second genesis hash.
        default: throw fail("rehearsal", "must be true when present (a real pipeline has no rehearsal member)")
        }
        self.spec = spec
        self.id = id
        self.title = title
    }
}
