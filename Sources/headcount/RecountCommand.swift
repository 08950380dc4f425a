import ArgumentParser
import Foundation
import HeadcountCertificate
import HeadcountCommandLine
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `headcount recount`: every bucket recounted from all stored events, checked against the
/// certified chain (COUNTING.md section 6).
struct RecountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recount",
        abstract: "Recount every bucket from the stored events and check the certified snapshots and amendments.",
        discussion: """
            Exits non-zero, naming the bucket, when a recounted number differs from the certified one and the bucket's \
            latest amendment does not explain it, or when a stored hash, chain link or signature does not verify.
            """)

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var database: DatabaseOption
    @OptionGroup var key: PublicKeyOption
    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let logger = logging.bootstrap("headcount.recount")
        let pipeline = try self.pipeline.load()
        let publicKey = try key.load(for: pipeline)
        let progress = Progress()
        let report = try await EventStore.withRunning(url: try database.url(), logger: logger) { store in
            try await store.migrate()
            progress.show("reading stored events…")
            let events = try await store.events(pipeline: pipeline.id)
            progress.show("reading snapshots and amendments…")
            let snapshots = try await store.storedSnapshots(pipeline: pipeline.id)
            let amendments = try await store.storedAmendments(pipeline: pipeline.id)
            let flags = IncompleteBuckets.flags(snapshots: snapshots, gaps: try await store.retentionGaps(pipeline: pipeline.id))
            progress.show("recounting \(events.count) events, checking \(snapshots.count) snapshots…")
            return Recount.check(
                pipeline: pipeline, events: events, snapshots: snapshots, amendments: amendments, publicKey: publicKey,
                incomplete: flags)
        }
        progress.clear()
        print(json ? report.json() : report.table(), terminator: "")
        guard report.isValid else {
            for failure in report.failures { FileHandleWriter.writeToStandardError("recount: \(failure)\n") }
            throw ExitCode(2)
        }
    }
}

/// A one-line progress indicator on standard error, only when that is a terminal: logs and
/// pipes stay clean.
private struct Progress: Sendable {
    let enabled = isatty(STDERR_FILENO) == 1

    func show(_ text: String) {
        guard enabled else { return }
        FileHandleWriter.writeToStandardError("\r\u{1B}[K" + text)
    }

    func clear() {
        guard enabled else { return }
        FileHandleWriter.writeToStandardError("\r\u{1B}[K")
    }
}

/// The public key that signatures are checked with: `--public-key FILE` (PEM), else the
/// key the pipeline pins (`signing.publicKey`), else the public half of the signing key.
struct PublicKeyOption: ParsableArguments {
    @Option(help: ArgumentHelp("The pipeline's public key, a PEM file (as `openssl pkey -pubout` writes).", valueName: "file"))
    var publicKey: String?

    @OptionGroup var signingKey: SigningKeyOption

    func load(for pipeline: Pipeline) throws -> PublicKey {
        if let publicKey {
            do {
                return try PublicKey(pem: String(contentsOfFile: publicKey, encoding: .utf8))
            } catch {
                throw ValidationError("cannot use the public key \(publicKey): \(error)")
            }
        }
        // The pin is the published key: checking against it needs no private key at all.
        if let pinned = pipeline.signing?.publicKey {
            do {
                return try PublicKey(base64: pinned)
            } catch {
                throw ValidationError("the pipeline's signing.publicKey cannot be used: \(error)")
            }
        }
        guard signingKey.isGiven || pipeline.signing?.key != nil else {
            throw ValidationError("no key to check signatures with: pass --public-key FILE or --key FILE, pin signing.publicKey in the pipeline, or set HEADCOUNT_SIGNING_KEY")
        }
        return try signingKey.load(for: pipeline).publicKey
    }
}
