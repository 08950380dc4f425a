import HeadcountCertificate
import HeadcountCore
import HeadcountStore

/// Per bucket: certified, recounted, amendments, and what does not add up.
public struct RecountReport: Sendable {
    public struct Line: Sendable {
        public var bucket: Int
        /// nil for a bucket not sealed yet.
        public var certified: BucketNumbers?
        public var recounted: BucketNumbers
        public var amendments: [StoredAmendment] = []
        public var incomplete: String?
        /// Plain-words failures of this bucket; empty when it checks out.
        public var problems: [String] = []
    }

    public var pipeline: String
    public var events: Int
    public var lines: [Line] = []
    /// Failures that concern no bucket of the window.
    public var unexpected: [String] = []

    /// True when every sealed bucket verifies and every difference is explained.
    public var isValid: Bool { unexpected.isEmpty && lines.allSatisfy(\.problems.isEmpty) }

    /// The buckets with a failure.
    public var failedBuckets: [Int] { lines.filter { !$0.problems.isEmpty }.map(\.bucket) }

    /// "bucket m: problem" lines, for standard error.
    public var failures: [String] {
        lines.flatMap { line in line.problems.map { "bucket \(line.bucket): \($0)" } } + unexpected
    }

    static func text(_ n: BucketNumbers) -> String {
        "\(n.active)/\(n.peak)/\(n.sustainedPeak)/\(n.unique)/\(n.qualified)"
    }

    /// A table for people: numbers as active/peak/sustained peak/unique/qualified.
    public func table() -> String {
        var out = "recount of \(pipeline): \(events) stored events; numbers are active/peak/sustained peak/unique/qualified\n"
        out += pad("bucket", 7) + pad("start", 26) + pad("certified", 30) + pad("recounted", 30) + "amendments\n"
        for line in lines {
            let certified = line.certified.map(Self.text) ?? "not sealed"
            let latest = line.amendments.last.map { "\(line.amendments.count), latest \(Self.text($0.corrected))" } ?? "-"
            var row = pad(String(line.bucket), 7) + pad(line.recounted.bucketStart.rfc3339, 26) + pad(certified, 30)
                + pad(Self.text(line.recounted), 30) + latest
            if line.incomplete != nil { row += "  [incomplete]" }
            if !line.problems.isEmpty { row += "  FAILED" }
            out += row + "\n"
        }
        let sealed = lines.filter { $0.certified != nil }.count
        out += isValid
            ? "OK: \(sealed) sealed buckets verify; every difference is explained by an amendment\n"
            : "FAILED: \(failures.count) problems in buckets \(failedBuckets.map(String.init).joined(separator: ", "))\n"
        return out
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// The report as pretty JSON (sorted keys).
    public func json() -> String {
        func numbers(_ n: BucketNumbers) -> JSONValue {
            ["bucket_start": .string(n.bucketStart.rfc3339), "active": .int(n.active), "peak": .int(n.peak),
             "sustained_peak": .int(n.sustainedPeak), "unique": .int(n.unique), "qualified": .int(n.qualified)]
        }
        let buckets: [JSONValue] = lines.map { line in
            .object([
                "bucket": .int(line.bucket),
                "certified": line.certified.map(numbers) ?? .null,
                "recounted": numbers(line.recounted),
                "amendments": .array(line.amendments.map { .object([
                    "corrected": numbers($0.corrected), "reason": .string($0.reason),
                    "events": .array($0.events.map(JSONValue.string)), "detected_at": .string($0.detectedAt.rfc3339),
                ]) }),
                "incomplete": line.incomplete.map(JSONValue.string) ?? .null,
                "problems": .array(line.problems.map(JSONValue.string)),
            ])
        }
        let document: JSONValue = [
            "pipeline": .string(pipeline), "events": .int(events), "valid": .bool(isValid),
            "buckets": .array(buckets), "problems": .array(failures.map(JSONValue.string)),
        ]
        return ((try? document.prettyText()) ?? "{}") + "\n"
    }
}
