import CSV
import Foundation
import HeadcountCore

extension ReportImporter {
    /// Zoom's participants report: `Name (Original Name)`, `User Email`, `Join Time`,
    /// `Leave Time`, `Duration (Minutes)`…, times in the account's zone as
    /// `09/20/2025 09:05:12 AM` or `2025-09-20 09:05:12`. One row is one connection.
    func zoomCSV(_ bytes: [UInt8]) throws(IngestRefusal) -> [ImportedRecord] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw IngestRefusal(.malformed, "not UTF-8 text", where: "line 1")
        }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text, hasHeaderRow: true)
        } catch {
            throw IngestRefusal(.malformed, "not CSV: \(error)", where: "line 1")
        }
        let header = (reader.headerRow ?? []).map { $0.trimmingWhitespace().lowercased() }
        func column(_ prefix: String) throws(IngestRefusal) -> Int {
            guard let index = header.firstIndex(where: { $0.hasPrefix(prefix) }) else {
                throw IngestRefusal(.unprocessable, "no \"\(prefix)\" column in the header", where: "line 1")
            }
            return index
        }
        let (name, email, join, leave) = (try column("name"), try column("user email"), try column("join time"), try column("leave time"))
        let formatters = Self.zoomFormatters(timeZone)
        var records: [ImportedRecord] = []
        // The physical line where the next row starts: the library yields rows, not lines, so
        // each row moves it by its own line end plus the line breaks inside its quoted fields.
        var line = 2 + Self.lineBreaks(inside: reader.headerRow ?? [])
        while true {
            guard let row = reader.next() else {
                if let error = reader.error { throw IngestRefusal(.malformed, "broken CSV: \(error)", where: "line \(line)") }
                break
            }
            let place = "line \(line)"
            line += 1 + Self.lineBreaks(inside: row)
            if row.allSatisfy({ $0.trimmingWhitespace().isEmpty }) { continue }
            records.append(ImportedRecord(place: place, outcome: Result { () throws(IngestRefusal) -> [Event] in
                func time(_ column: Int, _ label: String) throws(IngestRefusal) -> Instant {
                    let text = column < row.count ? row[column].trimmingWhitespace() : ""
                    for formatter in formatters {
                        if let date = formatter.date(from: text) { return Instant(milliseconds: Int64(date.timeIntervalSince1970 * 1000)) }
                    }
                    throw IngestRefusal(.unprocessable, "\(label) \"\(text.prefix(40))\" is not a Zoom report time", where: place)
                }
                let start = try time(join, "join time"), end = try time(leave, "leave time")
                return try interval(
                    platform: "zoom-report", meeting: "", identity: [
                        .email: email < row.count ? row[email] : nil,
                        .name: name < row.count ? row[name] : nil,
                    ], session: nil, start: start, end: end, place: place)
            }))
        }
        return records
    }

    /// Line breaks inside a row's fields (only quoted fields hold them): LF, CR LF, or a lone
    /// CR, each one line as editors count them.
    static func lineBreaks(inside row: [String]) -> Int {
        var count = 0
        for field in row {
            var afterCR = false
            for scalar in field.unicodeScalars {
                if scalar == "\n" {
                    if !afterCR { count += 1 }
                    afterCR = false
                } else {
                    afterCR = scalar == "\r"
                    if afterCR { count += 1 }
                }
            }
        }
        return count
    }

    static func zoomFormatters(_ zone: TimeZone) -> [DateFormatter] {
        ["MM/dd/yyyy hh:mm:ss a", "MM/dd/yyyy HH:mm:ss", "yyyy-MM-dd HH:mm:ss", "MM/dd/yyyy hh:mm a"].map { format in
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = zone
            formatter.dateFormat = format
            return formatter
        }
    }
}
