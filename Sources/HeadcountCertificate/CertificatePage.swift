import HeadcountCore

/// certificate.html: one self-contained page (no scripts, fonts or images from elsewhere)
/// that shows the result, the curve of the event, the rules and how to check it all.
struct CertificatePage {
    let certificate: Certificate
    let documentHash: String

    var html: String {
        let pipeline = certificate.pipeline
        let title = "Attendance certificate: " + pipeline.title
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title))</title>
            <style>\(Self.style)</style></head>
            <body>
            <h1>\(Self.escape(pipeline.title))</h1>
            <p class="id">pipeline <code>\(Self.escape(pipeline.id))</code> · \(Self.escape(pipeline.rules.windowStart.rfc3339)) to \(Self.escape(pipeline.rules.windowEnd.rfc3339)) (UTC)</p>
            \(resultSection)
            <h2>Over time</h2>
            \(CertificateChart(snapshots: certificate.snapshots.map(\.payload.numbers)).svg)
            \(problemsSection)
            <h2>Counting rules</h2>
            \(rulesTable)
            <h2>Seals</h2>
            <dl>
            <dt>Chain head (hash of the last snapshot)</dt><dd><code>\(certificate.headHash)</code></dd>
            <dt>Genesis hash (SHA-256 of the rules)</dt><dd><code>\(pipeline.genesisHash)</code></dd>
            <dt>Participants root (last bucket)</dt><dd><code>\(certificate.finalRoot)</code></dd>
            <dt>Document hash</dt><dd><code>\(Self.escape(documentHash))</code></dd>
            <dt>Ed25519 public key (base64)</dt><dd><code>\(Self.escape(certificate.publicKey.base64))</code></dd>
            </dl>
            \(Self.instructions)
            </body></html>

            """
    }

    private var resultSection: String {
        let result = certificate.result
        let status = certificate.isFinal
            ? "Final: all \(certificate.snapshots.count) buckets of the window are sealed."
            : "Provisional: \(certificate.snapshots.count) of \(certificate.pipeline.rules.bucketCount) buckets sealed."
        var out = """
            <div class="result"><span class="big">\(Self.grouped(result.qualified))</span> qualified participants
            <div class="peak">highest concurrency: <strong>\(Self.grouped(result.peak))</strong></div>
            <div class="status">\(Self.escape(status))</div></div>
            """
        if let amended = certificate.amendedResult {
            out += "<p>With the amendments below: \(Self.grouped(amended.qualified)) qualified, peak \(Self.grouped(amended.peak)).</p>"
        }
        return out
    }

    private var problemsSection: String {
        var out = ""
        if !certificate.incomplete.isEmpty {
            out += "<h2>Incomplete buckets</h2><ul>"
            for (bucket, reason) in certificate.incomplete.sorted(by: { $0.key < $1.key }) {
                out += "<li>bucket \(bucket): \(Self.escape(reason))</li>"
            }
            out += "</ul>"
        }
        if !certificate.amendments.isEmpty {
            out += "<h2>Amendments (late events)</h2><table><tr><th>bucket</th><th>certified a/p/u/q</th><th>corrected a/p/u/q</th><th>reason</th></tr>"
            for amendment in certificate.amendments {
                out += "<tr><td>\(amendment.bucket)</td><td>\(Self.quad(amendment.certified))</td>"
                out += "<td>\(Self.quad(amendment.corrected))</td><td>\(Self.escape(amendment.reason))</td></tr>"
            }
            out += "</table>"
        }
        return out
    }

    private var rulesTable: String {
        let rules = certificate.pipeline.rules
        let rows: [(String, String)] = [
            ("Window", "\(rules.windowStart.rfc3339) to \(rules.windowEnd.rfc3339), \(rules.bucketCount) buckets"),
            ("Bucket length", Self.seconds(rules.bucket)),
            ("Reconnect grace (gaps shorter than this are bridged)", Self.seconds(rules.reconnectGrace)),
            ("Minimum presence to qualify", Self.seconds(rules.minimumPresence)),
            ("Heartbeat timeout", rules.heartbeatTimeout.map(Self.seconds) ?? "not used"),
            ("Allowed lateness", Self.seconds(rules.allowedLateness)),
        ]
        return "<table>" + rows.map { "<tr><th>\(Self.escape($0.0))</th><td>\(Self.escape($0.1))</td></tr>" }.joined() + "</table>"
    }

    private static let instructions = """
        <h2>How to check this certificate</h2>
        <p>This page is a summary. The proof is in <code>certificate.json</code> and <code>participants.txt</code>
        in the same folder. To check every number, hash, signature and participant list offline, run</p>
        <pre>headcount verify FOLDER</pre>
        <p>Compare the public key above with the one the organiser published beforehand. Each participant can ask
        for an inclusion proof (<code>headcount prove FOLDER --participant KEY</code>) showing that they are counted.
        <code>docs/certificate.md</code> explains how to recompute the hashes with <code>sha256sum</code>,
        <code>jq</code> and <code>openssl</code> alone.</p>
        """

    private static let style = """
        body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
        .result{margin:1.5rem 0;padding:1rem 1.5rem;border:2px solid #1b5e20;border-radius:8px}
        .big{font-size:4rem;font-weight:700;color:#1b5e20}.peak{font-size:1.5rem}.status{color:#555}
        code{word-break:break-all}table{border-collapse:collapse}th,td{text-align:left;padding:.2rem .6rem;border-bottom:1px solid #ddd}
        pre{background:#f4f4f4;padding:.6rem}.id{color:#555}
        """

    /// Text and attribute escaping: the five characters that HTML gives meaning to.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// 25000 → "25,000", independent of the machine's locale.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.wholeMilliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }

    static func quad(_ numbers: BucketNumbers) -> String {
        "\(numbers.active)/\(numbers.peak)/\(numbers.unique)/\(numbers.qualified)"
    }
}
