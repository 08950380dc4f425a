import HeadcountCertificate
import Testing

/// RFC 8785 (JCS): the examples of the RFC itself, and the strict parser around them.
@Suite struct CanonicalJSONTests {
    /// RFC 8785 section 3.2.3: keys sorted by UTF-16 code units (so the emoji, a surrogate
    /// pair starting 0xD83D, sorts before U+FB33).
    @Test func sortsKeysByUTF16CodeUnits() throws {
        let object: JSONValue = [
            "\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\u{1F600}": "Emoji: Grinning Face", "\u{0080}": "Control", "\u{00f6}": "Latin Small Letter O With Diaeresis",
        ]
        let keys = ["\\r", "1", "\u{0080}", "\u{00f6}", "\u{20ac}", "\u{1F600}", "\u{fb33}"]
        let text = try object.canonicalText()
        var position = text.startIndex
        for key in keys {
            let found = try #require(text.range(of: "\"\(key)\":", range: position..<text.endIndex), "key \(key)")
            position = found.upperBound
        }
    }

    /// RFC 8785 section 3.2.2 example, parsed from its own text.
    @Test func canonicalizesTheRFCExample() throws {
        let input = #"""
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """#
        let expected = #"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        #expect(try JSONValue(parsing: input).canonicalText() == expected)
    }

    /// RFC 8785 appendix B: IEEE 754 bit patterns and their ECMAScript text.
    @Test(arguments: [
        ("0000000000000000", "0"), ("8000000000000000", "0"), ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"), ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"), ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"), ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"), ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"), ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"), ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ])
    func formatsNumbersLikeECMAScript(bits: String, expected: String) throws {
        let value = Double(bitPattern: try #require(UInt64(bits, radix: 16)))
        #expect(try JSONValue.number(value).canonicalText() == expected)
    }

    @Test func formatsIntegersExactlyAndNumbersLikeTheirIntegers() throws {
        #expect(try JSONValue.integer(0).canonicalText() == "0")
        #expect(try JSONValue.integer(-42).canonicalText() == "-42")
        #expect(try JSONValue.integer(9_007_199_254_740_992).canonicalText() == "9007199254740992")
        // Beyond 2^53, RFC 8785 sees the nearest double, as ECMAScript would.
        #expect(try JSONValue.integer(Int64.max).canonicalText() == "9223372036854776000")
        #expect(try JSONValue.number(25000.0).canonicalText() == "25000")
        #expect(try JSONValue.number(-0.0).canonicalText() == "0")
        #expect(try JSONValue.number(1e21).canonicalText() == "1e+21")
        #expect(try JSONValue.number(123456789012345680000.0).canonicalText() == "123456789012345680000")
    }

    @Test func refusesNonFiniteNumbers() {
        #expect(throws: CertificateError.self) { try JSONValue.number(.nan).canonicalText() }
        #expect(throws: CertificateError.self) { try JSONValue.number(.infinity).canonicalText() }
    }

    @Test func escapesOnlyWhatJCSEscapes() throws {
        let text = "\u{0}\u{1f}\u{7f}\u{8}\u{c}\t\n\r\"\\/é😀"
        #expect(try JSONValue.string(text).canonicalText() == #""\u0000\u001f"# + "\u{7f}" + #"\b\f\t\n\r\"\\/é😀""#)
    }

    @Test func parsesWhatItWritesBack() throws {
        let value: JSONValue = [
            "a": [1, 2.5, -3e-9, true, false, nil, "x\u{0}\u{1F600}"], "b": ["nested": [:], "empty": []],
            "\u{1F600}": "emoji key", "large": .integer(9_007_199_254_740_992),
        ]
        #expect(try JSONValue(parsing: value.canonicalText()) == value)
        #expect(try JSONValue(parsing: value.prettyText()) == value)
        #expect(try JSONValue(parsing: value.prettyText()).canonicalText() == value.canonicalText())
    }

    @Test(arguments: [
        #"{"a":1,"a":2}"#, #"{"a":1,}"#, #"[1,]"#, "01", "1.", ".5", "-", "1e", "+1", #""\ud800""#,
        #""\udc00x""#, #""\ud83dx""#, "\"a\u{1}\"", #""\x""#, "[1] x", "nul", "1e400", "", "{\"a\" 1}", "[" + String(repeating: "[", count: 100) + "]",
    ])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: CertificateError.self) { try JSONValue(parsing: text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: CertificateError.self) { try JSONValue(parsing: [0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try JSONValue(parsing: #""\ud83d\ude00""#) == .string("😀"))
    }
}
