import HeadcountCore

/// One thing wrong with a certificate, and what it concerns.
public struct VerificationProblem: Sendable, Hashable, CustomStringConvertible {
    /// What the problem is about: the bucket it concerns whenever there is one.
    public enum Subject: Sendable, Hashable, CustomStringConvertible {
        /// The folder or the document as a whole (format, document seal, public key).
        case certificate
        /// The pipeline's rules (its canonical form, genesis hash, link to bucket 0).
        case rules
        /// Snapshot m.
        case bucket(Int)
        /// The `index`-th amendment, which concerns bucket `bucket`.
        case amendment(index: Int, bucket: Int)
        /// participants.txt, at a 1-based line when the problem has one.
        case participants(line: Int?)
        /// The stated result.
        case result

        public var description: String {
            switch self {
            case .certificate: "certificate"
            case .rules: "rules"
            case .bucket(let m): "bucket \(m)"
            case .amendment(let index, let bucket): "amendment \(index) (bucket \(bucket))"
            case .participants(let line): line.map { "participants.txt line \($0)" } ?? "participants.txt"
            case .result: "result"
            }
        }
    }

    public enum Code: String, Sendable, Hashable {
        /// A file is missing or unreadable, or not in the expected form.
        case malformed
        /// The rules do not lead to the chain's first link, or differ from the expected ones.
        case rulesMismatch
        /// A snapshot's `hash` is not the hash of its content.
        case hashMismatch
        /// A `prev_hash` is not the previous snapshot's `hash`.
        case chainBroken
        /// A signature does not verify under the published public key.
        case badSignature
        /// The published public key is not the one the verifier was told to expect.
        case wrongKey
        /// A `participants_root` does not match the participants in participants.txt.
        case rootMismatch
        /// A count disagrees with participants.txt or with another number it bounds.
        case countMismatch
        /// Numbers that break the counting rules (decreasing unique, peak above active, …).
        case inconsistent
        /// The stated result is not what the snapshots give.
        case resultMismatch
        /// The document hash or signature, or the digest of participants.txt, does not match.
        case documentMismatch
    }

    public var subject: Subject
    public var code: Code
    public var message: String

    public init(_ subject: Subject, _ code: Code, _ message: String) {
        self.subject = subject
        self.code = code
        self.message = message
    }

    public var description: String { "\(subject): \(message) [\(code.rawValue)]" }
}

/// The outcome of verifying a certificate folder: every problem found, not just the first.
public struct VerificationReport: Sendable {
    public var directory: String
    public var problems: [VerificationProblem] = []
    /// Facts worth knowing that are not failures (provisional certificate, no participant list).
    public var notes: [String] = []
    public var pipelineID: String?
    public var bucketsChecked = 0
    public var participantsChecked = 0
    public var headHash: String?
    public var result: CountOutcome?
    /// Whether the certificate's spec certifies `sustained_peak` (v2 and later).
    public var sustainedPeakChecked = false
    /// Sealed under a rehearsal clock: whatever else holds, not evidence.
    public var rehearsal = false

    public init(directory: String) {
        self.directory = directory
    }

    /// True when nothing is wrong.
    public var isValid: Bool { problems.isEmpty }

    /// The problems about one subject, e.g. `.bucket(3)`.
    public func problems(about subject: VerificationProblem.Subject) -> [VerificationProblem] {
        problems.filter { $0.subject == subject }
    }

    /// The buckets named by any problem (snapshots and amendments), sorted.
    public var bucketsWithProblems: [Int] {
        let buckets = problems.compactMap { problem -> Int? in
            switch problem.subject {
            case .bucket(let m), .amendment(_, let m): m
            default: nil
            }
        }
        return Array(Set(buckets)).sorted()
    }

    /// A plain-words summary, one problem per line.
    public var summary: String {
        var lines: [String] = []
        let name = pipelineID ?? "unknown pipeline"
        if isValid {
            lines.append("VALID: \(directory) (\(name)), \(bucketsChecked) buckets and \(participantsChecked) participants checked")
        } else {
            lines.append("INVALID: \(directory) (\(name)), \(problems.count) problem(s)")
        }
        if rehearsal { lines.append("REHEARSAL — NOT EVIDENCE: sealed under a rehearsal clock (the genesis hash covers \"rehearsal\": true)") }
        if let result {
            lines.append("result: qualified \(result.qualified), peak \(result.peak)"
                + (sustainedPeakChecked ? ", sustained peak \(result.sustainedPeak)" : ""))
        }
        if let headHash { lines.append("chain head: \(headHash)") }
        lines += notes.map { "note: \($0)" }
        lines += problems.map { "problem: \($0)" }
        return lines.joined(separator: "\n")
    }
}
