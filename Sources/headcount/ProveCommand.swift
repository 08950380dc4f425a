import ArgumentParser
import HeadcountAdapters
import HeadcountCertificate
import HeadcountPipeline

/// `headcount prove DIR --participant KEY` or `--identity EMAIL --pseudonym-key FILE`: a
/// participant's RFC 6962 inclusion proof.
struct ProveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Print the inclusion proof (JSON) that a participant is among the certified qualified participants.",
        discussion: """
            With --identity, a teacher checks her own inclusion: her e-mail address (or the id the platform
            knows her by) is normalised and pseudonymised with the pipeline's pseudonym key, exactly as the
            ingest service did, and the proof is for the participant key that gives.
            """)

    @Argument(help: ArgumentHelp("The certificate folder.", valueName: "dir"))
    var directory: String

    @Option(help: ArgumentHelp("The participant key, as in participants.txt (unescaped).", valueName: "key"))
    var participant: String?

    @Option(help: ArgumentHelp("An identity (e-mail address) to pseudonymise instead of --participant.", valueName: "email"))
    var identity: String?

    @Option(help: ArgumentHelp("With --identity: the file holding the pipeline's pseudonym key.", valueName: "file"))
    var pseudonymKey: String?

    func validate() throws {
        guard (participant == nil) != (identity == nil) else { throw ValidationError("give --participant KEY or --identity EMAIL") }
        guard (identity == nil) == (pseudonymKey == nil) else { throw ValidationError("--identity needs --pseudonym-key FILE, and only it") }
    }

    func run() async throws {
        do {
            let key = try participantKey()
            let proof = try CertificateVerifier(directory: directory).prove(participant: key)
            print(try proof.json.prettyText())
        } catch let error as CertificateError where error.code == .invalidParticipant && identity != nil {
            // The teacher's own check: say what a miss can mean, without echoing her address.
            throw fail("this identity is not among the qualified participants of the certificate in \(directory) "
                + "(check the spelling of the address, and that --pseudonym-key is this pipeline's key)")
        } catch {
            throw fail("\(error)")
        }
    }

    /// A runtime failure: one line on standard error, then exit status 1 (no usage text).
    private func fail(_ message: String) -> ExitCode {
        FileHandleWriter.writeToStandardError("headcount prove: \(message)\n")
        return .failure
    }

    private func participantKey() throws -> String {
        if let participant { return participant }
        let secret = try Pipeline.KeySource.file(pseudonymKey!).readSecret(field: "--pseudonym-key")
        guard let key = Pseudonymizer(key: secret).participant(identity: identity!) else {
            throw ValidationError("--identity is blank")
        }
        return key
    }
}
