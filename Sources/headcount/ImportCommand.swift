import ArgumentParser
import Foundation
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountCore
import HeadcountIngest
import HeadcountPublisher
import Kafka
import Logging

/// `headcount import`: attendance reports (Zoom CSV, Teams, Meet) into the pipeline's topic.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an attendance report as canonical events (deterministic ids: importing twice changes nothing).",
        discussion: """
            Formats: zoom-csv (Zoom's participants report; times in the account's zone, --timezone),
            teams-json (a Microsoft Graph meetingAttendanceReport), meet-json (Google Meet participantSessions).
            Identities are pseudonymised with the pipeline's ingest: pseudonym key. A bad record stops the
            import with its line number or JSON path before anything is sent, unless --skip-invalid.
            """)

    @OptionGroup var pipeline: PipelineOption
    @OptionGroup var brokers: BrokersOption
    @OptionGroup var logging: LoggingOptions

    @Option(help: ArgumentHelp("zoom-csv, teams-json or meet-json.", valueName: "format"))
    var format: String

    @Option(help: ArgumentHelp("Zone of a Zoom report's times: an identifier (Asia/Jakarta) or an offset (+07:00). Default UTC.", valueName: "zone"))
    var timezone = "UTC"

    @Flag(help: "Report invalid records and import the rest instead of stopping.")
    var skipInvalid = false

    @Argument(help: ArgumentHelp("The report file.", valueName: "file"))
    var file: String

    func run() async throws {
        let logger = logging.bootstrap("headcount.import")
        guard let format = ReportFormat(rawValue: format) else {
            throw ValidationError("--format must be one of \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let served = try { () throws -> IngestPipeline in
            let loaded = try pipeline.load()
            guard let ingest = loaded.ingest else {
                throw ValidationError("the pipeline has no ingest: section naming the pseudonym key (see Pipelines/example-ingest.yaml)")
            }
            do {
                return IngestPipeline(pipeline: loaded, ingest: ingest, credentials: try IngestCredentials.load(for: ingest, routes: false))
            } catch {
                throw ValidationError("\(error)")
            }
        }()
        var importer = ReportImporter(pipeline: served.pipeline, ingest: served.ingest, credentials: served.credentials)
        importer.timeZone = try Self.zone(timezone)
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let records: [ImportedRecord]
        do {
            records = try importer.records(Array(data), format: format)
        } catch {
            throw ValidationError("\(file): \(error.location): \(error.error)")
        }
        var events: [Event] = []
        var skipped = 0
        for record in records {
            switch record.outcome {
            case .success(let produced): events += produced
            case .failure(let refusal):
                guard skipInvalid else { throw ValidationError("\(file): \(refusal.location): \(refusal.error)\nnothing was sent") }
                printError("skipped \(file): \(refusal.location): \(refusal.error)")
                skipped += 1
            }
        }
        var configuration = KafkaProducerConfiguration(bootstrapServers: try brokers.bootstrapServers())
        configuration.clientID = "headcount-import"
        configuration.additionalProperties = try brokers.properties()
        let toSend = events
        let published = try await KafkaProducer.withRunning(configuration: configuration, logger: logger) { producer in
            let publisher = CanonicalPublisher(pipeline: served.pipeline, producer: producer, logger: logger)
            var progress = ProgressBar(total: toSend.count)
            var sent = 0
            for start in stride(from: 0, to: toSend.count, by: 1_000) {
                sent += try await publisher.publish(Array(toSend[start..<min(start + 1_000, toSend.count)]))
                progress.update(sent)
            }
            progress.finish()
            return sent
        }
        print("imported \(published) events from \(records.count - skipped) records of \(file) into \(served.pipeline.kafka.topic)"
            + (skipped == 0 ? "" : ", skipped \(skipped) invalid records"))
    }

    static func zone(_ text: String) throws -> TimeZone {
        if let zone = TimeZone(identifier: text) { return zone }
        let sign: Int = text.hasPrefix("-") ? -1 : 1
        let parts = text.dropFirst().split(separator: ":").compactMap { Int($0) }
        if (text.hasPrefix("+") || text.hasPrefix("-")), parts.count == 2, let zone = TimeZone(secondsFromGMT: sign * (parts[0] * 3600 + parts[1] * 60)) {
            return zone
        }
        throw ValidationError("--timezone must be a zone identifier such as Asia/Jakarta or an offset such as +07:00")
    }
}

/// A one-line progress bar on standard error, drawn only when it is a terminal.
struct ProgressBar {
    let total: Int
    let enabled = isatty(STDERR_FILENO) == 1

    mutating func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let width = 40, filled = width * done / total
        FileHandleWriter.writeToStandardError(
            "\r[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] \(done)/\(total) events")
    }

    func finish() {
        if enabled, total > 0 { FileHandleWriter.writeToStandardError("\n") }
    }
}
