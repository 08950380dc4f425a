import HeadcountCore

/// certificate.html: one self-contained page (no scripts, fonts, images or links to
/// elsewhere) that a steward, a witness or a press officer can read and sign on paper.
///
/// It says the result in plain words, shows the curve of the event and a per-minute table in
/// the event's own time zone beside UTC, spells out the rules, calls out amendments and
/// incomplete minutes, and gives the exact commands that check it all. Printing (A4) is
/// styled apart, so the browser's "Print" is the PDF export (docs/certificate.md).
struct CertificatePage {
    let certificate: Certificate
    let documentHash: String

    var time: CertificateTime { CertificateTime(offsetMinutes: certificate.utcOffsetMinutes) }
    var rules: CountingRules { certificate.pipeline.rules }
    var audience: String { certificate.audience }

    var html: String {
        let pipeline = certificate.pipeline
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape("Attendance certificate: " + pipeline.title))</title>
            <style>\(Self.style)</style></head>
            <body><main class="sheet">
            <header class="masthead">
            <div class="kicker">Certificate of attendance · \(certificate.isFinal ? "final" : "provisional")</div>
            <h1>\(Self.escape(pipeline.title))</h1>
            <p class="when">\(Self.escape(windowText))</p>
            <p class="id">pipeline <code>\(Self.escape(pipeline.id))</code> · counting rules <code>\(Self.escape(pipeline.spec.rawValue))</code></p>
            </header>
            \(headline)
            <section class="chart"><h2>The event minute by minute</h2>
            \(CertificateChart(certificate: certificate, time: time).svg)
            </section>
            \(problemsSection)
            <section class="rules"><h2>The rules, in plain words</h2>
            \(rulesTable)
            </section>
            \(checkSection)
            \(sealsSection)
            \(signatureBlock)
            \(CertificateMinuteTable(certificate: certificate, time: time).html)
            </main></body></html>

            """
    }

    /// "Saturday 20 September 2025, 09:00–11:00 UTC+07:00 (02:00–04:00 UTC)".
    var windowText: String {
        let zone = time.offsetMinutes == 0 ? "" : " " + time.zoneName + " (" + time.utcClock(rules.windowStart) + "–" + time.utcClock(rules.windowEnd) + " UTC)"
        return time.date(rules.windowStart) + ", " + time.clock(rules.windowStart) + "–" + time.clock(rules.windowEnd) + zone
            + (time.offsetMinutes == 0 ? " UTC" : "")
    }

    // MARK: The result

    private var headline: String {
        let result = certificate.result
        let buckets = certificate.snapshots.map(\.payload.numbers)
        let sustained = certificate.pipeline.spec.hasSustainedPeak
        let qualifiedWords = rules.minimumPresence > .zero
            ? "attended at least \(Self.words(rules.minimumPresence))" : "attended"
        var sentence = "\(Self.grouped(result.qualified)) \(audience) \(qualifiedWords); at most \(Self.grouped(result.peak)) were present at once"
        if sustained {
            sentence += ", and \(Self.grouped(result.sustainedPeak)) stayed without a break through the best \(Self.words(rules.sustainedPeak))"
        }
        sentence += "."
        if !certificate.isFinal { sentence = "So far: " + sentence }
        var figures = [
            Figure(value: result.qualified, label: "\(audience) qualified", note: "present at least \(Self.words(rules.minimumPresence)) in all", main: true),
            Figure(value: result.peak, label: "peak", note: "most present at one instant" + when(buckets, \.peak, result.peak)),
        ]
        if sustained {
            figures.append(Figure(
                value: result.sustainedPeak, label: "sustained peak",
                note: "most present through a whole \(Self.period(rules.sustainedPeak))" + when(buckets, \.sustainedPeak, result.sustainedPeak)))
        }
        figures.append(Figure(value: buckets.last?.unique ?? 0, label: "unique", note: "present at some time"))
        var out = "<section class=\"headline\">"
        if certificate.pipeline.rehearsal {
            out += "<p class=\"rehearsal\">REHEARSAL — NOT EVIDENCE. These numbers come from a rehearsal run on a simulated clock.</p>"
        }
        out += "<p class=\"sentence\">\(Self.escape(sentence))</p><div class=\"figures\">"
        out += figures.map(\.html).joined() + "</div>"
        out += "<p class=\"status\">\(Self.escape(statusText))</p>"
        if let amended = certificate.amendedResult {
            var corrected = "Counting the late events recorded below: \(Self.grouped(amended.qualified)) qualified, peak \(Self.grouped(amended.peak))"
            if sustained { corrected += ", sustained peak \(Self.grouped(amended.sustainedPeak))" }
            out += "<p class=\"amended-result\">\(Self.escape(corrected + ". The signed numbers above stay as sealed."))</p>"
        }
        return out + "</section>"
    }

    private var statusText: String {
        let total = rules.bucketCount
        let sealed = certificate.snapshots.count
        var text = certificate.isFinal
            ? "Final: all \(total) snapshots of the window are sealed, hash-chained and signed."
            : "Provisional: \(sealed) of \(total) snapshots sealed; the numbers may still grow."
        if !certificate.incomplete.isEmpty { text += " \(certificate.incomplete.count) minutes may miss events (see below)." }
        return text
    }

    /// " (first reached in the minute from 09:42)".
    private func when(_ buckets: [BucketNumbers], _ number: KeyPath<BucketNumbers, Int>, _ value: Int) -> String {
        guard value > 0, let first = buckets.first(where: { $0[keyPath: number] == value }) else { return "" }
        return ", first in the minute from \(time.clock(first.bucketStart))"
    }

    struct Figure {
        var value: Int
        var label: String
        var note: String
        var main = false

        var html: String {
            "<div class=\"figure\(main ? " main" : "")\"><div class=\"value\">\(CertificatePage.grouped(value))</div>"
                + "<div class=\"label\">\(CertificatePage.escape(label))</div><div class=\"note\">\(CertificatePage.escape(note))</div></div>"
        }
    }

    // MARK: Amendments and incomplete minutes

    private var problemsSection: String {
        var out = "<section class=\"problems\"><h2>Corrections and gaps</h2>"
        out += incompleteText
        out += amendmentsText
        return out + "</section>"
    }

    private var incompleteText: String {
        guard !certificate.incomplete.isEmpty else {
            return "<p class=\"ok\">Every minute is complete: no event was lost before it could be counted.</p>"
        }
        var out = "<p class=\"warn\"><strong>Incomplete minutes.</strong> Events may be missing from these minutes, so their numbers may be too low:</p><ul class=\"warn\">"
        for run in Self.runs(certificate.incomplete) {
            out += "<li>\(Self.escape(minutes(run.buckets))): \(Self.escape(run.reason))</li>"
        }
        return out + "</ul>"
    }

    private var amendmentsText: String {
        guard !certificate.amendments.isEmpty else {
            return "<p class=\"ok\">No amendments: no event arrived after its minute was sealed.</p>"
        }
        let shown = 40
        var out = "<p class=\"warn\"><strong>\(certificate.amendments.count) \(certificate.amendments.count == 1 ? "amendment" : "amendments").</strong> Events that arrived after a minute was sealed changed its numbers. The sealed snapshot stays as signed; the correction is recorded beside it:</p><ul class=\"warn\">"
        for amendment in certificate.amendments.prefix(shown) {
            let changes = Self.changes(from: amendment.certified, to: amendment.corrected, sustained: certificate.pipeline.spec.hasSustainedPeak)
            out += "<li>\(Self.escape(minutes(amendment.bucket...amendment.bucket))): \(Self.escape(changes.isEmpty ? "no number changed" : changes)). "
            out += "<span class=\"reason\">\(Self.escape(amendment.reason))</span></li>"
        }
        if certificate.amendments.count > shown {
            out += "<li>… and \(certificate.amendments.count - shown) more, all listed in certificate.json.</li>"
        }
        return out + "</ul>"
    }

    /// "the minute 09:11–09:12 (bucket 11)" or "the minutes 09:03–09:06 (buckets 3–5)".
    func minutes(_ buckets: ClosedRange<Int>) -> String {
        let span = time.clock(rules.bucketStart(buckets.lowerBound)) + "–" + time.clock(rules.bucketEnd(buckets.upperBound))
        return buckets.count == 1
            ? "the minute \(span) (bucket \(buckets.lowerBound))"
            : "the minutes \(span) (buckets \(buckets.lowerBound)–\(buckets.upperBound))"
    }

    /// Consecutive buckets with the same reason, as one run each.
    static func runs(_ flags: [Int: String]) -> [(buckets: ClosedRange<Int>, reason: String)] {
        var result: [(buckets: ClosedRange<Int>, reason: String)] = []
        for (bucket, reason) in flags.sorted(by: { $0.key < $1.key }) {
            if let last = result.last, last.buckets.upperBound + 1 == bucket, last.reason == reason {
                result[result.count - 1].buckets = last.buckets.lowerBound...bucket
            } else {
                result.append((bucket...bucket, reason))
            }
        }
        return result
    }

    static func changes(from old: BucketNumbers, to new: BucketNumbers, sustained: Bool) -> String {
        var names: [(String, KeyPath<BucketNumbers, Int>)] = [("active", \.active), ("peak", \.peak)]
        if sustained { names.append(("sustained peak", \.sustainedPeak)) }
        names += [("unique", \.unique), ("qualified", \.qualified)]
        return names.compactMap { name, path in
            old[keyPath: path] == new[keyPath: path] ? nil : "\(name) \(grouped(old[keyPath: path])) → \(grouped(new[keyPath: path]))"
        }.joined(separator: ", ")
    }
}
