import Crypto
import Foundation

/// The Ed25519 key that signs a pipeline's snapshots.
///
/// Stored as a PKCS #8 PEM file ("PRIVATE KEY"), the form OpenSSL reads, so that an
/// operator can inspect or back it up with standard tools (`openssl pkey -in FILE -pubout`).
/// Its `description` shows only the public half.
public struct SigningKey: Sendable, CustomStringConvertible {
    /// The 32-byte seed. Kept as bytes because swift-crypto's key types are not `Sendable`;
    /// the key object is rebuilt for each use, which costs microseconds per snapshot.
    private let seed: [UInt8]

    /// DER of a PKCS #8 Ed25519 private key up to the 32-byte seed (RFC 8410 section 7).
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    /// A fresh random key.
    public static func generate() -> SigningKey {
        SigningKey(key: Curve25519.Signing.PrivateKey())
    }

    private init(key: Curve25519.Signing.PrivateKey) { seed = Array(key.rawRepresentation) }

    /// A key from its 32-byte seed (RFC 8032 private key); for tests and imports.
    public init(seed: [UInt8]) throws(CertificateError) {
        guard seed.count == 32, (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)) != nil else {
            throw CertificateError(.invalidKey, "an Ed25519 seed is 32 bytes")
        }
        self.seed = seed
    }

    /// The seed was validated when this value was made, so rebuilding cannot fail.
    private var key: Curve25519.Signing.PrivateKey {
        try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    /// The public half, published with every certificate.
    public var publicKey: PublicKey { PublicKey(raw: Array(key.publicKey.rawRepresentation)) }

    public var description: String { "SigningKey(public \(publicKey.base64))" }

    /// Ed25519 over the 32 raw bytes of a lowercase hex SHA-256, base64 (padded).
    public func signature(forHash hash: String) throws(CertificateError) -> String {
        guard let digest = Hex.decode(hash), digest.count == 32 else {
            throw CertificateError(.invalidSnapshot, "a snapshot hash is 64 lowercase hex digits")
        }
        do {
            return try key.signature(for: digest).base64EncodedString()
        } catch {
            throw CertificateError(.invalidKey, "signing failed: \(type(of: error))")
        }
    }

    /// The PEM text of the private key: never logged, only written by `save(to:)`.
    private var pem: String {
        PEM.encode(label: "PRIVATE KEY", der: Self.pkcs8Prefix + Array(key.rawRepresentation))
    }

    /// Reads a key written by `save(to:)` (or by `openssl genpkey -algorithm ed25519`).
    public static func load(from path: String) throws(CertificateError) -> SigningKey {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CertificateError(.keyFileMissing, "no signing key here; create one with `headcount keygen`", path: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CertificateError(.keyFileUnreadable, "the signing key file cannot be read (check its permissions)", path: path)
        }
        do {
            return try SigningKey(pem: String(decoding: data, as: UTF8.self))
        } catch {
            throw CertificateError(error.code, error.message, path: path)
        }
    }

    /// A key from PEM text (PKCS #8 "PRIVATE KEY"), as an environment variable or a secret
    /// store hands it over. Errors never quote the text.
    public init(pem text: String) throws(CertificateError) {
        guard let der = PEM.decode(label: "PRIVATE KEY", text: text),
              der.count == Self.pkcs8Prefix.count + 32, Array(der.prefix(Self.pkcs8Prefix.count)) == Self.pkcs8Prefix,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
        else { throw CertificateError(.keyFileMalformed, "not a PEM Ed25519 private key (PKCS #8)") }
        self.init(key: key)
    }

    /// Writes the key to a new file readable by its owner only (mode 0600).
    ///
    /// Refuses to replace an existing file: losing a signing key mid-event would orphan
    /// every snapshot already signed with it.
    public func save(to path: String) throws(CertificateError) {
        try FileOutput.createPrivate(path: path, contents: Array(pem.utf8))
    }
}

/// The Ed25519 public key a certificate is verified with: base64 of its 32 raw bytes.
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32 raw bytes (not swift-crypto's key type, which is not `Sendable`).
    private let raw: [UInt8]

    /// DER of a SubjectPublicKeyInfo for Ed25519 up to the 32 key bytes (RFC 8410 section 4).
    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    fileprivate init(raw: [UInt8]) { self.raw = raw }

    /// A key from base64 of its 32 raw bytes.
    public init(base64: String) throws(CertificateError) {
        guard let raw = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32,
              (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        else { throw CertificateError(.invalidKey, "a public key is base64 of 32 bytes") }
        self.raw = Array(raw)
    }

    /// A key from a PEM "PUBLIC KEY" (SubjectPublicKeyInfo), as `openssl pkey -pubout` writes.
    public init(pem: String) throws(CertificateError) {
        guard let der = PEM.decode(label: "PUBLIC KEY", text: pem), der.count == Self.spkiPrefix.count + 32,
              Array(der.prefix(Self.spkiPrefix.count)) == Self.spkiPrefix,
              (try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32))) != nil
        else { throw CertificateError(.invalidKey, "not a PEM Ed25519 public key") }
        raw = Array(der.suffix(32))
    }

    /// Base64 (standard, padded) of the 32 raw bytes: the form in certificate.json.
    public var base64: String { Data(raw).base64EncodedString() }

    /// The PEM form, for `openssl pkeyutl -verify -pubin`.
    public var pem: String { PEM.encode(label: "PUBLIC KEY", der: Self.spkiPrefix + raw) }

    public var description: String { base64 }

    /// Whether `signature` (base64) is this key's Ed25519 signature of the 32 bytes of `hash` (hex).
    public func isValidSignature(_ signature: String, forHash hash: String) -> Bool {
        guard let digest = Hex.decode(hash), digest.count == 32,
              let bytes = Data(base64Encoded: signature), bytes.count == 64,
              bytes.base64EncodedString() == signature,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { return false }
        return key.isValidSignature(bytes, for: digest)
    }
}

/// RFC 7468 textual encoding, just enough for one key per file.
enum PEM {
    static func encode(label: String, der: [UInt8]) -> String {
        let body = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(body)\n-----END \(label)-----\n"
    }

    static func decode(label: String, text: String) -> [UInt8]? {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        guard let head = text.range(of: begin), let tail = text.range(of: end, range: head.upperBound..<text.endIndex) else {
            return nil
        }
        let body = text[head.upperBound..<tail.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body)).map(Array.init)
    }
}
