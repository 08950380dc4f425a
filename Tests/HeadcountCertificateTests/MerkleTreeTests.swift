import HeadcountCertificate
import Testing

/// RFC 6962 Merkle Tree Hash and audit paths: the published vectors used across
/// Certificate Transparency implementations, and a brute-force reference.
@Suite struct MerkleTreeTests {
    static let leaves: [[UInt8]] = [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
    ]

    /// Roots for tree sizes 0 … 8.
    static let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    /// Published audit paths: (0-based leaf index, tree size, path).
    static let paths: [(Int, Int, [String])] = [
        (0, 8, [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]),
        (5, 8, [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (1, 5, [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ]),
        (0, 1, []),
    ]

    @Test func matchesThePublishedRoots() {
        for size in 0...8 {
            let tree = MerkleTree(leafHashes: Self.leaves.prefix(size).map(MerkleTree.leafHash))
            #expect(tree.rootHex == Self.roots[size], "size \(size)")
        }
    }

    @Test func matchesThePublishedAuditPaths() throws {
        for (index, size, expected) in Self.paths {
            let hashes = Self.leaves.prefix(size).map(MerkleTree.leafHash)
            let path = try #require(MerkleTree(leafHashes: hashes).auditPath(forLeafAt: index))
            #expect(path.map(Hex.encode) == expected, "leaf \(index) of \(size)")
            let root = try #require(Hex.decode(Self.roots[size]))
            #expect(MerkleTree.verifyInclusion(leafHash: hashes[index], index: index, treeSize: size, auditPath: path, root: root))
        }
    }

    /// Every proof verifies, and none does for another leaf, index, size, root or a damaged path.
    @Test func everyProofVerifiesAndNothingElseDoes() throws {
        var random = TestRandom(seed: 6962)
        for size in 1...300 {
            // Distinct leaves: with two equal leaves, the other index would rightly verify too.
            let hashes = (0..<size).map { MerkleTree.leafHash([UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] + random.bytes(count: random.below(12))) }
            let tree = MerkleTree(leafHashes: hashes)
            if size <= 64 { #expect(tree.root == Reference.root(hashes[...]), "size \(size)") }
            // Every leaf's proof is checked; the (costlier) rejections on a sample of leaves.
            let probed = Set(size <= 40 ? Array(0..<size) : (0..<6).map { _ in random.below(size) } + [0, size - 1])
            for index in 0..<size {
                let path = try #require(tree.auditPath(forLeafAt: index))
                if size <= 64 { #expect(path == Reference.path(index, hashes[...]), "path \(index)/\(size)") }
                #expect(MerkleTree.verifyInclusion(leafHash: hashes[index], index: index, treeSize: size, auditPath: path, root: tree.root))
                if probed.contains(index) { Self.expectRejections(hashes: hashes, index: index, path: path, root: tree.root) }
            }
        }
    }

    static func expectRejections(hashes: [[UInt8]], index: Int, path: [[UInt8]], root: [UInt8]) {
        let size = hashes.count
        let leaf = hashes[index]
        func accepts(_ leaf: [UInt8], _ index: Int, _ size: Int, _ path: [[UInt8]], _ root: [UInt8]) -> Bool {
            MerkleTree.verifyInclusion(leafHash: leaf, index: index, treeSize: size, auditPath: path, root: root)
        }
        #expect(!accepts(MerkleTree.leafHash([0xFF, 0xEE]), index, size, path, root), "wrong leaf")
        if size > 1 { #expect(!accepts(leaf, (index + 1) % size, size, path, root), "wrong index") }
        #expect(!accepts(leaf, index, size * 2 + 1, path, root), "wrong size")
        #expect(!accepts(leaf, index, size, path, MerkleTree(leafHashes: []).root), "wrong root")
        #expect(!accepts(leaf, index, size, path + [root], root), "trailing garbage")
        #expect(!accepts(leaf, size, size, path, root), "index outside the tree")
        if !path.isEmpty {
            var damaged = path
            damaged[0][0] ^= 8
            #expect(!accepts(leaf, index, size, damaged, root), "flipped bit")
            #expect(!accepts(leaf, index, size, Array(path.dropLast()), root), "short path")
        }
    }

    /// COUNTING.md section 5 sorts by UTF-8 bytes; Swift's `<` on strings would not.
    @Test func sortsParticipantsBytewise() {
        let keys = ["\u{FB33}", "é", "e\u{301}", "z", "\u{1F600}", "Z", "a\tb", "\u{20AC}"]
        let bytewise = keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        let expected = MerkleTree(leafHashes: bytewise.map(MerkleTree.leafHash)).rootHex
        #expect(MerkleTree(participants: keys).rootHex == expected)
        #expect(MerkleTree(participants: keys.reversed()).rootHex == expected)
        // "é" (C3 A9) and "e\u{301}" (65 CC 81) are equal Swift strings but distinct participants.
        #expect(MerkleTree(participants: ["é", "e\u{301}"]).size == 2)
        let swiftOrder = keys.sorted().map { Array($0.utf8) }
        #expect(MerkleTree(leafHashes: swiftOrder.map(MerkleTree.leafHash)).rootHex != expected)
    }

    @Test func hashesLeavesAndNodesWithTheirPrefixes() {
        #expect(Hex.encode(MerkleTree.leafHash([])) == Self.roots[1])
        let pair = MerkleTree.nodeHash(MerkleTree.leafHash([]), MerkleTree.leafHash([0x00]))
        #expect(Hex.encode(pair) == Self.roots[2])
    }
}

/// RFC 6962 section 2.1 written as the RFC writes it, recursively: the reference.
enum Reference {
    static func split(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    static func root(_ hashes: ArraySlice<[UInt8]>) -> [UInt8] {
        if hashes.count == 1 { return hashes.first! }
        let k = split(hashes.count)
        let start = hashes.startIndex
        return MerkleTree.nodeHash(root(hashes[start..<start + k]), root(hashes[(start + k)...]))
    }

    static func path(_ m: Int, _ hashes: ArraySlice<[UInt8]>) -> [[UInt8]] {
        if hashes.count <= 1 { return [] }
        let k = split(hashes.count)
        let start = hashes.startIndex
        if m < k { return path(m, hashes[start..<start + k]) + [root(hashes[(start + k)...])] }
        return path(m - k, hashes[(start + k)...]) + [root(hashes[start..<start + k])]
    }
}

/// A small seeded generator (SplitMix64), so property tests are reproducible.
struct TestRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(next() % UInt64(bound)) }

    mutating func bytes(count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
