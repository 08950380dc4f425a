import Foundation

extension OperationsStatus {
    /// The JSON of `headcount status --json`: sorted snake_case keys; an optional field whose
    /// value is unknown (Kafka or PostgreSQL did not answer) is left out, so `jq` reads it as null.
    public func encodedJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        // Strings, numbers, booleans and arrays or dictionaries of those: cannot fail.
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }

    /// The human-readable report: one table of partitions, then the rest line by line.
    public var text: String {
        var lines: [String] = []
        lines.append("Pipeline \(pipeline.id): topic \(pipeline.topic), \(pipeline.partitions) partitions, status at \(readAt)")
        lines.append("Kafka \(kafka.address): \(kafka.reachable ? "answered" : "UNREACHABLE")"
            + "   PostgreSQL \(database.address): \(database.reachable ? "answered" : "UNREACHABLE")")
        lines.append("")
        let header = ["PARTITION", "HIGH WATERMARK", "STORED NEXT", "LAG", "LAST EVENT AT", "LAST STORED AT", "OWNER", "WATERMARK"]
        let rows = partitions.map(Self.row)
        lines += Self.table([header] + rows)
        lines.append("Total lag: \(totalLag.map { "\($0) message\($0 == 1 ? "" : "s")" } ?? "unknown")")
        lines.append("")
        lines.append("Watermark: \(watermark.reporter ?? "none yet") (reporter's last round at \(watermark.reporterRoundAt ?? "-"));"
            + " a round now: \(watermark.now ?? "unknown")")
        if !watermark.holdingPartitions.isEmpty {
            let held = partitions.filter { watermark.holdingPartitions.contains($0.partition) }
            let ordered = watermark.holdingPartitions.compactMap { number in held.first { $0.partition == number } }
            lines.append("Sealing waits for \(ordered.count) partition\(ordered.count == 1 ? "" : "s"):")
            lines += ordered.prefix(10).compactMap(\.detail).map { "  \($0)" }
            if ordered.count > 10 { lines.append("  … and \(ordered.count - 10) more") }
        }
        if let sealed = sealedBuckets {
            lines.append("Sealed: \(sealed) of \(pipeline.bucketsTotal) buckets")
        }
        if let last = lastSealed {
            lines.append("Last sealed bucket: \(last.bucket) (\(last.bucketStart) – \(last.bucketEnd)), sealed at \(last.sealedAt ?? "-"):"
                + " active \(last.active), peak \(last.peak), unique \(last.unique), qualified \(last.qualified)"
                + (last.incomplete.map { "; INCOMPLETE: \($0)" } ?? ""))
        }
        if let eventsStored { lines.append("Events stored: \(eventsStored)") }
        if let deadLetters {
            let reasons = deadLetters.byReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("Dead letters: \(deadLetters.total)\(reasons.isEmpty ? "" : " (\(reasons))")")
        }
        if database.reachable {
            lines.append("Retention gaps: " + (retentionGaps.isEmpty ? "none" : retentionGaps.map {
                "partition \($0.partition) offsets \($0.firstMissingOffset)–\($0.lastMissingOffset) (\($0.messages))"
            }.joined(separator: ", ")))
        }
        lines.append("")
        let live = workers.filter { !$0.stale }.count
        lines.append("Workers: \(live) live consumer\(live == 1 ? "" : "s")\(workers.count > live ? ", \(workers.count - live) stale" : "")")
        lines += Self.table(workers.map { w in
            [
                "  " + w.worker, "partitions " + (w.partitions.isEmpty ? "none" : w.partitions.map(String.init).joined(separator: ",")),
                "seen \(Int(w.secondsSinceSeen.rounded())) s ago", w.stale ? "STALE" : "",
            ]
        })
        if !problems.isEmpty {
            lines.append("")
            lines.append("Problems:")
            lines += problems.map { "  - \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func row(_ p: Partition) -> [String] {
        let high: String = p.highWatermark.map { String($0) } ?? "?"
        let next: String = p.storedNextOffset.map { String($0) } ?? "-"
        let lag: String = p.lag.map { String($0) } ?? "?"
        let owners: String = p.owners.isEmpty ? "none" : p.owners.joined(separator: " ")
        return ["\(p.partition)", high, next, lag, p.maxEventAt ?? "-", p.lastStoredAt ?? "-", owners, reasonText(p)]
    }

    private static func reasonText(_ partition: Partition) -> String {
        let reason = switch partition.watermarkReason {
        case "caught_up_idle": "caught up, idle"
        case "recently_stored": "caught up, stored recently"
        case "behind": "HOLDS: \(partition.lag.map(String.init) ?? "?") not stored"
        case "kafka_unknown": "HOLDS: Kafka unknown"
        default: "?"
        }
        return reason + (partition.watermarkOffer == nil && partition.watermarkReason != nil ? " (no event time)" : "")
    }

    /// Left-aligned columns, two spaces apart, trailing spaces trimmed.
    private static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
    }
}
