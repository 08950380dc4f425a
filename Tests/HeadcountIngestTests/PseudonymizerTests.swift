import Crypto
@testable import HeadcountAdapters
import Testing

/// The identity rules every route shares, and the cache in front of the HMAC.
@Suite struct PseudonymizerTests {
    static let key = Array("a pipeline's pseudonym key, 32 b".utf8)

    static func hmac(_ identity: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(identity.utf8), using: SymmetricKey(data: key))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    @Test func eMailAddressesAreLowerCasedAndOtherIdentitiesKept() {
        #expect(Pseudonymizer.normalize("  Ana@School.ID ") == "ana@school.id")
        #expect(Pseudonymizer.normalize("\u{00A0}Ana@School.ID\t") == "ana@school.id", "Unicode whitespace is trimmed too")
        #expect(Pseudonymizer.normalize("Zoom-User-42") == "Zoom-User-42")
        #expect(Pseudonymizer.normalize("   ") == nil)
        for (text, isEmail) in [
            ("ana@school.id", true), ("a@b.c", true), ("@school.id", false), ("ana@school", false), ("ana@@school.id", false),
            ("ana@sch@ool.id", false), ("ana smith@school.id", false), ("ana.smith@school", false), ("ana.smith@sch.ool", true),
        ] {
            #expect(Pseudonymizer.looksLikeEmail(text) == isEmail, "\(text)")
        }
    }

    @Test func keysAreTheHMACOfTheNormalisedIdentityCachedOrNot() {
        let pseudonymizer = Pseudonymizer(key: Self.key)
        for _ in 0..<2 {
            #expect(pseudonymizer.participant(identity: "Ana@School.ID") == Self.hmac("ana@school.id"))
            #expect(pseudonymizer.participant(identity: "teacher-7") == Self.hmac("teacher-7"))
        }
        // Two spellings of one letter are two byte strings, so two keys, also once both are cached.
        let composed = "jos\u{00E9}@school.id", decomposed = "jose\u{0301}@school.id"
        #expect(composed == decomposed, "Swift calls them equal")
        for _ in 0..<2 {
            #expect(pseudonymizer.participant(normalized: composed) == Self.hmac(composed))
            #expect(pseudonymizer.participant(normalized: decomposed) == Self.hmac(decomposed))
        }
        #expect(Self.hmac(composed) != Self.hmac(decomposed))
    }
}
