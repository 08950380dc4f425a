import ArgumentParser
import Foundation
import HeadcountCertificate

/// `headcount verify DIR`: checks a certificate folder offline, or one inclusion proof.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a certificate folder offline (hashes, chain, signatures, participants, result), or one proof with --proof.")

    @Argument(help: ArgumentHelp("The certificate folder.", valueName: "dir"))
    var directory: String

    @Option(help: ArgumentHelp("Check this inclusion proof (JSON from `headcount prove`) instead.", valueName: "file"))
    var proof: String?

    @Option(help: ArgumentHelp("Require this public key (PEM), obtained independently of the folder.", valueName: "file"))
    var publicKey: String?

    func run() async throws {
        if let proof {
            try verify(proofFile: proof)
            return
        }
        var verifier = CertificateVerifier(directory: directory)
        if let publicKey {
            do {
                verifier.expectedPublicKey = try PublicKey(pem: String(contentsOfFile: publicKey, encoding: .utf8))
            } catch {
                throw ValidationError("cannot use the public key \(publicKey): \(error)")
            }
        }
        let report = verifier.verify()
        print(report.summary, terminator: report.summary.hasSuffix("\n") ? "" : "\n")
        guard report.isValid else { throw ExitCode(2) }
    }

    private func verify(proofFile: String) throws {
        let proof: InclusionProof
        do {
            let text = try String(contentsOfFile: proofFile, encoding: .utf8)
            proof = try InclusionProof(json: JSONValue(parsing: text))
        } catch {
            throw ValidationError("cannot read the proof \(proofFile): \(error)")
        }
        let valid: Bool
        do {
            valid = try CertificateVerifier(directory: directory).verifyProof(proof)
        } catch {
            throw ValidationError("\(error)")
        }
        print(valid
            ? "valid: participant is leaf \(proof.leafIndex) of \(proof.treeSize) under bucket \(proof.bucket)'s participants_root \(proof.root)"
            : "INVALID: the proof does not lead to this certificate's last participants_root")
        guard valid else { throw ExitCode(2) }
    }
}
