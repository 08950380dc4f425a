import ArgumentParser
import Foundation
import HeadcountCertificate
import HeadcountPipeline
import HeadcountReporter

/// `--key FILE`: the pipeline's Ed25519 signing key (PEM); without it, the key the
/// pipeline's `signing:` section names, else `HEADCOUNT_SIGNING_KEY`.
struct SigningKeyOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The pipeline's signing key, a PKCS #8 PEM file from `headcount keygen` (default: the pipeline's signing: section, else $HEADCOUNT_SIGNING_KEY).",
        valueName: "file"))
    var key: String?

    /// Whether some key is named at all (the pipeline's section aside).
    var isGiven: Bool {
        if let key, !key.isEmpty { return true }
        return ProcessInfo.processInfo.environment["HEADCOUNT_SIGNING_KEY"].map { !$0.isEmpty } ?? false
    }

    /// Loads the key, failing at start-up with a message that names where it was looked for.
    func load(for pipeline: Pipeline) throws -> SigningKey {
        do {
            return try PipelineSigningKey.load(for: pipeline, keyFile: key)
        } catch {
            throw ValidationError(error.message)
        }
    }
}
