import HeadcountCore

/// The per-snapshot table of certificate.html: every sealed minute with its numbers, when it
/// was sealed and the start of its hash, flagged where incomplete or amended.
struct CertificateMinuteTable {
    let certificate: Certificate
    let time: CertificateTime

    var html: String {
        let sustained = certificate.pipeline.spec.hasSustainedPeak
        let amended = Set(certificate.amendments.map(\.bucket))
        let zone = time.zoneName
        var out = """
            <section class="minutes"><h2>Every snapshot</h2>
            <p class="fine">One row per sealed snapshot. Times in \(zone)\(time.offsetMinutes == 0 ? "" : ", with UTC beside them").
            Hash: the first 12 hex digits of the snapshot's SHA-256, chained to the row above.</p>
            <table class="numbers"><thead><tr><th>#</th><th>Minute (\(zone))</th>
            """
        if time.offsetMinutes != 0 { out += "<th>UTC</th>" }
        out += "<th class=\"n\">Active</th><th class=\"n\">Peak</th>"
        if sustained { out += "<th class=\"n\">Sustained peak</th>" }
        out += "<th class=\"n\">Unique</th><th class=\"n\">Qualified</th><th>Sealed at (\(zone))</th><th>Hash</th><th>Note</th></tr></thead><tbody>"
        for snapshot in certificate.snapshots {
            let n = snapshot.payload.numbers
            let rules = certificate.pipeline.rules
            var notes: [String] = []
            if certificate.incomplete[n.bucket] != nil { notes.append("incomplete") }
            if amended.contains(n.bucket) { notes.append("amended") }
            let rowClass = notes.isEmpty ? "" : " class=\"\(notes.joined(separator: " "))\""
            out += "<tr\(rowClass)><td>\(n.bucket)</td><td>\(time.clock(n.bucketStart, seconds: rules.bucket.wholeMilliseconds % 60_000 != 0))–\(time.clock(rules.bucketEnd(n.bucket)))</td>"
            if time.offsetMinutes != 0 { out += "<td class=\"utc\">\(time.utcClock(n.bucketStart))</td>" }
            out += cell(n.active) + cell(n.peak)
            if sustained { out += cell(n.sustainedPeak) }
            out += cell(n.unique) + cell(n.qualified)
            out += "<td class=\"sealed\">\(certificate.sealedAt[n.bucket].map(sealedText) ?? "–")</td>"
            out += "<td><code>\(snapshot.hash.prefix(12))</code></td><td class=\"note\">\(notes.joined(separator: ", "))</td></tr>"
        }
        if certificate.snapshots.isEmpty {
            out += "<tr><td colspan=\"11\">No snapshot is sealed yet.</td></tr>"
        }
        return out + "</tbody></table></section>"
    }

    private func cell(_ value: Int) -> String {
        "<td class=\"n\">\(CertificatePage.grouped(value))</td>"
    }

    /// "2026-12-03 15:40:02" in the pipeline's zone: a replayed event is sealed long after it happened.
    private func sealedText(_ instant: Instant) -> String {
        let civil = instant.civilTime(offsetMinutes: time.offsetMinutes)
        return "\(civil.year)-\(CertificateTime.two(civil.month))-\(CertificateTime.two(civil.day)) " + time.clock(instant, seconds: true)
    }
}
