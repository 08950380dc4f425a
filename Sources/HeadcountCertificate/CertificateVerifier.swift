import Foundation
import HeadcountCore

/// Checks a certificate folder offline, trusting nothing but the mathematics and,
/// optionally, a public key and rules obtained elsewhere.
///
/// Checks: the chain from the genesis hash of the rules, every hash recomputed, every
/// signature, every bucket's `participants_root` and `qualified` against participants.txt,
/// that unique and qualified never decrease unless an amendment of the previous bucket
/// explains it, the stated result, the amendments and the document seal.
public struct CertificateVerifier: Sendable {
    public var directory: String
    /// When set, the certificate must publish exactly this key (obtained independently).
    public var expectedPublicKey: PublicKey?
    /// When set, the certificate must bind exactly these rules (e.g. the pipeline file).
    public var expectedPipeline: PipelineCanonicalForm?

    public init(directory: String, expectedPublicKey: PublicKey? = nil, expectedPipeline: PipelineCanonicalForm? = nil) {
        self.directory = directory
        self.expectedPublicKey = expectedPublicKey
        self.expectedPipeline = expectedPipeline
    }

    /// Verifies the folder with no outside expectations.
    public static func verify(directory: String) -> VerificationReport {
        CertificateVerifier(directory: directory).verify()
    }

    /// Verifies everything and lists every problem found.
    public func verify() -> VerificationReport {
        var run = VerificationRun(report: VerificationReport(directory: directory))
        guard let document = run.loadDocument(path: path(Certificate.jsonFile)) else { return run.report }
        run.checkRules(document, expected: expectedPipeline)
        run.checkPublicKey(document, expected: expectedPublicKey)
        run.checkSnapshots(document)
        run.checkResult(document)
        run.checkAmendments(document)
        run.checkDocumentSeal(document)
        run.checkParticipants(document, text: try? FileOutput.read(path: path(Certificate.participantsFile)))
        return run.report
    }

    /// The RFC 6962 inclusion proof of `participant` in the last snapshot's participants root.
    ///
    /// Throws when the folder cannot be read, when participants.txt does not give the
    /// certified root, or when the participant is not qualified at the last bucket.
    public func prove(participant: String) throws(CertificateError) -> InclusionProof {
        let (snapshot, keys) = try finalParticipants()
        guard let index = Self.index(of: participant, in: keys) else {
            throw CertificateError(.invalidParticipant, "the participant is not among the qualified participants of this certificate")
        }
        let tree = MerkleTree(leafHashes: keys.map { MerkleTree.leafHash(Array($0.utf8)) })
        guard tree.rootHex == snapshot.participantsRoot else {
            throw CertificateError(.invalidCertificate, "participants.txt does not give the certified participants root", path: path(Certificate.participantsFile))
        }
        return InclusionProof(
            participant: participant, bucket: snapshot.bucket, leafIndex: index, treeSize: keys.count,
            auditPath: tree.auditPath(forLeafAt: index)!.map(Hex.encode), root: tree.rootHex)
    }

    /// Whether `proof` is valid and leads to this certificate's last participants root.
    public func verifyProof(_ proof: InclusionProof) throws(CertificateError) -> Bool {
        let snapshot = try lastSnapshot()
        return proof.root == snapshot.participantsRoot && proof.bucket == snapshot.bucket && proof.isValid
    }

    private func lastSnapshot() throws(CertificateError) -> SnapshotPayload {
        let file = path(Certificate.jsonFile)
        guard let bytes = try FileOutput.read(path: file) else {
            throw CertificateError(.invalidCertificate, "no certificate here", path: file)
        }
        let document = try JSONValue(parsing: bytes)
        guard let last = document["snapshots"]?.arrayValue?.last else {
            throw CertificateError(.invalidCertificate, "the certificate has no snapshot", path: file)
        }
        return try SnapshotPayload(json: last)
    }

    private func finalParticipants() throws(CertificateError) -> (SnapshotPayload, [String]) {
        let snapshot = try lastSnapshot()
        let file = path(Certificate.participantsFile)
        guard let bytes = try FileOutput.read(path: file) else {
            throw CertificateError(.invalidCertificate, "no participant list here", path: file)
        }
        let parsed = ParticipantList.parse(bytes)
        if let first = parsed.problems.first {
            throw CertificateError(.invalidCertificate, "line \(first.line): \(first.reason)", path: file)
        }
        return (snapshot, QualifiedParticipant.keys(in: parsed.participants, atEndOf: snapshot.bucket))
    }

    /// Binary search in bytewise order.
    static func index(of key: String, in sortedKeys: [String]) -> Int? {
        var low = 0, high = sortedKeys.count
        while low < high {
            let middle = (low + high) / 2
            if sortedKeys[middle].bytewisePrecedes(key) { low = middle + 1 } else { high = middle }
        }
        return low < sortedKeys.count && sortedKeys[low].bytewiseEquals(key) ? low : nil
    }

    private func path(_ file: String) -> String {
        (directory as NSString).appendingPathComponent(file)
    }
}
