/// The ids of the events a consumer stored most recently, as hashes, in bounded memory.
///
/// Tells a batch's events that are almost certainly new (the store COPYs those straight
/// into the events table) from the few that may repeat a stored event (retried webhooks,
/// replays; the store checks those against what it holds). A hash collision or a forgotten
/// id only sends an event down the careful path, so the answer is a hint, never a decision.
///
/// Two generations: when the newer one is full, the older is dropped, so at most
/// `2 × generationSize` hashes are held (16 bytes each with the set's spare room) and at
/// least the last `generationSize` stored ids are always remembered.
struct RecentEventIDs {
    let generationSize: Int
    private var newer: Set<Int> = []
    private var older: Set<Int> = []

    init(generationSize: Int) {
        precondition(generationSize >= 1, "generationSize must be at least 1")
        self.generationSize = generationSize
    }

    /// Whether `id` may have been stored already.
    func mayContain(_ id: String) -> Bool {
        let hash = id.hashValue
        return newer.contains(hash) || older.contains(hash)
    }

    mutating func insert(_ id: String) {
        if newer.count >= generationSize {
            older = newer
            newer = Set(minimumCapacity: generationSize)
        }
        newer.insert(id.hashValue)
    }

    /// The two sets' storage: 8 bytes a slot (Swift sizes a set's table to a power of two).
    var approximateBytes: Int { (newer.capacity + older.capacity) * MemoryLayout<Int>.stride }
}
