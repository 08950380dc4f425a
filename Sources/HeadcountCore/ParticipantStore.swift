/// The incremental form's participants: packed records and an open-addressing index.
///
/// A `Dictionary<String, Int>` would cost about 40 bytes per participant on top of the key;
/// this index costs 4 to 8, because the key lives once, inside the participant's record.
struct ParticipantStore {
    /// Packed `ParticipantRecord`s, by dense participant index.
    private(set) var records: [[UInt8]] = []
    /// Per participant: the bucket where it qualified, or −1 (the certificate's leaves).
    var qualifiedBuckets: [Int32] = []
    /// Linear-probing table of participant index + 1; 0 is an empty slot.
    private var slots = [UInt32](repeating: 0, count: 1024)

    var count: Int { records.count }

    /// The index of `key`, if the participant is known.
    func index(of key: String) -> Int? {
        let mask = slots.count - 1
        var slot = Self.hash(key) & mask
        while slots[slot] != 0 {
            let index = Int(slots[slot] - 1)
            if ParticipantRecord.keyMatches(records[index], key.utf8) { return index }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// The index of `key`, adding an empty record when the participant is new.
    mutating func indexInserting(_ key: String, origin: Int64) -> Int {
        if let index = index(of: key) { return index }
        if (records.count + 1) * 10 > slots.count * 7 { grow() }
        let index = records.count
        records.append(ParticipantRecord(key: Array(key.utf8)).encoded(origin: origin))
        qualifiedBuckets.append(-1)
        place(index, hash: Self.hash(key))
        return index
    }

    mutating func replaceRecord(_ index: Int, with bytes: [UInt8]) {
        records[index] = bytes
    }

    private mutating func place(_ index: Int, hash: Int) {
        let mask = slots.count - 1
        var slot = hash & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = UInt32(index + 1)
    }

    private mutating func grow() {
        slots = [UInt32](repeating: 0, count: slots.count * 2)
        for index in records.indices {
            place(index, hash: Self.hash(ParticipantRecord.key(of: records[index])))
        }
    }

    private static func hash(_ key: String) -> Int {
        var hasher = Hasher()
        ExactKey(key).hash(into: &hasher)
        return hasher.finalize()
    }

    /// Bytes held: index, record references, record payloads with their heap headers.
    var approximateBytes: Int {
        // A Swift array's heap object: 32 bytes of header plus the allocator's own bookkeeping.
        let arrayOverhead = 32 + 16
        return slots.capacity * 4 + records.capacity * 8 + qualifiedBuckets.capacity * 4
            + records.reduce(0) { $0 + $1.capacity + arrayOverhead }
    }
}
