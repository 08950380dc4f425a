import ArgumentParser
import Foundation
import HeadcountCertificate

/// `--key FILE`, or `HEADCOUNT_SIGNING_KEY`: the pipeline's Ed25519 signing key (PEM).
struct SigningKeyOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The pipeline's signing key, a PKCS #8 PEM file from `headcount keygen` (default: $HEADCOUNT_SIGNING_KEY).",
        valueName: "file"))
    var key: String?

    /// The path given, or nil when neither the option nor the variable is set.
    var path: String? {
        if let key, !key.isEmpty { return key }
        if let path = ProcessInfo.processInfo.environment["HEADCOUNT_SIGNING_KEY"], !path.isEmpty { return path }
        return nil
    }

    /// Loads the key, failing at start-up with a message that names the file.
    func load() throws -> SigningKey {
        guard let path else {
            throw ValidationError("no signing key: pass --key FILE or set HEADCOUNT_SIGNING_KEY (make one with `headcount keygen --out FILE`)")
        }
        do {
            return try SigningKey.load(from: path)
        } catch {
            throw ValidationError("cannot use the signing key: \(error)")
        }
    }
}
