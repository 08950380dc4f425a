import Crypto
import HeadcountPipeline

/// Turns a person's identity into the participant key that Kafka, PostgreSQL and the
/// certificate carry: lowercase hex HMAC-SHA256(pipeline pseudonym key, normalised identity).
///
/// The server, the importers, `HeadcountClient` and `headcount prove --identity` all use this
/// one type, so the same teacher is the same participant whichever way her events came.
public struct Pseudonymizer: Sendable {
    // The raw bytes: swift-crypto's SymmetricKey is not Sendable, and making one is cheap.
    private let key: [UInt8]

    /// A pseudonymizer with the pipeline's secret key bytes.
    public init(key: [UInt8]) {
        self.key = key
    }

    /// The identity as it is hashed: trimmed, and lower-cased when it is an e-mail address
    /// (`Ana@School.ID` and `ana@school.id` are one mailbox for every platform we serve).
    /// Nil when nothing is left after trimming.
    public static func normalize(_ identity: String) -> String? {
        let trimmed = identity.trimmingWhitespace()
        guard !trimmed.isEmpty else { return nil }
        return looksLikeEmail(trimmed) ? trimmed.lowercased() : trimmed
    }

    /// The participant key of an identity already normalised.
    public func participant(normalized identity: String) -> String {
        Signatures.hmacSHA256(key: key, Array(identity.utf8))
    }

    /// The participant key of a raw identity, or nil when it is blank.
    public func participant(identity: String) -> String? {
        Self.normalize(identity).map(participant(normalized:))
    }

    static func looksLikeEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !text.contains(" ")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

/// Lowercase hexadecimal, the form every signature and key here is written in.
enum Hex {
    static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func lowercase(_ code: some MessageAuthenticationCode) -> String {
        code.withUnsafeBytes { lowercase($0) }
    }

    static func lowercase(_ digest: some Digest) -> String {
        digest.withUnsafeBytes { lowercase($0) }
    }
}
