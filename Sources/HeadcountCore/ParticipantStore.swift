/// The incremental form's participants: packed records in one arena, and an open-addressing index.
///
/// One byte arena instead of one array per participant saves the 48 bytes of heap header and
/// allocator bookkeeping that a small Swift array costs; a `Dictionary<String, Int>` would cost
/// about 40 bytes per participant, this index 4 to 8, because the key lives once, in the record.
struct ParticipantStore {
    /// Records back to back; a replaced record leaves garbage until the next compaction.
    private(set) var arena: [UInt8] = []
    /// Per participant (dense index): where its record starts in `arena`.
    private var offsets: [UInt64] = []
    /// Per participant: the bucket where it qualified, or −1 (the certificate's leaves).
    var qualifiedBuckets: [Int32] = []
    /// Linear-probing table of participant index + 1; 0 is an empty slot.
    private var slots = [UInt32](repeating: 0, count: 1024)
    /// Bytes of `arena` that no participant points at any more.
    private var garbage = 0

    var count: Int { offsets.count }

    /// Where participant `index`'s record starts in `arena`.
    func offset(of index: Int) -> Int { Int(offsets[index]) }

    /// The index of `key`, if the participant is known.
    func index(of key: String) -> Int? {
        let mask = slots.count - 1
        var slot = Self.hash(key) & mask
        while slots[slot] != 0 {
            let index = Int(slots[slot] - 1)
            if ParticipantRecord.keyMatches(arena, at: Int(offsets[index]), key.utf8) { return index }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// The index of `key`, adding an empty record when the participant is new.
    mutating func indexInserting(_ key: String, origin: Int64) -> Int {
        if let index = index(of: key) { return index }
        if (offsets.count + 1) * 10 > slots.count * 7 { grow() }
        let index = offsets.count
        offsets.append(UInt64(arena.count))
        arena += ParticipantRecord(key: Array(key.utf8)).encoded(origin: origin)
        qualifiedBuckets.append(-1)
        place(index, hash: Self.hash(key))
        return index
    }

    /// Points participant `index` at a new encoding of its record.
    mutating func replaceRecord(_ index: Int, with bytes: [UInt8]) {
        garbage += ParticipantRecord.length(in: arena, at: Int(offsets[index]))
        offsets[index] = UInt64(arena.count)
        arena += bytes
        // Compacting when a fifth is garbage keeps the copying amortised O(1) per byte written.
        if garbage > 4096 && garbage * 5 > arena.count { compact() }
    }

    /// Copies every live record into a fresh arena.
    mutating func compact() {
        guard garbage > 0 else { return }
        var fresh: [UInt8] = []
        fresh.reserveCapacity(arena.count - garbage)
        for index in offsets.indices {
            let start = Int(offsets[index])
            let length = ParticipantRecord.length(in: arena, at: start)
            offsets[index] = UInt64(fresh.count)
            fresh += arena[start..<(start + length)]
        }
        arena = fresh
        garbage = 0
    }

    private mutating func place(_ index: Int, hash: Int) {
        let mask = slots.count - 1
        var slot = hash & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = UInt32(index + 1)
    }

    private mutating func grow() {
        slots = [UInt32](repeating: 0, count: slots.count * 2)
        for index in offsets.indices {
            place(index, hash: Self.hash(ParticipantRecord.key(in: arena, at: Int(offsets[index]))))
        }
    }

    private static func hash(_ key: String) -> Int {
        var hasher = Hasher()
        ExactKey(key).hash(into: &hasher)
        return hasher.finalize()
    }

    /// Bytes in use, by part (counts, not capacities: untouched capacity is never resident).
    var memory: (index: Int, slots: Int, live: Int, garbage: Int) {
        (slots.count * 4, offsets.count * 8 + qualifiedBuckets.count * 4, arena.count - garbage, garbage)
    }
}
