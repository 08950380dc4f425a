import Crypto
import Foundation

/// The Merkle Tree Hash of RFC 6962 section 2.1 over SHA-256, with its audit paths.
///
/// Built level by level: pairing neighbours and carrying an odd last node up unchanged gives
/// exactly the tree of RFC 6962's recursive definition (split at the largest power of two
/// below n), in O(n) hashes instead of re-hashing subtrees for every proof.
public struct MerkleTree: Sendable {
    /// levels[0] holds the leaf hashes, the last level the root; 32 bytes per node.
    private let levels: [[UInt8]]
    /// The number of leaves.
    public let size: Int

    /// A tree over the given leaf hashes (already `leafHash`ed), in order.
    public init(leafHashes: [[UInt8]]) {
        size = leafHashes.count
        var level = leafHashes.flatMap { $0 }
        var built = [level]
        while level.count > 32 {
            level = Self.parentLevel(of: level)
            built.append(level)
        }
        levels = built
    }

    /// A tree over participant keys: the UTF-8 bytes of each key are one leaf, sorted
    /// bytewise (COUNTING.md section 5) whatever order they come in.
    public init(participants: [String]) {
        let sorted = participants.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        self.init(leafHashes: sorted.map(Self.leafHash))
    }

    /// The Merkle Tree Hash over leaf hashes laid end to end (32 bytes each, in leaf order),
    /// without keeping the levels: what a seal needs when it keeps its leaf hashes between roots.
    public static func root(concatenatedLeafHashes leaves: [UInt8]) -> [UInt8] {
        guard !leaves.isEmpty else { return Digest256.hash([]) }
        var level = leaves
        while level.count > 32 { level = parentLevel(of: level) }
        return level
    }

    /// The Merkle Tree Hash; SHA-256 of the empty string for an empty tree.
    public var root: [UInt8] {
        size == 0 ? Digest256.hash([]) : levels[levels.count - 1]
    }

    /// `root` as lowercase hex.
    public var rootHex: String { Hex.encode(root) }

    /// The RFC 6962 audit path of leaf `index` (0-based), nearest sibling first; nil when
    /// the index is outside the tree.
    public func auditPath(forLeafAt index: Int) -> [[UInt8]]? {
        guard index >= 0, index < size else { return nil }
        var path: [[UInt8]] = []
        var position = index
        for level in levels.dropLast() {
            let sibling = position ^ 1
            // A node without a sibling is carried up as it is: no path entry at this level.
            if sibling * 32 < level.count {
                path.append(Array(level[sibling * 32..<sibling * 32 + 32]))
            }
            position >>= 1
        }
        return path
    }

    /// SHA-256(0x00 ‖ data): the hash of one leaf.
    public static func leafHash(_ data: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: data)
        return Array(hasher.finalize())
    }

    /// SHA-256(0x01 ‖ left ‖ right): the hash of an interior node.
    public static func nodeHash(_ left: some Collection<UInt8>, _ right: some Collection<UInt8>) -> [UInt8] {
        // One allocation per node: this runs n − 1 times per root.
        var message: [UInt8] = [0x01]
        message.reserveCapacity(1 + left.count + right.count)
        message.append(contentsOf: left)
        message.append(contentsOf: right)
        var hasher = SHA256()
        message.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return Array(hasher.finalize())
    }

    private static func parentLevel(of level: [UInt8]) -> [UInt8] {
        let count = level.count / 32
        var parent = [UInt8](repeating: 0, count: (count + 1) / 2 * 32)
        // One reused 65-byte message (0x01 ‖ left ‖ right) and no allocation per node: a
        // seal hashes n − 1 nodes, so this loop is most of a large root's cost.
        var message = [UInt8](repeating: 0x01, count: 65)
        level.withUnsafeBytes { source in
            parent.withUnsafeMutableBytes { target in
                message.withUnsafeMutableBytes { scratch in
                    var node = 0
                    while node + 1 < count {
                        scratch.baseAddress!.advanced(by: 1).copyMemory(from: source.baseAddress!.advanced(by: node * 32), byteCount: 64)
                        var hasher = SHA256()
                        hasher.update(bufferPointer: UnsafeRawBufferPointer(scratch))
                        hasher.finalize().withUnsafeBytes { digest in
                            target.baseAddress!.advanced(by: node / 2 * 32).copyMemory(from: digest.baseAddress!, byteCount: 32)
                        }
                        node += 2
                    }
                    // An odd last node is carried up unchanged.
                    if node < count {
                        target.baseAddress!.advanced(by: node / 2 * 32).copyMemory(from: source.baseAddress!.advanced(by: node * 32), byteCount: 32)
                    }
                }
            }
        }
        return parent
    }

    /// The root an audit path leads to, by the algorithm of RFC 9162 section 2.1.3.2 (which
    /// accepts exactly the paths of RFC 6962); nil when the path cannot belong to such a tree.
    public static func root(
        fromLeafHash leafHash: [UInt8], index: Int, treeSize: Int, auditPath: [[UInt8]]
    ) -> [UInt8]? {
        guard index >= 0, index < treeSize, leafHash.count == 32 else { return nil }
        var fn = index
        var sn = treeSize - 1
        var result = leafHash
        for sibling in auditPath {
            guard sn != 0, sibling.count == 32 else { return nil }
            if fn & 1 == 1 || fn == sn {
                result = nodeHash(sibling, result)
                // Climb past the levels where this node was carried up without a sibling.
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                result = nodeHash(result, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 ? result : nil
    }

    /// Whether `auditPath` proves that `leafHash` is leaf `index` of the tree of `treeSize`
    /// leaves with root `root`.
    public static func verifyInclusion(
        leafHash: [UInt8], index: Int, treeSize: Int, auditPath: [[UInt8]], root: [UInt8]
    ) -> Bool {
        guard let computed = Self.root(fromLeafHash: leafHash, index: index, treeSize: treeSize, auditPath: auditPath) else {
            return false
        }
        return computed == root
    }
}
