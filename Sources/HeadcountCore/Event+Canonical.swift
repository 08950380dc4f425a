/// The canonical wire form of an event: one flat JSON object of strings,
/// `{"id","pipeline","type","participant","session","at","source"}`.
///
/// Hand-written rather than `JSONDecoder`, because workers decode every event of a join
/// storm and the schema is fixed and flat; it is strict: unknown or repeated keys,
/// non-string values and trailing bytes are rejected with a reason.
public enum CanonicalEvent {
    /// The largest canonical event accepted, in bytes (each field is bounded well below).
    public static let maximumSize = 4096
    /// Limit on `id`, `participant`, `session`, `pipeline` and `source`, in UTF-8 bytes.
    public static let maximumFieldLength = 256

    static let fields = ["id", "pipeline", "type", "participant", "session", "at", "source"]

    /// Decodes and validates one canonical event.
    public static func decode(_ bytes: some Collection<UInt8>) throws(EventRejection) -> Event {
        guard bytes.count <= maximumSize else {
            throw EventRejection(.tooLarge, "\(bytes.count) bytes, at most \(maximumSize) allowed")
        }
        var scanner = FlatJSONScanner(Array(bytes))
        return try event(from: scanner.object(fields: fields))
    }

    /// Decodes from a `String` (one NDJSON line).
    public static func decode(line: String) throws(EventRejection) -> Event {
        try decode(Array(line.utf8))
    }

    /// `values` in the order of `fields`.
    private static func event(from values: [String?]) throws(EventRejection) -> Event {
        func field(_ position: Int) throws(EventRejection) -> String {
            let name = fields[position]
            guard let value = values[position] else { throw EventRejection(.wrongSchema, "missing field \"\(name)\"") }
            guard !value.isEmpty else { throw EventRejection(.wrongSchema, "field \"\(name)\" is empty") }
            guard value.utf8.count <= maximumFieldLength else {
                throw EventRejection(.wrongSchema, "field \"\(name)\" is longer than \(maximumFieldLength) bytes")
            }
            return value
        }
        // The order of the checks decides which reason an event with several faults gets.
        let typeText = try field(2)
        guard let type = EventType(rawValue: typeText) else {
            throw EventRejection(.wrongSchema, "field \"type\" must be join, leave or heartbeat")
        }
        let atText = try field(5)
        guard let at = Instant(rfc3339: atText) else {
            throw EventRejection(.impossibleTimestamp, "field \"at\" is not an RFC 3339 date-time with a zone: \"\(atText.prefix(40))\"")
        }
        return Event(
            id: try field(0), pipeline: try field(1), type: type,
            participant: try field(3), session: try field(4), at: at,
            source: try field(6))
    }

    /// The canonical JSON of an event, keys in a fixed order, `at` normalised to UTC milliseconds.
    public static func encode(_ event: Event) -> String {
        var out = "{\"id\":"
        // One allocation for the whole line: the fields plus the keys, quotes and the time.
        out.reserveCapacity(
            110 + event.id.utf8.count + event.pipeline.utf8.count + event.participant.utf8.count
                + event.session.utf8.count + event.source.utf8.count)
        appendQuoted(event.id, to: &out)
        out += ",\"pipeline\":"
        appendQuoted(event.pipeline, to: &out)
        out += ",\"type\":\"" + event.type.rawValue + "\",\"participant\":"
        appendQuoted(event.participant, to: &out)
        out += ",\"session\":"
        appendQuoted(event.session, to: &out)
        out += ",\"at\":\"" + event.at.rfc3339 + "\",\"source\":"
        appendQuoted(event.source, to: &out)
        out += "}"
        return out
    }

    /// JSON string escaping as RFC 8785 (section 3.2.2.2) prescribes: only `"`, `\` and
    /// controls, with the two-character forms where JSON has them and lowercase `\u00xx`
    /// otherwise. The certificate's canonical JSON uses this same function.
    public static func appendQuoted(_ text: String, to out: inout String) {
        out.append("\"")
        // Ids, keys and names almost never need escaping: then the text goes in whole
        // (the scalar loop below costs a String append per character).
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += text
            out.append("\"")
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }
}
