/// Proof that one participant is among the qualified participants under a
/// `participants_root`: the RFC 6962 audit path of its leaf.
///
/// JSON form: `{"participant", "bucket", "leaf_index", "tree_size", "audit_path": [hex…],
/// "root"}`. Anyone can check it with SHA-256 alone; see docs/certificate.md.
public struct InclusionProof: Sendable, Hashable {
    public var participant: String
    /// The bucket whose `participants_root` this proves against (the last sealed one).
    public var bucket: Int
    /// 0-based position of the participant in bytewise order.
    public var leafIndex: Int
    public var treeSize: Int
    /// Sibling hashes from the leaf upwards, lowercase hex.
    public var auditPath: [String]
    /// The participants root, lowercase hex.
    public var root: String

    public init(participant: String, bucket: Int, leafIndex: Int, treeSize: Int, auditPath: [String], root: String) {
        self.participant = participant
        self.bucket = bucket
        self.leafIndex = leafIndex
        self.treeSize = treeSize
        self.auditPath = auditPath
        self.root = root
    }

    /// Whether the audit path leads from the participant's leaf to `root`.
    public var isValid: Bool {
        let path = auditPath.compactMap(Hex.decode)
        guard path.count == auditPath.count, let rootBytes = Hex.decode(root) else { return false }
        let leaf = MerkleTree.leafHash(Array(participant.utf8))
        return MerkleTree.verifyInclusion(leafHash: leaf, index: leafIndex, treeSize: treeSize, auditPath: path, root: rootBytes)
    }

    public var json: JSONValue {
        [
            "participant": .string(participant), "bucket": .int(bucket), "leaf_index": .int(leafIndex),
            "tree_size": .int(treeSize), "audit_path": .array(auditPath.map { .string($0) }), "root": .string(root),
        ]
    }

    public init(json: JSONValue) throws(CertificateError) {
        let path = json["audit_path"]?.arrayValue?.compactMap(\.stringValue)
        guard let participant = json["participant"]?.stringValue,
              let bucket = json["bucket"]?.integerValue.flatMap({ Int(exactly: $0) }),
              let leafIndex = json["leaf_index"]?.integerValue.flatMap({ Int(exactly: $0) }),
              let treeSize = json["tree_size"]?.integerValue.flatMap({ Int(exactly: $0) }),
              let path, path.count == json["audit_path"]?.arrayValue?.count,
              let root = json["root"]?.stringValue
        else {
            throw CertificateError(.invalidJSON, "an inclusion proof is {participant, bucket, leaf_index, tree_size, audit_path, root}")
        }
        self.init(participant: participant, bucket: bucket, leafIndex: leafIndex, treeSize: treeSize, auditPath: path, root: root)
    }
}
