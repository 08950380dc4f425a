/// What stops the reporter, without key material or personal data.
public struct ReporterError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The signing key, the pipeline or an option cannot be used.
        case configuration
        /// The stored chain does not continue under this pipeline and key (another key,
        /// changed rules, a broken link): sealing on would certify nonsense.
        case chainMismatch
        /// The pipeline's snapshots are signed with another key than this reporter's.
        case keyMismatch
        /// Numbers that cannot be sealed (e.g. `qualified` would decrease after late events).
        case unsealable
        /// The reporter's own state lacks what sealing a bucket needs (no chain loaded, no
        /// standing numbers for a sealed bucket): a fault of the program, never defaulted.
        case inconsistent
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether trying again later may succeed: a bucket may become sealable when more
    /// events arrive; a wrong key or chain never fixes itself.
    public var isRetriable: Bool { code == .unsealable }

    public var description: String { "\(code.rawValue): \(message)" }
}
