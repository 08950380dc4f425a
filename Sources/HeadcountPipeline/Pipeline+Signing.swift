import Foundation

extension Pipeline {
    /// The `signing:` section: where the private key that seals the pipeline's snapshots
    /// comes from, and optionally the public key it must have.
    ///
    /// Only names and public material live here, never a private key: pipeline files are
    /// committed and published with the certificate.
    public struct Signing: Sendable, Hashable {
        /// Where the private key is read from; nil when only `publicKey` is given.
        public var key: KeySource?
        /// Base64 of the 32 raw bytes of the Ed25519 public key the private key must match:
        /// the key the organiser published before the event. Nil pins nothing.
        public var publicKey: String?

        public init(key: KeySource?, publicKey: String? = nil) {
            self.key = key
            self.publicKey = publicKey
        }
    }

    /// The two places a private key may come from.
    public enum KeySource: Sendable, Hashable {
        /// `keyFile`: a PKCS #8 PEM file (`headcount keygen`). A relative path in the file is
        /// resolved against the pipeline file's folder when loaded with `Pipeline.load(path:)`.
        case file(String)
        /// `keyEnvironment`: the name of an environment variable holding the PEM text itself,
        /// as secret stores inject it.
        case environment(String)
    }
}

extension Pipeline.Signing {
    /// DER of a SubjectPublicKeyInfo for Ed25519 up to the 32 key bytes (RFC 8410 section 4).
    static let spkiPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// Base64 of the 32 raw key bytes from either form a person pastes: that base64 itself
    /// (as certificate.json and the logs print it) or a PEM "PUBLIC KEY" block (as
    /// `openssl pkey -pubout` and public-key.pem hold it). Nil when it is neither.
    ///
    /// Only the shape is checked here (this module does no cryptography): a pinned key that
    /// is not a valid curve point can never match a private key, which the loader reports.
    static func normalizedPublicKey(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("-----BEGIN PUBLIC KEY-----") {
            let body = trimmed.dropFirst("-----BEGIN PUBLIC KEY-----".count)
            guard let end = body.range(of: "-----END PUBLIC KEY-----"),
                  let der = Data(base64Encoded: String(body[..<end.lowerBound].filter { !$0.isWhitespace })),
                  der.count == spkiPrefix.count + 32, Array(der.prefix(spkiPrefix.count)) == spkiPrefix
            else { return nil }
            return der.suffix(32).base64EncodedString()
        }
        guard let raw = Data(base64Encoded: trimmed), raw.count == 32 else { return nil }
        return raw.base64EncodedString()
    }
}
