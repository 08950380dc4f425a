import ArgumentParser
import HeadcountCertificate

/// `headcount keygen`: a new Ed25519 signing key for a pipeline.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new Ed25519 signing key (PKCS #8 PEM, mode 0600); never overwrites a file.",
        discussion: "Publish the printed public key before the event, so that certificates can be checked against it.")

    @Option(help: ArgumentHelp("Where to write the private key.", valueName: "file"))
    var out: String

    func run() async throws {
        let key = SigningKey.generate()
        do {
            try key.save(to: out)
        } catch {
            throw ValidationError("\(error)")
        }
        print("wrote \(out)")
        print("public key (base64): \(key.publicKey.base64)")
        print(key.publicKey.pem, terminator: key.publicKey.pem.hasSuffix("\n") ? "" : "\n")
    }
}
