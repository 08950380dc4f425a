import Foundation
import Yams

// The `ingest:` section (see Pipelines/example-ingest.yaml for every key):
//
//   ingest:
//     pseudonymKeyFile: ../secrets/pseudonym-key     # or pseudonymKeyEnvironment: NAME
//     identity: [email, platformId]                  # optional; the default order
//     maxBodySize: 1MiB                              # optional; bytes, or KiB / MiB
//     produceTimeout: 2500ms                         # optional; Zoom waits 3 s at most
//     canonical:   { secretFile: ../secrets/canonical-token }
//     zoom:        { secretEnvironment: HEADCOUNT_ZOOM_SECRET_TOKEN }
//     webex:       { secretFile: … }
//     bbb:         { secretFile: …, callbackURL: https://ingest.example.org/v1/pipelines/ID/bbb }
//     jitsi:       { secretFile: … }
//     cloudevents: { secretFile: … }
//
// A route exists only when its platform's section is there. Secrets are named, never
// written inline: pipeline files are committed and published with the certificate.

extension Pipeline {
    /// How the ingest service receives this pipeline's events: which routes, with which
    /// secrets, and how identities become participants.
    public struct Ingest: Sendable, Hashable {
        /// The key of the HMAC-SHA256 that turns a normalised identity into a participant.
        public var pseudonymKey: KeySource
        /// Which identity of a person is used, first present wins. Default `[.email, .platformID]`.
        public var identity: [IdentityField]
        /// The largest request body accepted, in bytes; default 1 MiB.
        public var maximumBodySize: Int
        /// How long a request waits for Kafka's acknowledgements before it is refused with
        /// 503; default 2.5 s, inside Zoom's 3 s deadline.
        public var produceTimeout: Duration
        /// The enabled routes and the secret (signing secret or bearer token) of each.
        public var routes: [IngestRoute: KeySource]
        /// The URL BigBlueButton calls, part of what its checksum covers; required with `bbb`.
        public var bbbCallbackURL: String?

        public init(
            pseudonymKey: KeySource, identity: [IdentityField] = [.email, .platformID],
            maximumBodySize: Int = 1 << 20, produceTimeout: Duration = .milliseconds(2500),
            routes: [IngestRoute: KeySource], bbbCallbackURL: String? = nil
        ) {
            self.pseudonymKey = pseudonymKey
            self.identity = identity
            self.maximumBodySize = maximumBodySize
            self.produceTimeout = produceTimeout
            self.routes = routes
            self.bbbCallbackURL = bbbCallbackURL
        }
    }

    /// One way in, named as in the URL path and the pipeline file.
    public enum IngestRoute: String, Sendable, Hashable, CaseIterable {
        case canonical, zoom, webex, bbb, jitsi, cloudevents
    }

    /// Which field of a platform's payload identifies the person.
    public enum IdentityField: String, Sendable, Hashable, CaseIterable {
        /// The e-mail address, lower-cased: the same teacher on two platforms is one participant.
        case email
        /// The platform's stable id of the person: Zoom `registrant_id`, `participant_user_id`
        /// or `id`; Webex `id`; BBB `external-user-id`; Jitsi `id`; CloudEvents `participant`.
        case platformID = "platformId"
        /// The display name: weak (two people may share one), for guests without anything else.
        case name
    }
}

extension Pipeline.KeySource {
    /// The secret's bytes: the file's contents or the variable's value, one trailing newline
    /// removed (editors and `echo` add one). The error names the field, never the value.
    public func readSecret(field: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(PipelineError) -> [UInt8] {
        var bytes: [UInt8]
        switch self {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PipelineError(file: path, field: field, message: "cannot read the secret file")
            }
            bytes = Array(data)
        case .environment(let name):
            guard let value = environment[name] else {
                throw PipelineError(file: "$" + name, field: field, message: "the environment variable is not set")
            }
            bytes = Array(value.utf8)
        }
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        guard !bytes.isEmpty else {
            throw PipelineError(file: "", field: field, message: "the secret is empty")
        }
        return bytes
    }

    /// The same source with a relative file resolved against `folder`.
    func resolved(against folder: String) -> Pipeline.KeySource {
        guard case .file(let path) = self, !path.hasPrefix("/") else { return self }
        return .file(((folder as NSString).appendingPathComponent(path) as NSString).standardizingPath)
    }
}

extension Pipeline.Ingest {
    /// Every secret source with relative files resolved against the pipeline file's folder.
    func resolved(against folder: String) -> Pipeline.Ingest {
        var copy = self
        copy.pseudonymKey = pseudonymKey.resolved(against: folder)
        copy.routes = routes.mapValues { $0.resolved(against: folder) }
        return copy
    }
}

extension PipelineReader {
    func ingest(_ top: [String: Node]) throws(PipelineError) -> Pipeline.Ingest? {
        guard let node = top["ingest"] else { return nil }
        let allowed = ["pseudonymKeyFile", "pseudonymKeyEnvironment", "identity", "maxBodySize", "produceTimeout"]
            + Pipeline.IngestRoute.allCases.map(\.rawValue)
        let section = try mapping(node, field: "ingest", allowed: allowed)
        guard let pseudonymKey = try secret(section, prefix: "pseudonymKey", parent: "ingest") else {
            throw error(node, "ingest", "needs pseudonymKeyFile or pseudonymKeyEnvironment: participants are pseudonymised with it")
        }
        var ingest = Pipeline.Ingest(pseudonymKey: pseudonymKey, routes: [:])
        if let list = section["identity"] { ingest.identity = try identityOrder(list) }
        if let size = section["maxBodySize"] {
            guard let text = size.scalar?.string, let bytes = Self.parseSize(text), (1...(64 << 20)).contains(bytes) else {
                throw error(size, "ingest.maxBodySize", "must be a size from 1 byte to 64MiB, such as 1MiB, 512KiB or 65536")
            }
            ingest.maximumBodySize = bytes
        }
        if let timeout = section["produceTimeout"] {
            let value = try duration(timeout, field: "ingest.produceTimeout")
            guard value >= .milliseconds(100), value <= .seconds(60) else {
                throw error(timeout, "ingest.produceTimeout", "must be from 100ms to 60s")
            }
            ingest.produceTimeout = value
        }
        for route in Pipeline.IngestRoute.allCases {
            guard let routeNode = section[route.rawValue] else { continue }
            let field = "ingest." + route.rawValue
            let keys = ["secretFile", "secretEnvironment"] + (route == .bbb ? ["callbackURL"] : [])
            let routeSection = try mapping(routeNode, field: field, allowed: keys)
            guard let secret = try secret(routeSection, prefix: "secret", parent: field) else {
                throw error(routeNode, field, "needs secretFile or secretEnvironment (the signing secret or bearer token)")
            }
            ingest.routes[route] = secret
            if route == .bbb {
                guard let url = try string(routeSection, "callbackURL", required: true, parent: field),
                      url.hasPrefix("http://") || url.hasPrefix("https://")
                else { throw error(routeSection["callbackURL"], field + ".callbackURL", "must be the http(s) URL BigBlueButton calls") }
                ingest.bbbCallbackURL = url
            }
        }
        guard !ingest.routes.isEmpty else {
            throw error(node, "ingest", "enables no route: add at least one of \(Pipeline.IngestRoute.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return ingest
    }

    /// `<prefix>File` or `<prefix>Environment`, exactly one of them, or nil for neither.
    private func secret(_ section: [String: Node], prefix: String, parent: String) throws(PipelineError) -> Pipeline.KeySource? {
        let file = try string(section, prefix + "File", required: false, parent: parent)
        let variable = try string(section, prefix + "Environment", required: false, parent: parent)
        if file != nil, variable != nil {
            throw error(section[prefix + "Environment"], "\(parent).\(prefix)", "give \(prefix)File or \(prefix)Environment, not both")
        }
        if let variable, !Self.isEnvironmentName(variable) {
            throw error(section[prefix + "Environment"], "\(parent).\(prefix)Environment",
                        "must be the name of an environment variable (A-Z, a-z, 0-9, '_', not starting with a digit)")
        }
        if let file, file.contains(where: { $0 == " " || $0 == "\n" }) || file.count > 1024 {
            // A pasted secret instead of a path would be committed and published.
            throw error(section[prefix + "File"], "\(parent).\(prefix)File", "must be the path of a file holding the secret, never the secret itself")
        }
        return file.map(Pipeline.KeySource.file) ?? variable.map(Pipeline.KeySource.environment)
    }

    private func identityOrder(_ node: Node) throws(PipelineError) -> [Pipeline.IdentityField] {
        let names = Pipeline.IdentityField.allCases.map(\.rawValue).joined(separator: ", ")
        guard let items = node.sequence, !items.isEmpty else {
            throw error(node, "ingest.identity", "must be a non-empty list of \(names)")
        }
        var order: [Pipeline.IdentityField] = []
        for item in items {
            guard let field = item.scalar.flatMap({ Pipeline.IdentityField(rawValue: $0.string) }) else {
                throw error(item, "ingest.identity", "unknown identity field (known: \(names))")
            }
            guard !order.contains(field) else { throw error(item, "ingest.identity", "\(field.rawValue) appears twice") }
            order.append(field)
        }
        return order
    }

    /// `65536`, `512KiB`, `1MiB`.
    static func parseSize(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, scale) in [("KiB", 1 << 10), ("MiB", 1 << 20)] where trimmed.hasSuffix(suffix) {
            return Int(trimmed.dropLast(suffix.count)).flatMap { $0.multipliedReportingOverflow(by: scale).overflow ? nil : $0 * scale }
        }
        return Int(trimmed)
    }
}
