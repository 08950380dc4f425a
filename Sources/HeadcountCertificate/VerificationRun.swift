import HeadcountCore

/// The state of one verification: the report so far and what later checks build on.
struct VerificationRun {
    var report: VerificationReport
    /// The rules as parsed, when they could be.
    var pipeline: PipelineCanonicalForm?
    /// SHA-256 of the canonical form of the pipeline object exactly as written.
    var genesisHash: String?
    var publicKey: PublicKey?
    /// The snapshots that could be read, by position.
    var snapshots: [SnapshotPayload?] = []

    init(report: VerificationReport) {
        self.report = report
    }

    mutating func problem(_ subject: VerificationProblem.Subject, _ code: VerificationProblem.Code, _ message: String) {
        report.problems.append(VerificationProblem(subject, code, message))
    }

    mutating func loadDocument(path: String) -> JSONValue? {
        do {
            guard let bytes = try FileOutput.read(path: path) else {
                problem(.certificate, .malformed, "\(Certificate.jsonFile) is missing")
                return nil
            }
            let document = try JSONValue(parsing: bytes)
            guard document["format"]?.stringValue == Certificate.format else {
                problem(.certificate, .malformed, "\"format\" is not \"\(Certificate.format)\"")
                return nil
            }
            report.pipelineID = document["pipeline"]?["id"]?.stringValue
            return document
        } catch {
            problem(.certificate, .malformed, "\(Certificate.jsonFile): \(error.message)")
            return nil
        }
    }

    mutating func checkRules(_ document: JSONValue, expected: PipelineCanonicalForm?) {
        guard let json = document["pipeline"], let bytes = try? json.canonicalBytes() else {
            problem(.rules, .malformed, "the certificate has no \"pipeline\" object")
            return
        }
        let genesis = Digest256.hex(bytes)
        genesisHash = genesis
        do {
            pipeline = try PipelineCanonicalForm(json: json)
        } catch {
            problem(.rules, .malformed, error.message)
        }
        if document["genesis_hash"]?.stringValue != genesis {
            problem(.rules, .rulesMismatch, "\"genesis_hash\" is not the SHA-256 of the rules' canonical JSON (\(genesis))")
        }
        let rehearsal = pipeline?.rehearsal ?? false
        report.rehearsal = rehearsal
        if let stated = document["rehearsal"], stated.boolValue != rehearsal {
            problem(.rules, .rulesMismatch, "\"rehearsal\" must be \(rehearsal), as the rules' canonical JSON says")
        }
        // The pipeline file knows nothing of clocks: a rehearsal of the expected pipeline has
        // its rules, and the report says loudly that it is one.
        if var expected {
            expected.rehearsal = rehearsal
            if expected.genesisHash != genesis {
                problem(.rules, .rulesMismatch, "the rules differ from the expected pipeline \"\(expected.id)\"")
            }
        }
    }

    mutating func checkPublicKey(_ document: JSONValue, expected: PublicKey?) {
        guard let text = document["public_key"]?.stringValue, let key = try? PublicKey(base64: text) else {
            problem(.certificate, .malformed, "\"public_key\" is not base64 of a 32-byte Ed25519 key; no signature can be checked")
            return
        }
        publicKey = key
        if let expected, expected != key {
            problem(.certificate, .wrongKey, "the certificate publishes key \(key.base64), not the expected \(expected.base64)")
        }
    }

    mutating func checkSnapshots(_ document: JSONValue) {
        guard let items = document["snapshots"]?.arrayValue else {
            problem(.certificate, .malformed, "\"snapshots\" is not an array")
            return
        }
        // Amendments are checked on their own later; here they only explain decreases.
        var corrections: [Int: [BucketNumbers]] = [:]
        for item in document["amendments"]?.arrayValue ?? [] {
            if let amendment = try? Amendment(json: item) { corrections[amendment.bucket, default: []].append(amendment.corrected) }
        }
        var previous: (payload: SnapshotPayload, hash: String)?
        for (position, item) in items.enumerated() {
            guard let snapshot = try? CertifiedSnapshot(json: item) else {
                problem(.bucket(position), .malformed, "the snapshot cannot be read")
                snapshots.append(nil)
                previous = nil
                continue
            }
            checkSnapshot(snapshot, position: position, previous: previous, corrections: corrections[position - 1] ?? [])
            if let reason = item["incomplete"], reason.stringValue == nil {
                problem(.bucket(position), .malformed, "\"incomplete\" must be a plain-words reason")
            }
            snapshots.append(snapshot.payload)
            previous = (snapshot.payload, snapshot.hash)
        }
        report.bucketsChecked = items.count
        report.headHash = previous?.hash
        checkCoverage(document, sealed: items.count)
    }

    private mutating func checkSnapshot(
        _ snapshot: CertifiedSnapshot, position: Int, previous: (payload: SnapshotPayload, hash: String)?, corrections: [BucketNumbers]
    ) {
        let payload = snapshot.payload
        if payload.hash != snapshot.hash {
            problem(.bucket(position), .hashMismatch, "\"hash\" is not the SHA-256 of the snapshot's content")
        }
        if position == 0 {
            if let genesisHash, payload.prevHash != genesisHash {
                problem(.rules, .rulesMismatch, "bucket 0's prev_hash is not the genesis hash of these rules: the rules were changed or the chain is not theirs")
            }
        } else if let previous, payload.prevHash != previous.hash {
            problem(.bucket(position), .chainBroken, "prev_hash is not the hash of bucket \(position - 1)")
        }
        if let publicKey, !publicKey.isValidSignature(snapshot.signature, forHash: snapshot.hash) {
            problem(.bucket(position), .badSignature, "the signature does not verify under the published public key")
        }
        if let pipeline {
            let reasons = SnapshotRules.problems(
                payload, position: position, previous: previous?.payload, corrections: corrections, pipeline: pipeline)
            for reason in reasons {
                problem(.bucket(position), .inconsistent, reason)
            }
        }
    }

    private mutating func checkCoverage(_ document: JSONValue, sealed: Int) {
        guard let pipeline else { return }
        let total = pipeline.rules.bucketCount
        let final = document["result"]?["final"]?.boolValue
        if sealed < total {
            report.notes.append("provisional: \(sealed) of \(total) buckets sealed")
            if final == true { problem(.result, .resultMismatch, "marked final, but only \(sealed) of \(total) buckets are sealed") }
        } else if final != true {
            problem(.result, .resultMismatch, "all \(total) buckets are sealed, but the result is not marked final")
        }
    }
}
