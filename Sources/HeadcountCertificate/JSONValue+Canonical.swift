import HeadcountCore

/// Serialization: the canonical form of RFC 8785 (JCS) for hashing, and a readable form.
extension JSONValue {
    /// The RFC 8785 canonical text: keys sorted by UTF-16 code units, no whitespace,
    /// minimal string escaping, ECMAScript number form.
    ///
    /// Throws for NaN or an infinity, which JSON cannot represent.
    public func canonicalText() throws(CertificateError) -> String {
        var out = ""
        try append(to: &out, indent: nil, depth: 0)
        return out
    }

    /// The UTF-8 bytes of `canonicalText()`: what the certificate's hashes are taken over.
    public func canonicalBytes() throws(CertificateError) -> [UInt8] {
        Array(try canonicalText().utf8)
    }

    /// The same content with two-space indentation and the same key order, for files people read.
    ///
    /// Parsing it back and canonicalizing gives the canonical text again.
    public func prettyText() throws(CertificateError) -> String {
        var out = ""
        try append(to: &out, indent: "  ", depth: 0)
        return out + "\n"
    }

    private func append(to out: inout String, indent: String?, depth: Int) throws(CertificateError) {
        switch self {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .integer(let value): out += ECMAScriptNumber.text(value)
        case .number(let value):
            guard let text = ECMAScriptNumber.text(value) else {
                throw CertificateError(.invalidJSON, "\(value) cannot be written as JSON")
            }
            out += text
        case .string(let text): Self.appendQuoted(text, to: &out)
        case .array(let items):
            try Self.appendContainer(items.map { (nil, $0) }, brackets: ("[", "]"), to: &out, indent: indent, depth: depth)
        case .object(let members):
            let sorted = members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            try Self.appendContainer(sorted.map { ($0.key, $0.value) }, brackets: ("{", "}"), to: &out, indent: indent, depth: depth)
        }
    }

    private static func appendContainer(
        _ entries: [(String?, JSONValue)], brackets: (String, String), to out: inout String, indent: String?, depth: Int
    ) throws(CertificateError) {
        out += brackets.0
        guard !entries.isEmpty else {
            out += brackets.1
            return
        }
        for (index, (key, value)) in entries.enumerated() {
            if index > 0 { out += "," }
            if let indent { out += "\n" + String(repeating: indent, count: depth + 1) }
            if let key {
                appendQuoted(key, to: &out)
                out += indent == nil ? ":" : ": "
            }
            try value.append(to: &out, indent: indent, depth: depth + 1)
        }
        if let indent { out += "\n" + String(repeating: indent, count: depth) }
        out += brackets.1
    }

    /// RFC 8785 section 3.2.2.2 string escaping: the canonical event encoder's, which follows it.
    static func appendQuoted(_ text: String, to out: inout String) {
        CanonicalEvent.appendQuoted(text, to: &out)
    }
}
