/// A strict scanner for one JSON object whose values are all strings.
///
/// Enough JSON (RFC 8259) for canonical events and nothing more: whitespace, string
/// escapes including surrogate pairs; anything else is a rejection with a byte position.
struct FlatJSONScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The object's values for the given field names, in their order (nil: absent).
    ///
    /// No dictionary is built: this runs once per event a worker reads. An unknown key is
    /// reported only once the whole object has scanned, so malformed JSON is always called
    /// malformed.
    mutating func object(fields names: [String]) throws(EventRejection) -> [String?] {
        skipWhitespace()
        guard consume(UInt8(ascii: "{")) else { throw malformed("expected a JSON object") }
        var values = [String?](repeating: nil, count: names.count)
        var unknown: String?
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return try finish(values, unknown: unknown) }
        repeat {
            skipWhitespace()
            // Keys of canonical events fit a small string, which needs no allocation and
            // compares as two machine words.
            let key = try string()
            let field = names.firstIndex(of: key)
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { throw malformed("expected ':'") }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                if index < bytes.count, Self.startsScalarOrContainer(bytes[index]) {
                    throw EventRejection(.wrongSchema, "field \"\(key.prefix(40))\" must be a string")
                }
                throw malformed("expected a value")
            }
            let value = try string()
            if let field {
                guard values[field] == nil else {
                    throw EventRejection(.wrongSchema, "field \"\(key.prefix(40))\" appears twice")
                }
                values[field] = value
            } else if unknown == nil {
                unknown = key
            }
            skipWhitespace()
        } while consume(UInt8(ascii: ","))
        guard consume(UInt8(ascii: "}")) else { throw malformed("expected ',' or '}'") }
        return try finish(values, unknown: unknown)
    }

    private mutating func finish(_ values: [String?], unknown: String?) throws(EventRejection) -> [String?] {
        skipWhitespace()
        guard index == bytes.count else { throw malformed("unexpected bytes after the object") }
        if let unknown { throw EventRejection(.wrongSchema, "unknown field \"\(unknown.prefix(40))\"") }
        return values
    }

    private static func startsScalarOrContainer(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "-")
            || (byte >= 48 && byte <= 57) || byte == UInt8(ascii: "t") || byte == UInt8(ascii: "f")
            || byte == UInt8(ascii: "n")
    }

    private func malformed(_ what: String) -> EventRejection {
        EventRejection(.malformedJSON, "\(what) at byte \(index + 1)")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func string() throws(EventRejection) -> String {
        guard consume(UInt8(ascii: "\"")) else { throw malformed("expected a string") }
        let start = index
        // Fast path: no escapes, valid UTF-8 checked by String(validating:).
        var seen: UInt8 = 0
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
            guard bytes[index] >= 0x20 else { throw malformed("control character in a string") }
            seen |= bytes[index]
            index += 1
        }
        guard index < bytes.count else { throw malformed("unterminated string") }
        guard bytes[index] == UInt8(ascii: "\\") else {
            // No escapes, the common case: the string straight from the bytes. ASCII is valid
            // UTF-8 as it is, and decoding it skips the generic validation, which is not
            // specialised here and would cost a metadata lookup per string.
            let text = seen < 0x80
                ? bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<index]), as: UTF8.self) }
                : String(validating: bytes[start..<index], as: UTF8.self)
            index += 1  // closing quote
            guard let text else { throw malformed("invalid UTF-8 in a string") }
            return text
        }
        var utf8 = Array(bytes[start..<index])
        try unescape(into: &utf8)
        index += 1  // closing quote
        guard let text = String(validating: utf8, as: UTF8.self) else { throw malformed("invalid UTF-8 in a string") }
        return text
    }

    /// Continues a string that contains escapes; stops at (not past) the closing quote.
    private mutating func unescape(into utf8: inout [UInt8]) throws(EventRejection) {
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            let byte = bytes[index]
            guard byte >= 0x20 else { throw malformed("control character in a string") }
            guard byte == UInt8(ascii: "\\") else { utf8.append(byte); index += 1; continue }
            index += 1
            guard index < bytes.count else { throw malformed("unterminated escape") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"): utf8.append(contentsOf: try unicodeEscape())
            default: throw malformed("invalid escape")
            }
        }
        guard index < bytes.count else { throw malformed("unterminated string") }
    }

    private mutating func hex4() throws(EventRejection) -> UInt32 {
        guard index + 4 <= bytes.count else { throw malformed("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 48...57: digit = UInt32(byte - 48)
            case 65...70: digit = UInt32(byte - 55)
            case 97...102: digit = UInt32(byte - 87)
            default: throw malformed("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func unicodeEscape() throws(EventRejection) -> [UInt8] {
        var code = try hex4()
        if (0xD800...0xDBFF).contains(code) {
            guard consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")) else { throw malformed("lone surrogate") }
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw malformed("lone surrogate") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(code) {
            throw malformed("lone surrogate")
        }
        guard let scalar = Unicode.Scalar(code) else { throw malformed("invalid code point") }
        return Array(String(Character(scalar)).utf8)
    }
}
