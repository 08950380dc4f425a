import Crypto
import HeadcountCore
import HeadcountPipeline
import Synchronization

/// Turns a person's identity into the participant key that Kafka, PostgreSQL and the
/// certificate carry: lowercase hex HMAC-SHA256(pipeline pseudonym key, normalised identity).
///
/// The server, the importers, `HeadcountClient` and `headcount prove --identity` all use this
/// one type, so the same teacher is the same participant whichever way her events came.
public struct Pseudonymizer: Sendable {
    // The raw bytes: swift-crypto's SymmetricKey is not Sendable, and making one is cheap.
    private let key: [UInt8]
    /// Keys already made: a teacher's every heartbeat carries the same address, and the HMAC
    /// with its key set-up was a tenth of ingest's work per event (shared by the copies of
    /// this value, so every route of a pipeline fills one cache).
    private let made = PseudonymCache()

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
        if let known = made.key(of: identity) { return known }
        let participant = Signatures.hmacSHA256(key: key, Array(identity.utf8))
        made.remember(participant, of: identity)
        return participant
    }

    /// The participant key of a raw identity, or nil when it is blank.
    public func participant(identity: String) -> String? {
        Self.normalize(identity).map(participant(normalized:))
    }

    /// Exactly one "@", something before it, a "." after it, and no space. Byte by byte: the
    /// Foundation substring search this was written with cost more than the HMAC.
    static func looksLikeEmail(_ text: String) -> Bool {
        var ats = 0, position = 0, atPosition = -1, dotAfterAt = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "@"):
                ats += 1
                atPosition = position
            case UInt8(ascii: " "): return false
            case UInt8(ascii: "."): if ats == 1 { dotAfterAt = true }
            default: break
            }
            position += 1
        }
        return ats == 1 && atPosition > 0 && dotAfterAt
    }
}

/// Identities and their participant keys, bounded: once full it starts again empty (a
/// live event's teachers fit many times over; a cold miss costs one HMAC). Raw identities
/// stay in this process's memory only, as they do while a request is handled.
final class PseudonymCache: Sendable {
    private static let capacity = 1 << 18
    // Byte for byte, as the HMAC sees them: Swift's String equality would make two spellings
    // of "é" (composed, decomposed) one identity with two different keys.
    private let keys = Mutex<[ExactKey: String]>([:])

    func key(of identity: String) -> String? {
        keys.withLock { $0[ExactKey(identity)] }
    }

    func remember(_ participant: String, of identity: String) {
        keys.withLock { keys in
            if keys.count >= Self.capacity { keys.removeAll(keepingCapacity: true) }
            keys[ExactKey(identity)] = participant
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        // Nearly every identity is ASCII with nothing to trim: skip the Unicode scan.
        if let first = utf8.first, let last = utf8.last, first > 0x20, first < 0x80, last > 0x20, last < 0x80 { return self }
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
