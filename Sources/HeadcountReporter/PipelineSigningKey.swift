import Foundation
import HeadcountCertificate
import HeadcountPipeline

/// Finds the private key that seals a pipeline's snapshots, checked against the public
/// key the pipeline pins.
///
/// In order: an explicit key file (`--key`), what the pipeline's `signing:` section names,
/// then the path in `HEADCOUNT_SIGNING_KEY`. The explicit file wins so an operator can
/// rotate in a replacement without editing a committed file; the pin still applies to it,
/// so the replacement must be the published key.
public enum PipelineSigningKey {
    /// Loads the key, or fails with an error that names the option, field or variable.
    public static func load(
        for pipeline: Pipeline, keyFile: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ReporterError) -> SigningKey {
        let key = try unpinned(pipeline: pipeline, keyFile: keyFile, environment: environment)
        if let pinned = pipeline.signing?.publicKey, key.publicKey.base64 != pinned {
            throw ReporterError(.configuration, """
                the signing key's public key \(key.publicKey.base64) is not the one pipeline \(pipeline.id) pins \
                (signing.publicKey \(pinned)): certificates would not verify against the published key
                """)
        }
        return key
    }

    private static func unpinned(
        pipeline: Pipeline, keyFile: String?, environment: [String: String]
    ) throws(ReporterError) -> SigningKey {
        if let keyFile, !keyFile.isEmpty { return try file(keyFile, naming: "--key") }
        switch pipeline.signing?.key {
        case .file(let path):
            return try file(path, naming: "the pipeline's signing.keyFile")
        case .environment(let name):
            guard let text = environment[name], !text.isEmpty else {
                throw ReporterError(.configuration, "no signing key: the pipeline's signing.keyEnvironment names \(name), which is not set")
            }
            do {
                return try SigningKey(pem: text)
            } catch {
                throw ReporterError(.configuration, "cannot use the signing key in \(name) (the pipeline's signing.keyEnvironment): \(error.message)")
            }
        case nil:
            guard let path = environment["HEADCOUNT_SIGNING_KEY"], !path.isEmpty else {
                throw ReporterError(.configuration, """
                    no signing key: pass --key FILE, name one in the pipeline's signing: section, or set \
                    HEADCOUNT_SIGNING_KEY (make one with `headcount keygen --out FILE`)
                    """)
            }
            return try file(path, naming: "HEADCOUNT_SIGNING_KEY")
        }
    }

    private static func file(_ path: String, naming origin: String) throws(ReporterError) -> SigningKey {
        do {
            return try SigningKey.load(from: path)
        } catch {
            throw ReporterError(.configuration, "cannot use the signing key from \(origin): \(error)")
        }
    }
}
