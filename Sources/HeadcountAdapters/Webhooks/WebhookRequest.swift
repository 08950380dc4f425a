import HeadcountCore

/// One HTTP delivery as an adapter sees it: no sockets, so every platform's verification
/// and parsing is testable from fixtures.
public struct WebhookRequest: Sendable {
    /// Header fields, names in any case.
    public var headers: [(name: String, value: String)]
    /// The body, exactly as received: signatures cover these bytes.
    public var body: [UInt8]
    /// The decoded query parameters.
    public var query: [String: String]

    public init(headers: [(name: String, value: String)] = [], body: [UInt8], query: [String: String] = [:]) {
        self.headers = headers
        self.body = body
        self.query = query
    }

    /// The first header of that name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }
}

/// What an adapter made of a delivery.
public enum WebhookOutcome: Sendable, Hashable {
    /// Canonical events to produce, all or nothing; empty when the delivery counts nothing.
    case events([Event])
    /// A reply that produces nothing (Zoom's URL validation challenge): status and JSON body.
    case reply(status: Int, json: String)
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        utf8.count == other.utf8.count && zip(utf8, other.utf8).allSatisfy { a, b in
            (a | 0x20) == (b | 0x20) && ((a | 0x20) >= 0x61 && (a | 0x20) <= 0x7A || a == b)
        }
    }
}
