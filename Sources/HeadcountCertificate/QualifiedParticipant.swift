import HeadcountCore

/// A qualified participant and the first bucket at whose end it is qualified.
///
/// Qualified sets only grow (COUNTING.md section 3), so the set at E_m is exactly the
/// participants with `bucket` ≤ m: one line per participant in participants.txt lets a
/// verifier rebuild every bucket's `participants_root`.
public struct QualifiedParticipant: Sendable, Hashable {
    /// The participant key (pseudonymous identity), compared and sorted bytewise.
    public var key: String
    /// m of the first bucket whose E_m finds the participant qualified.
    public var bucket: Int

    public init(key: String, bucket: Int) {
        self.key = key
        self.bucket = bucket
    }

    /// Sorted bytewise by key, the order of the Merkle leaves and of participants.txt.
    public static func sorted(_ list: [QualifiedParticipant]) -> [QualifiedParticipant] {
        list.sorted { $0.key.bytewisePrecedes($1.key) }
    }

    /// The keys qualified at the end of bucket `m`, in bytewise order.
    public static func keys(in sortedList: [QualifiedParticipant], atEndOf m: Int) -> [String] {
        sortedList.filter { $0.bucket <= m }.map(\.key)
    }

    /// Every bucket's `participants_root`, for buckets 0 ..< `bucketCount`.
    ///
    /// Leaf hashes are computed once and a root is rebuilt only for buckets in which
    /// somebody qualified; in the other buckets the set, hence the root, is unchanged.
    public static func roots(of sortedList: [QualifiedParticipant], bucketCount: Int) -> [String] {
        let leaves = sortedList.map { MerkleTree.leafHash(Array($0.key.utf8)) }
        let arrivals = Set(sortedList.map(\.bucket))
        var roots: [String] = []
        roots.reserveCapacity(max(0, bucketCount))
        var current = MerkleTree(leafHashes: []).rootHex
        for m in 0..<max(0, bucketCount) {
            if arrivals.contains(m) {
                let members = sortedList.indices.filter { sortedList[$0].bucket <= m }.map { leaves[$0] }
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

/// participants.txt: one line per qualified participant, `KEY<TAB>BUCKET`, bytewise by key.
///
/// Keys are written verbatim except the bytes that would break the line format: `%`,
/// control characters (tab, newline …) and DEL become `%XX` (uppercase hex), so ordinary
/// keys stay greppable while any key round-trips exactly.
enum ParticipantList {
    static func text(_ sortedList: [QualifiedParticipant]) -> String {
        var out = ""
        for participant in sortedList {
            out += escape(participant.key) + "\t" + String(participant.bucket) + "\n"
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
            guard fields.count == 2, let key = unescape(fields[0]), !key.isEmpty,
                  let bucket = Int(fields[1]), bucket >= 0
            else {
                problems.append((offset + 1, "not KEY<TAB>BUCKET"))
                continue
            }
            if let last = participants.last, !last.key.bytewisePrecedes(key) {
                problems.append((offset + 1, "not after the previous line in bytewise order (or a repeat)"))
            }
            participants.append(QualifiedParticipant(key: key, bucket: bucket))
        }
        return (participants, problems)
    }
}
