import Foundation
import HeadcountCore
import Testing

/// The worker's decoder of canonical events: every fault gets its reason, whatever the bytes.
@Suite("Canonical event decoding")
struct CanonicalDecodingTests {
    static let valid = #"{"id":"zoom-1","pipeline":"pipe","type":"join","participant":"t-1","session":"laptop","at":"2025-09-20T09:01:02.345+07:00","source":"zoom"}"#

    static func rejection(_ text: String) -> EventRejection? {
        do {
            _ = try CanonicalEvent.decode(line: text)
            return nil
        } catch {
            return error
        }
    }

    @Test("a valid event decodes, and its canonical form decodes to the same event")
    func roundTrip() throws {
        let event = try CanonicalEvent.decode(line: Self.valid)
        #expect(event.id == "zoom-1")
        #expect(event.at.rfc3339 == "2025-09-20T02:01:02.345Z")
        #expect(try CanonicalEvent.decode(line: CanonicalEvent.encode(event)) == event)
    }

    @Test("non-ASCII values, escapes and escaped keys are read as JSON says")
    func unicodeAndEscapes() throws {
        let text = Self.valid
            .replacingOccurrences(of: #""participant":"t-1""#, with: #""participant":"Ибрагим 😀""#)
            .replacingOccurrences(of: #""session":"laptop""#, with: #""s\u0065ssion":"tab\t\"1\"""#)
        let event = try CanonicalEvent.decode(line: text)
        #expect(event.participant == "Ибрагим 😀")
        #expect(event.session == "tab\t\"1\"")
    }

    @Test("each fault gets its reason", arguments: [
        (#"{"id":"a""#, EventRejection.Reason.malformedJSON),
        (#"[1]"#, .malformedJSON),
        (valid.replacingOccurrences(of: #""source":"zoom""#, with: #""source":"zoom","extra":"x""#), .wrongSchema),
        (valid.replacingOccurrences(of: #""source":"zoom""#, with: #""source":"zoom","id":"b""#), .wrongSchema),
        (valid.replacingOccurrences(of: #""source":"zoom""#, with: #""source":7"#), .wrongSchema),
        (valid.replacingOccurrences(of: #","source":"zoom""#, with: ""), .wrongSchema),
        (valid.replacingOccurrences(of: #""join""#, with: #""enter""#), .wrongSchema),
        (valid.replacingOccurrences(of: "2025-09-20T09:01:02.345+07:00", with: "yesterday"), .impossibleTimestamp),
        // An unknown field and broken JSON after it: broken JSON is what it is called.
        (valid.replacingOccurrences(of: #""source":"zoom"}"#, with: #""extra":"x","source":"zoom""#), .malformedJSON),
    ])
    func faults(text: String, reason: EventRejection.Reason) {
        #expect(Self.rejection(text)?.reason == reason)
    }

    @Test("invalid UTF-8 inside a string is malformed JSON, not a crash or a replacement character")
    func invalidUTF8() {
        let parts = Self.valid.components(separatedBy: "t-1")
        let bytes = Array(parts[0].utf8) + [UInt8(ascii: "t"), 0xFF, UInt8(ascii: "1")] + Array(parts[1].utf8)
        #expect(throws: EventRejection.self) { try CanonicalEvent.decode(bytes) }
        do {
            _ = try CanonicalEvent.decode(bytes)
        } catch {
            #expect(error.reason == .malformedJSON)
            #expect(error.message.contains("UTF-8"))
        }
    }

    @Test("an unknown field is named in the message")
    func unknownFieldNamed() {
        let text = Self.valid.replacingOccurrences(of: #""source":"zoom""#, with: #""source":"zoom","colour":"red""#)
        #expect(Self.rejection(text)?.message.contains("colour") == true)
    }
}
