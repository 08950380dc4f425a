import HeadcountCore

/// A certified participant: the first bucket whose root includes it, and the later buckets
/// at which it leaves and re-enters the certified roots.
///
/// Qualified sets only grow under COUNTING.md section 3, so without late events the set at
/// E_m is exactly the participants with `bucket` ≤ m. A late leave can shorten a sealed
/// participant's presence below Q (or to nothing); the buckets sealed afterwards certify the
/// corrected set without it (docs/certificate.md, "Decreases"), which `changes` records, so a
/// verifier can still rebuild every bucket's `participants_root` from participants.txt.
public struct QualifiedParticipant: Sendable, Hashable {
    /// The participant key (pseudonymous identity), compared and sorted bytewise.
    public var key: String
    /// m of the first bucket whose E_m finds the participant qualified.
    public var bucket: Int
    /// Later buckets, increasing, from which the participant is out of the roots, back in,
    /// out … (usually empty).
    public var changes: [Int]

    public init(key: String, bucket: Int, changes: [Int] = []) {
        self.key = key
        self.bucket = bucket
        self.changes = changes
    }

    /// Whether the root of bucket `m` includes the participant.
    public func isMember(atEndOf m: Int) -> Bool {
        guard bucket <= m else { return false }
        return changes.lazy.filter { $0 <= m }.count.isMultiple(of: 2)
    }

    /// Sorted bytewise by key, the order of the Merkle leaves and of participants.txt.
    public static func sorted(_ list: [QualifiedParticipant]) -> [QualifiedParticipant] {
        list.sorted { $0.key.bytewisePrecedes($1.key) }
    }

    /// The keys qualified at the end of bucket `m`, in bytewise order.
    public static func keys(in sortedList: [QualifiedParticipant], atEndOf m: Int) -> [String] {
        sortedList.filter { $0.isMember(atEndOf: m) }.map(\.key)
    }

    /// Every bucket's `participants_root`, for buckets 0 ..< `bucketCount`.
    ///
    /// Leaf hashes are computed once and a root is rebuilt only for buckets in which
    /// somebody entered or left; in the other buckets the set, hence the root, is unchanged.
    public static func roots(of sortedList: [QualifiedParticipant], bucketCount: Int) -> [String] {
        let leaves = sortedList.map { MerkleTree.leafHash(Array($0.key.utf8)) }
        let arrivals = Set(sortedList.flatMap { [$0.bucket] + $0.changes })
        var roots: [String] = []
        roots.reserveCapacity(max(0, bucketCount))
        var current = MerkleTree(leafHashes: []).rootHex
        for m in 0..<max(0, bucketCount) {
            if arrivals.contains(m) {
                let members = sortedList.indices.filter { sortedList[$0].isMember(atEndOf: m) }.map { leaves[$0] }
                current = MerkleTree(leafHashes: members).rootHex
            }
            roots.append(current)
        }
        return roots
    }
}

extension BatchCount {
    /// Every qualified participant with its first qualified bucket, sorted bytewise.
    public var qualifiedParticipantList: [QualifiedParticipant] {
        // `participants` is already in bytewise order.
        participants.compactMap { key in qualifiedBucket(of: key).map { QualifiedParticipant(key: key, bucket: $0) } }
    }
}

/// participants.txt: one line per certified participant, `KEY<TAB>BUCKET`, then
/// `<TAB>BUCKET` for each later change of membership (see `QualifiedParticipant.changes`),
/// bytewise by key.
///
/// Keys are written verbatim except the bytes that would break the line format: `%`,
/// control characters (tab, newline …) and DEL become `%XX` (uppercase hex), so ordinary
/// keys stay greppable while any key round-trips exactly.
enum ParticipantList {
    static func text(_ sortedList: [QualifiedParticipant]) -> String {
        var out = ""
        for participant in sortedList {
            out += escape(participant.key) + "\t" + String(participant.bucket)
            for change in participant.changes { out += "\t" + String(change) }
            out += "\n"
        }
        return out
    }

    static func escape(_ key: String) -> String {
        var bytes: [UInt8] = []
        for byte in key.utf8 {
            if byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "%") {
                let hex = Array(String(byte, radix: 16, uppercase: true).utf8)
                bytes += [UInt8(ascii: "%")] + (hex.count == 1 ? [UInt8(ascii: "0")] + hex : hex)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The key of an escaped field; nil for a malformed escape or invalid UTF-8.
    static func unescape(_ field: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(field.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Hex.value(of:)), let low = iterator.next().flatMap(Hex.value(of:)) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The participants of a file, or the 1-based line numbers and reasons of its bad lines.
    static func parse(_ bytes: [UInt8]) -> (participants: [QualifiedParticipant], problems: [(line: Int, reason: String)]) {
        var participants: [QualifiedParticipant] = []
        var problems: [(line: Int, reason: String)] = []
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (offset, line) in lines.enumerated() {
            // The file ends with a newline, which leaves one empty last piece.
            if offset == lines.count - 1 && line.isEmpty { continue }
            guard let text = String(validating: line, as: UTF8.self) else {
                problems.append((offset + 1, "not valid UTF-8"))
                continue
            }
            let fields = text.split(separator: "\t", omittingEmptySubsequences: false)
            let buckets = fields.dropFirst().map { Int($0) }
            guard fields.count >= 2, let key = unescape(fields[0]), !key.isEmpty,
                  let bucket = buckets[0], bucket >= 0, buckets.allSatisfy({ $0 != nil }),
                  zip(buckets, buckets.dropFirst()).allSatisfy({ $0! < $1! })
            else {
                problems.append((offset + 1, "not KEY<TAB>BUCKET[<TAB>BUCKET…] with increasing buckets"))
                continue
            }
            if let last = participants.last, !last.key.bytewisePrecedes(key) {
                problems.append((offset + 1, "not after the previous line in bytewise order (or a repeat)"))
            }
            participants.append(QualifiedParticipant(key: key, bucket: bucket, changes: buckets.dropFirst().map { $0! }))
        }
        return (participants, problems)
    }
}
