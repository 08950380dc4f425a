/// The report of `headcount count`: per-bucket numbers and the result, as JSON or a table.
///
/// Pure rendering, so the recount, the CLI and the tests all print the same bytes.
public struct CountReport: Sendable, Hashable {
    public var pipeline: String
    public var buckets: [BucketNumbers]
    public var conflictingDuplicates: Int
    /// Events outside [start − 1 day, end + 1 day]; shown in the table, not part of the JSON.
    public var deadLetters: Int

    public init(pipeline: String, buckets: [BucketNumbers], conflictingDuplicates: Int, deadLetters: Int = 0) {
        self.pipeline = pipeline
        self.buckets = buckets
        self.conflictingDuplicates = conflictingDuplicates
        self.deadLetters = deadLetters
    }

    /// The report of a batch count.
    public init(pipeline: String, count: BatchCount) {
        let conflicting = count.conflictingDuplicates.count
        self.init(
            pipeline: pipeline, buckets: count.buckets, conflictingDuplicates: conflicting,
            deadLetters: count.deadLetters.count - conflicting)
    }

    public var outcome: CountOutcome { CountOutcome(buckets: buckets) }

    /// `{"pipeline": ID, "buckets": [{"bucket": 0, "bucket_start": …, "active": n, "peak": n,
    /// "sustained_peak": n, "unique": n, "qualified": n}, …], "result": {"qualified": n,
    /// "peak": n, "sustained_peak": n}, "conflicting_duplicates": n}`, keys in that order.
    public func json() -> String {
        var out = "{\"pipeline\": "
        CanonicalEvent.appendQuoted(pipeline, to: &out)
        out += ", \"buckets\": ["
        for (index, bucket) in buckets.enumerated() {
            if index > 0 { out += ", " }
            out += "{\"bucket\": \(bucket.bucket), \"bucket_start\": \"\(bucket.bucketStart.rfc3339)\", "
            out += "\"active\": \(bucket.active), \"peak\": \(bucket.peak), \"sustained_peak\": \(bucket.sustainedPeak), "
            out += "\"unique\": \(bucket.unique), \"qualified\": \(bucket.qualified)}"
        }
        let outcome = outcome
        out += "], \"result\": {\"qualified\": \(outcome.qualified), \"peak\": \(outcome.peak), "
        out += "\"sustained_peak\": \(outcome.sustainedPeak)}, "
        out += "\"conflicting_duplicates\": \(conflictingDuplicates)}"
        return out
    }

    /// A table for people: one line per bucket, then the result.
    public func table() -> String {
        let headers = ["bucket", "bucket start (UTC)", "active", "peak", "sustained", "unique", "qualified"]
        let rows = buckets.map {
            ["\($0.bucket)", $0.bucketStart.rfc3339, "\($0.active)", "\($0.peak)", "\($0.sustainedPeak)", "\($0.unique)", "\($0.qualified)"]
        }
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                // Numbers right-aligned, text left-aligned, as people read columns of figures.
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 1 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }
        var out = "pipeline \(pipeline)\n" + line(headers) + "\n"
        out += line(widths.map { String(repeating: "-", count: $0) }) + "\n"
        for row in rows { out += line(row) + "\n" }
        let outcome = outcome
        out += "result: qualified \(outcome.qualified), peak \(outcome.peak), sustained peak \(outcome.sustainedPeak)\n"
        out += "conflicting duplicates: \(conflictingDuplicates), dead letters outside the window: \(deadLetters)\n"
        return out
    }
}
