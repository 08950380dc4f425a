import HeadcountCore

extension VerificationRun {
    /// Rebuilds every bucket's qualified set from participants.txt and checks its root and count.
    mutating func checkParticipants(_ document: JSONValue, text bytes: [UInt8]?) {
        guard let bytes else {
            report.notes.append("no \(Certificate.participantsFile): participants roots were not checked")
            return
        }
        if document["participants"]?["sha256"]?.stringValue != Digest256.hex(bytes) {
            problem(.participants(line: nil), .documentMismatch, "the file's SHA-256 is not the one the certificate states")
        }
        let parsed = ParticipantList.parse(bytes)
        for bad in parsed.problems { problem(.participants(line: bad.line), .malformed, bad.reason) }
        let list = parsed.participants
        report.participantsChecked = list.count
        if document["participants"]?["count"]?.integerValue != Int64(list.count) {
            problem(.participants(line: nil), .countMismatch, "the file has \(list.count) participants, not the stated count")
        }
        for (offset, participant) in list.enumerated() where ([participant.bucket] + participant.changes).last! >= snapshots.count {
            problem(.participants(line: offset + 1), .inconsistent, "enters or leaves in a bucket after the last sealed bucket")
        }
        checkRoots(list)
    }

    private mutating func checkRoots(_ list: [QualifiedParticipant]) {
        // The verifier needs bytewise order; a misordered file was reported above and is sorted here
        // so that every later bucket is still checked on its own merits.
        let sortedList = QualifiedParticipant.sorted(list)
        let roots = QualifiedParticipant.roots(of: sortedList, bucketCount: snapshots.count)
        // +1 where a participant enters the roots, −1 where it leaves (docs/certificate.md, "Decreases").
        var arrivals = [Int](repeating: 0, count: snapshots.count)
        for participant in sortedList {
            for (index, m) in ([participant.bucket] + participant.changes).enumerated() where m < snapshots.count {
                arrivals[m] += index.isMultiple(of: 2) ? 1 : -1
            }
        }
        var qualified = 0
        for (m, payload) in snapshots.enumerated() {
            qualified += arrivals[m]
            guard let payload else { continue }
            if payload.participantsRoot != roots[m] {
                problem(.bucket(m), .rootMismatch, "participants_root is not the root of the participants qualified by its end in \(Certificate.participantsFile)")
            }
            if payload.qualified != qualified {
                problem(.bucket(m), .countMismatch, "qualified is \(payload.qualified), but \(Certificate.participantsFile) lists \(qualified) qualified by its end")
            }
        }
    }
}
