import ArgumentParser
import HeadcountCertificate

/// `headcount prove DIR --participant KEY`: a participant's RFC 6962 inclusion proof.
struct ProveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Print the inclusion proof (JSON) that a participant is among the certified qualified participants.")

    @Argument(help: ArgumentHelp("The certificate folder.", valueName: "dir"))
    var directory: String

    @Option(help: ArgumentHelp("The participant key, as in participants.txt (unescaped).", valueName: "key"))
    var participant: String

    func run() async throws {
        do {
            let proof = try CertificateVerifier(directory: directory).prove(participant: participant)
            print(try proof.json.prettyText())
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
