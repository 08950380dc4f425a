/// What went wrong building, writing or reading a certificate or a signing key.
///
/// Descriptions name files and fields, never key material.
public struct CertificateError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The signing key file does not exist.
        case keyFileMissing
        /// The signing key file exists but cannot be read (permissions, I/O).
        case keyFileUnreadable
        /// The signing key file is not a PEM Ed25519 private key.
        case keyFileMalformed
        /// Refusing to overwrite an existing signing key file.
        case keyFileExists
        /// A public key or signature is not what Ed25519 needs.
        case invalidKey
        /// Text that should be JSON is not, or a value cannot be JSON.
        case invalidJSON
        /// A certificate file is missing, unreadable or not in the expected form.
        case invalidCertificate
        /// A snapshot was sealed out of order or with numbers the chain cannot accept.
        case invalidSnapshot
        /// A participant key cannot be certified (or is not among the qualified).
        case invalidParticipant
        /// Writing the certificate folder failed.
        case writeFailed
    }

    public var code: Code
    public var message: String
    /// The file concerned, when there is one.
    public var path: String?

    public init(_ code: Code, _ message: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    /// Only I/O on a readable, writable filesystem may succeed on a second try.
    public var isRetriable: Bool {
        code == .writeFailed || code == .keyFileUnreadable
    }

    public var description: String {
        path.map { "\(code.rawValue): \($0): \(message)" } ?? "\(code.rawValue): \(message)"
    }
}
