import ArgumentParser
import HeadcountCertificate
import HeadcountCommandLine
import HeadcountReporter
import HeadcountStore
import Logging

/// `headcount certificate`: writes the certificate folder of everything sealed so far.
struct CertificateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificate",
        abstract: "Write the certificate folder (certificate.json, participants.txt, public-key.pem, certificate.html).")

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var database: DatabaseOption
    @OptionGroup var key: SigningKeyOption
    @OptionGroup var logging: LoggingOptions

    @Option(help: ArgumentHelp("The folder to write (created when missing).", valueName: "dir"))
    var out: String

    func run() async throws {
        let logger = logging.bootstrap("headcount.certificate")
        let pipeline = try self.pipeline.load()
        let signingKey = try key.load(for: pipeline)
        let certificate = try await EventStore.withRunning(url: try database.url(), logger: logger) { store in
            try await store.migrate()
            // The chain was signed with the key stored at its first seal: a certificate
            // under any other key would not verify, so say which key is needed instead.
            if let stored = try await store.storedPublicKey(pipeline: pipeline.id), stored != signingKey.publicKey.base64 {
                throw ValidationError("""
                    pipeline \(pipeline.id) is sealed with public key \(stored), but this signing key has public key \
                    \(signingKey.publicKey.base64): use the pipeline's key
                    """)
            }
            return try await CertificateAssembly.load(store: store, pipeline: pipeline, publicKey: signingKey.publicKey)
        }
        guard !certificate.snapshots.isEmpty else {
            throw ValidationError("nothing sealed yet for pipeline \(pipeline.id): run `headcount report` first")
        }
        try CertificateWriter(directory: out).write(certificate, signingKey: signingKey)
        let result = certificate.result
        print("wrote \(out): \(certificate.snapshots.count) of \(pipeline.rules.bucketCount) buckets sealed"
            + (certificate.isFinal ? "" : " (provisional)") + ", qualified \(result.qualified), peak \(result.peak)"
            + (certificate.pipeline.spec.hasSustainedPeak ? ", sustained peak \(result.sustainedPeak)" : "")
            + ", \(certificate.amendments.count) amendments, \(certificate.incomplete.count) incomplete buckets")
    }
}
