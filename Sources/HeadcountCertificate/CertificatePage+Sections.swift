import HeadcountCore

/// The rules, the seals, the instructions and the signature block of certificate.html.
extension CertificatePage {
    var rulesTable: String {
        let who = audience
        let minimum = rules.minimumPresence > .zero
            ? "A person counts as attending (qualified) after this much presence inside the period, added up over all devices and reconnections."
            : "Any presence inside the period counts as attending (qualified = unique)."
        var rows: [(String, String, String)] = [
            ("Counted period", "Only presence between these times counts; everything is counted in UTC and shown in the event's own time.", windowText),
            ("Snapshot", "The period is sealed snapshot by snapshot, each signed and chained to the one before.",
             "\(Self.words(rules.bucket)), \(rules.bucketCount) snapshots"),
            ("Minimum presence", minimum, rules.minimumPresence > .zero ? Self.words(rules.minimumPresence) : "none"),
            ("Reconnect grace", "A break shorter than this is bridged: the person never left.", Self.words(rules.reconnectGrace)),
            ("Heartbeat timeout",
             rules.heartbeatTimeout == nil
                ? "Not used: a connection counts until it leaves or the period ends."
                : "A connection that sends no sign of life for this long counts as closed that long after its last sign.",
             rules.heartbeatTimeout.map(Self.words) ?? "not used"),
        ]
        if certificate.pipeline.spec.hasSustainedPeak {
            rows.append(("Sustained period",
                         "The sustained peak is the most \(who) present without any break through one whole period of this length starting in the minute; one instant of reconnections cannot inflate it.",
                         Self.words(rules.sustainedPeak)))
        }
        rows += [
            ("Allowed lateness",
             "A minute is sealed only once events this late can no longer change it; a later event never changes a seal, it is recorded as an amendment.",
             Self.words(rules.allowedLateness)),
            ("One person, one count",
             "Each person is counted once by a pseudonymous key, whatever number of devices, tabs or platforms they used.",
             "per person"),
        ]
        var out = "<table class=\"rules\"><thead><tr><th>Rule</th><th>What it means</th><th>Value</th></tr></thead><tbody>"
        for (name, meaning, value) in rows {
            out += "<tr><th>\(Self.escape(name))</th><td>\(Self.escape(meaning))</td><td class=\"value\">\(Self.escape(value))</td></tr>"
        }
        return out + "</tbody></table>"
    }

    var checkSection: String {
        let key = Self.escape(certificate.publicKey.base64)
        return """
            <section class="check"><h2>How to check this yourself</h2>
            <p>This page is a summary. The proof is in <code>certificate.json</code> and <code>participants.txt</code> beside it,
            and it can be checked offline by anyone, without Headcount's database. First obtain the organiser's public key
            independently (it is published before the event) and save it as <code>organiser-key.pem</code>; it must be the key
            printed below. Then, in a terminal, in the folder that holds this page:</p>
            <pre>headcount verify . --public-key organiser-key.pem</pre>
            <p>It recomputes every hash and every Merkle root, checks every signature and link of the chain, the participant
            list and the result, and prints <code>VALID</code> or each problem with the minute it concerns.
            A person can check that they are counted with their key as listed in <code>participants.txt</code>:</p>
            <pre>headcount prove . --participant KEY &gt; proof.json
            headcount verify . --proof proof.json</pre>
            <p>Or by e-mail address, with the pipeline's pseudonym key (the organiser holds it, since it turns addresses
            into the keys above; no address is in the certificate):</p>
            <pre>headcount prove . --identity EMAIL --pseudonym-key PSEUDONYM-KEY-FILE &gt; proof.json</pre>
            <p class="key">Public key (Ed25519, base64): <code>\(key)</code></p>
            </section>
            """
    }

    var signatureBlock: String {
        let box = """
            <div class="sign"><div class="role">%ROLE%</div>
            <div class="line">Name</div><div class="line">Signature</div><div class="line">Date and place</div></div>
            """
        let declaration = """
            <p>By signing, I confirm that I ran <code>headcount verify</code> on this certificate's folder and it printed
            <code>VALID</code>, that its public key is the one the organiser published beforehand, and that this paper copy
            shows the document hash below.</p>
            """
        return "<section class=\"signatures\"><h2>Checked and witnessed</h2>" + declaration + "<div class=\"signs\">"
            + ["Steward", "Witness"].map { box.replacing("%ROLE%", with: $0) }.joined()
            + "</div><p class=\"fine\">Document hash <code>\(Self.escape(documentHash))</code></p></section>"
    }

    var sealsSection: String {
        """
        <section class="seals"><h2>Seals</h2>
        <dl>
        <dt>Chain head (hash of the last snapshot)</dt><dd><code>\(certificate.headHash)</code></dd>
        <dt>Genesis hash (SHA-256 of the rules)</dt><dd><code>\(certificate.pipeline.genesisHash)</code></dd>
        <dt>Participants root (last snapshot)</dt><dd><code>\(certificate.finalRoot)</code></dd>
        <dt>Document hash</dt><dd><code>\(Self.escape(documentHash))</code></dd>
        <dt>Ed25519 public key (base64)</dt><dd><code>\(Self.escape(certificate.publicKey.base64))</code></dd>
        </dl></section>
        """
    }

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

    /// "10-second period", "1-minute period".
    static func period(_ duration: Duration) -> String {
        var text = words(duration)
        if text.hasSuffix("s") { text.removeLast() }
        return text.replacing(" ", with: "-") + " period"
    }

    /// A duration as people say it: "30 minutes", "1 minute", "10 seconds", "250 milliseconds".
    static func words(_ duration: Duration) -> String {
        let milliseconds = duration.wholeMilliseconds
        func unit(_ count: Int64, _ name: String) -> String { "\(count) \(name)\(count == 1 ? "" : "s")" }
        if milliseconds > 0, milliseconds % 3_600_000 == 0 { return unit(milliseconds / 3_600_000, "hour") }
        if milliseconds > 0, milliseconds % 60_000 == 0 { return unit(milliseconds / 60_000, "minute") }
        if milliseconds % 1000 == 0 { return unit(milliseconds / 1000, "second") }
        return unit(milliseconds, "millisecond")
    }
}
