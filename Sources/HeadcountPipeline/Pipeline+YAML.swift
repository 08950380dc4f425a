import Foundation
import HeadcountCore
import Yams

// The pipeline file format:
//
//   id: sumsel-ai-webinar-2025
//   title: International AI webinar for teachers
//   audience: teachers  # optional: who is counted, as the certificate words it
//   window:
//     start: 2025-09-20T08:00:00+07:00
//     end: 2025-09-20T11:00:00+07:00
//   rules:              # all optional; durations as 90s, 10m, 2h, 250ms or a number of seconds
//     bucket: 60s
//     reconnectGrace: 60s
//     minimumPresence: 0s
//     heartbeatTimeout: 90s
//     allowedLateness: 120s
//     sustainedPeak: 10s  # the period of sustained_peak; at most the bucket
//   kafka:              # optional
//     topic: headcount.sumsel-ai-webinar-2025.events
//     partitions: 12
//   signing:            # optional; `--key` overrides keyFile/keyEnvironment
//     keyFile: ../secrets/signing-key.pem     # relative to this file's folder; or
//     keyEnvironment: HEADCOUNT_SUMSEL_KEY    # a variable holding the PEM text (not both)
//     publicKey: MCowBQYDK2VwAyEA…            # optional pin: base64 of 32 bytes, or PEM
//   ingest:             # optional; the webhook routes, see Pipeline+Ingest.swift
//
// Unknown keys are errors: a misspelt rule silently falling back to its default would
// change the certified numbers without anyone noticing.

extension Pipeline {
    /// Loads and validates a pipeline file; errors name the file, the field and the line.
    public static func load(path: String) throws(PipelineError) -> Pipeline {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PipelineError(file: path, field: "", message: "cannot read the pipeline file (\(Self.reason(error)))")
        }
        var pipeline = try parse(yaml: text, file: path)
        // A key file next to the pipeline is found wherever the command runs from.
        var folder = (path as NSString).deletingLastPathComponent
        if !folder.hasPrefix("/") {
            folder = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(folder)
        }
        if let key = pipeline.signing?.key { pipeline.signing?.key = key.resolved(against: folder) }
        pipeline.ingest = pipeline.ingest?.resolved(against: folder)
        return pipeline
    }

    /// Parses pipeline YAML; `file` only names the source in errors.
    public static func parse(yaml: String, file: String) throws(PipelineError) -> Pipeline {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw PipelineError(file: file, field: "", message: "the file is empty")
            }
            root = node
        } catch let error as PipelineError {
            throw error
        } catch let error as YamlError {
            throw PipelineError(file: file, line: Self.line(of: error), field: "", message: "not valid YAML: \(error)")
        } catch {
            throw PipelineError(file: file, field: "", message: "not valid YAML: \(error)")
        }
        let reader = PipelineReader(file: file)
        return try reader.pipeline(from: root)
    }

    private static func reason(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return nil
        }
    }
}
