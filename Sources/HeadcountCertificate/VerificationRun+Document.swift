import HeadcountCore

/// The checks of what lies around the chain: result, amendments, document seal, participants.
extension VerificationRun {
    mutating func checkResult(_ document: JSONValue) {
        guard let result = document["result"], !snapshots.isEmpty, !snapshots.contains(nil) else {
            if document["result"] == nil { problem(.result, .malformed, "the certificate states no result") }
            return
        }
        let payloads = snapshots.compactMap { $0 }
        let outcome = CountOutcome(buckets: payloads.map(\.numbers))
        report.result = outcome
        let last = payloads[payloads.count - 1]
        let spec = pipeline?.spec ?? .v2
        report.sustainedPeakChecked = spec.hasSustainedPeak
        var expectations: [(String, JSONValue)] = [
            ("qualified", .int(outcome.qualified)), ("peak", .int(outcome.peak)),
            ("buckets_sealed", .int(payloads.count)), ("head_hash", report.headHash.map { .string($0) } ?? .null),
            ("participants_root", .string(last.participantsRoot)),
        ]
        if spec.hasSustainedPeak { expectations.append(("sustained_peak", .int(outcome.sustainedPeak))) }
        for (key, expected) in expectations where !Self.same(result[key], expected) {
            problem(.result, .resultMismatch, "result.\(key) is not what the snapshots give (\(Self.text(expected)))")
        }
        if let pipeline, result["buckets_total"]?.integerValue != Int64(pipeline.rules.bucketCount) {
            problem(.result, .resultMismatch, "result.buckets_total is not the window's \(pipeline.rules.bucketCount) buckets")
        }
    }

    mutating func checkAmendments(_ document: JSONValue) {
        guard let items = document["amendments"]?.arrayValue else {
            problem(.certificate, .malformed, "\"amendments\" is not an array")
            return
        }
        var corrected = snapshots.map { $0?.numbers }
        for (index, item) in items.enumerated() {
            guard let amendment = try? Amendment(json: item) else {
                problem(.amendment(index: index, bucket: item["bucket"]?.integerValue.map { Int($0) } ?? -1), .malformed, "cannot be read")
                continue
            }
            let subject = VerificationProblem.Subject.amendment(index: index, bucket: amendment.bucket)
            guard corrected.indices.contains(amendment.bucket), let sealed = snapshots[amendment.bucket] else {
                problem(subject, .malformed, "amends bucket \(amendment.bucket), which is not a readable sealed snapshot")
                continue
            }
            if amendment.certified != sealed.numbers {
                problem(subject, .countMismatch, "its certified numbers are not those of sealed bucket \(amendment.bucket)")
            }
            if amendment.corrected.bucketStart != sealed.bucketStart {
                problem(subject, .inconsistent, "its corrected bucket_start is not bucket \(amendment.bucket)'s")
            }
            corrected[amendment.bucket] = amendment.corrected
        }
        checkAmendedResult(document, corrected: items.isEmpty ? nil : corrected.compactMap { $0 })
    }

    private mutating func checkAmendedResult(_ document: JSONValue, corrected: [BucketNumbers]?) {
        let stated = document["result"]?["amended"]
        guard let corrected else {
            if stated?.isNull == false { problem(.result, .resultMismatch, "result.amended is stated without any amendment") }
            return
        }
        let expected = Certificate.outcomeJSON(CountOutcome(buckets: corrected), spec: pipeline?.spec ?? .v2)
        if !Self.same(stated, expected) {
            problem(.result, .resultMismatch, "result.amended is not what the amendments give (\(Self.text(expected)))")
        }
    }

    mutating func checkDocumentSeal(_ document: JSONValue) {
        guard let stated = document["document_hash"]?.stringValue, let signature = document["document_signature"]?.stringValue else {
            problem(.certificate, .documentMismatch, "the document hash or signature is missing")
            return
        }
        guard let computed = try? Certificate.documentHash(of: document) else {
            problem(.certificate, .malformed, "the document cannot be canonicalized")
            return
        }
        if computed != stated {
            problem(.certificate, .documentMismatch, "document_hash is not the hash of the document: something outside the chain was changed")
        }
        if let publicKey, !publicKey.isValidSignature(signature, forHash: stated) {
            problem(.certificate, .badSignature, "the document signature does not verify under the published public key")
        }
    }

    /// JSON equality that treats 3 and 3.0 as the same number.
    static func same(_ value: JSONValue?, _ expected: JSONValue) -> Bool {
        guard let value else { return false }
        return (try? value.canonicalText()) == (try? expected.canonicalText())
    }

    static func text(_ value: JSONValue) -> String {
        (try? value.canonicalText()) ?? "?"
    }
}
