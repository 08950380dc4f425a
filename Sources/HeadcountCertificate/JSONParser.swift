extension JSONValue {
    /// Parses strict JSON (RFC 8259, with the I-JSON restrictions of RFC 7493 that RFC 8785
    /// relies on): valid UTF-8, no duplicate keys, no lone surrogates, finite numbers.
    ///
    /// Integers written without fraction or exponent that fit in 64 bits become `integer`.
    public init(parsing bytes: [UInt8]) throws(CertificateError) {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw CertificateError(.invalidJSON, "the text is not valid UTF-8")
        }
        var parser = JSONParser(bytes: bytes)
        self = try parser.document()
    }

    /// Parses strict JSON text; see `init(parsing:)` for what is accepted.
    public init(parsing text: String) throws(CertificateError) {
        try self.init(parsing: Array(text.utf8))
    }
}

/// A recursive-descent cursor over JSON bytes.
private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    /// Certificates are shallow; a deep document is an attack on the stack, not data.
    static let maximumDepth = 64

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws(CertificateError) -> JSONValue {
        let value = try value(depth: 0)
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected text after the JSON value") }
        return value
    }

    func failure(_ message: String) -> CertificateError {
        CertificateError(.invalidJSON, "\(message) at byte \(index)")
    }

    mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func value(depth: Int) throws(CertificateError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
        skipWhitespace()
        guard index < bytes.count else { throw failure("unexpected end of text") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return try number()
        }
    }

    mutating func literal(_ word: String, _ value: JSONValue) throws(CertificateError) -> JSONValue {
        let expected = Array(word.utf8)
        guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
            throw failure("unexpected character")
        }
        index += expected.count
        return value
    }

    mutating func expect(_ byte: UInt8) throws(CertificateError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else {
            throw failure("expected '\(Character(UnicodeScalar(byte)))'")
        }
        index += 1
    }

    /// True (and consumes it) when the next non-blank byte is `byte`.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func object(depth: Int) throws(CertificateError) -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        if take(UInt8(ascii: "}")) { return .object(members) }
        repeat {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a key") }
            let key = try string()
            try expect(UInt8(ascii: ":"))
            let member = try value(depth: depth + 1)
            guard members.updateValue(member, forKey: key) == nil else {
                throw failure("duplicate key \"\(key.prefix(40))\"")
            }
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
        return .object(members)
    }

    mutating func array(depth: Int) throws(CertificateError) -> JSONValue {
        index += 1
        var items: [JSONValue] = []
        if take(UInt8(ascii: "]")) { return .array(items) }
        repeat {
            items.append(try value(depth: depth + 1))
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
        return .array(items)
    }

    mutating func string() throws(CertificateError) -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        while true {
            guard index < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                return String(scalars)
            case UInt8(ascii: "\\"):
                scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                run.removeAll(keepingCapacity: true)
                scalars.append(try escape())
            case 0..<0x20:
                throw failure("control character in a string")
            default:
                run.append(byte)
            }
        }
    }

    mutating func escape() throws(CertificateError) -> UnicodeScalar {
        guard index < bytes.count else { throw failure("unterminated escape") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"): return try unicodeEscape()
        default: throw failure("unknown escape")
        }
    }

    mutating func unicodeEscape() throws(CertificateError) -> UnicodeScalar {
        let first = try hexQuad()
        if (0xD800...0xDBFF).contains(first) {
            // A high surrogate must be followed by an escaped low surrogate (I-JSON).
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw failure("lone surrogate")
            }
            index += 2
            let second = try hexQuad()
            guard (0xDC00...0xDFFF).contains(second) else { throw failure("lone surrogate") }
            return UnicodeScalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
        }
        guard let scalar = UnicodeScalar(first) else { throw failure("lone surrogate") }
        return scalar
    }

    mutating func hexQuad() throws(CertificateError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            guard let digit = Hex.value(of: byte) else { throw failure("bad \\u escape") }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }

    mutating func number() throws(CertificateError) -> JSONValue {
        let start = index
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digits() > 0 else { throw failure("unexpected character") }
        // RFC 8259 forbids leading zeros such as 012.
        let first = bytes[start] == UInt8(ascii: "-") ? start + 1 : start
        if bytes[first] == UInt8(ascii: "0"), index - first > 1 { throw failure("leading zero in a number") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard digits() > 0 else { throw failure("digits expected after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            isInteger = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw failure("digits expected in the exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let exact = Int64(text) { return .integer(exact) }
        guard let value = Double(text), value.isFinite else { throw failure("number out of range") }
        return .number(value)
    }

    mutating func digits() -> Int {
        let start = index
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
        return index - start
    }
}
