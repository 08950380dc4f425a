import HeadcountCertificate
import HeadcountCore
import HeadcountStore

/// The qualified participants at a bucket's end and their `participants_root`, kept in
/// memory between rounds: a seal costs what changed since the previous root plus the root's
/// node hashes, instead of reading and hashing the whole qualified set again.
///
/// Every participant's first qualified bucket is read once from `presence` when the reporter
/// takes the lock, then advanced by the rows of `headcount.qualification_changes` above the
/// previous round's fence (`SealingConnection.contributionFence`: every row at or below it
/// was visible to that round). A row carries the participant's whole qualification and, per
/// participant, `seq` order is commit order (the workers write it after the presence upsert,
/// whose row lock orders them), so applying rows in `seq` order leaves the latest one, and a
/// row read again in a later round changes nothing.
struct QualifiedSet: Sendable {
    /// The last qualification-change `seq` covered; nil until the first round.
    private(set) var fence: Int64?
    /// Every qualified participant's first qualified bucket, and the same grouped by bucket.
    private var bucketOf: [Key: Int] = [:]
    private var byBucket: [Int: Set<Key>] = [:]
    /// Participants whose qualification changed since the last root.
    private var touched: Set<Key> = []
    /// The bucket the last root was computed for; nil until the first one.
    private var rooted: Int?
    /// The last root's participants, bytewise sorted, and their leaf hashes in that order
    /// (32 bytes each, end to end).
    private(set) var members: [String] = []
    private var leaves: [UInt8] = []

    init() {}

    /// The participants qualified at the end of a bucket, as a change from the last root.
    struct Root: Sendable {
        var rootHex: String
        var count: Int
        var entering: [String]
        var leaving: [String]
        /// The whole sorted set, given only for the first root after taking the lock (the
        /// certified membership is then compared with all of it).
        var all: [String]?
    }

    /// Applies the qualification changes `round`'s snapshot sees, `fence` (the
    /// `qualifications` part of the round's fence) having been taken before it began.
    mutating func advance(_ round: SealingRound, pipeline: String, to newFence: Int64) async throws {
        let previous: Int64
        if let fence {
            previous = fence
        } else {
            for (participant, bucket) in try await round.qualifiedBuckets(pipeline: pipeline) { set(participant, to: bucket) }
            touched = []
            // The rows above the fence that this snapshot sees are in `presence` already:
            // reading them below changes nothing.
            previous = newFence
        }
        for change in try await round.qualificationChanges(pipeline: pipeline, after: previous) {
            record(change.participant, change.bucket)
        }
        fence = max(previous, newFence)
    }

    /// The root over the participants qualified at the end of `bucket`, which is never below
    /// the last root's bucket.
    mutating func root(atEndOf bucket: Int) -> Root {
        guard let last = rooted else {
            let all = bucketOf.compactMap { $0.value <= bucket ? $0.key.text : nil }.sorted(by: Self.precedes)
            members = all
            leaves = []
            leaves.reserveCapacity(all.count * 32)
            for participant in all { leaves += MerkleTree.leafHash(Array(participant.utf8)) }
            rooted = bucket
            touched = []
            return Root(rootHex: currentRoot, count: all.count, entering: all, leaving: [], all: all)
        }
        var candidates = touched
        if bucket > last {
            for m in (last + 1)...bucket { candidates.formUnion(byBucket[m] ?? []) }
        }
        var entering: [String] = [], leaving: [Int] = []
        for candidate in candidates {
            let participant = candidate.text
            let qualified = bucketOf[candidate].map { $0 <= bucket } ?? false
            let position = Self.lowerBound(of: participant, in: members)
            let member = position < members.count && members[position].bytewiseEquals(participant)
            if qualified && !member { entering.append(participant) }
            if !qualified && member { leaving.append(position) }
        }
        entering.sort(by: Self.precedes)
        leaving.sort()
        let left = leaving.map { members[$0] }
        apply(entering: entering, removing: leaving)
        rooted = bucket
        touched = []
        return Root(rootHex: currentRoot, count: members.count, entering: entering, leaving: left, all: nil)
    }

    private var currentRoot: String { Hex.encode(MerkleTree.root(concatenatedLeafHashes: leaves)) }

    /// A participant's new first qualified bucket (nil: not qualified), to be in the next root.
    mutating func record(_ participant: String, _ bucket: Int?) {
        set(participant, to: bucket)
        touched.insert(Key(participant))
    }

    private mutating func set(_ text: String, to bucket: Int?) {
        let participant = Key(text)
        if let old = bucketOf[participant] {
            byBucket[old]?.remove(participant)
        }
        bucketOf[participant] = bucket
        if let bucket { byBucket[bucket, default: []].insert(participant) }
    }

    /// Rebuilds the sorted members and leaves with `entering` (sorted, none a member)
    /// inserted and the members at `removing` (ascending positions) left out, copying the
    /// unchanged runs between them.
    private mutating func apply(entering: [String], removing: [Int]) {
        guard !entering.isEmpty || !removing.isEmpty else { return }
        let insertions = entering.map { Self.lowerBound(of: $0, in: members) }
        var nextMembers: [String] = [], nextLeaves: [UInt8] = []
        let count = members.count + entering.count - removing.count
        nextMembers.reserveCapacity(count)
        nextLeaves.reserveCapacity(count * 32)
        var cursor = 0, k = 0, j = 0
        while k < insertions.count || j < removing.count {
            let insertAt = k < insertions.count ? insertions[k] : Int.max
            let removeAt = j < removing.count ? removing[j] : Int.max
            let stop = min(insertAt, removeAt)
            nextMembers += members[cursor..<stop]
            nextLeaves += leaves[cursor * 32..<stop * 32]
            cursor = stop
            if insertAt <= removeAt {
                // entering[k] sorts before members[insertAt]: it goes first.
                nextMembers.append(entering[k])
                nextLeaves += MerkleTree.leafHash(Array(entering[k].utf8))
                k += 1
            } else {
                cursor += 1
                j += 1
            }
        }
        nextMembers += members[cursor...]
        nextLeaves += leaves[(cursor * 32)...]
        members = nextMembers
        leaves = nextLeaves
    }

    /// Bytewise UTF-8 order, the order of the Merkle leaves (COUNTING.md section 5).
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.bytewisePrecedes(b)
    }

    /// A participant compared and hashed by its UTF-8 bytes, as the store and the leaves
    /// tell participants apart (String equality would merge canonically equivalent keys).
    struct Key: Hashable, Sendable {
        let text: String

        init(_ text: String) { self.text = text }

        static func == (lhs: Key, rhs: Key) -> Bool { lhs.text.bytewiseEquals(rhs.text) }

        func hash(into hasher: inout Hasher) {
            let done: Void? = text.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            if done == nil {
                for byte in text.utf8 { hasher.combine(byte) }
            }
        }
    }

    /// The first position in `sorted` whose key does not sort before `key`.
    static func lowerBound(of key: String, in sorted: [String]) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if precedes(sorted[middle], key) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
