/// One participant's retained events, packed into bytes for the incremental form.
///
/// Exactness needs every distinct (at, type) of every session: an out-of-order leave between
/// two heartbeats is closed and reopened by the next heartbeat, so no heartbeat is provably
/// redundant while late events may still come. Ids are not kept (see `SessionMark`).
///
/// Layout, all integers LEB128 varints:
///
///     participant key length, key bytes, session count,
///     per session: key length, key bytes, its marks as `PackedMarks` writes them
///
/// Most of a participant's events are heartbeats at a steady period; `PackedMarks` stores
/// each of those in one byte.
struct ParticipantRecord {
    struct Session {
        var key: [UInt8]
        /// Ascending, distinct.
        var marks: [SessionMark]
    }

    var key: [UInt8]
    var sessions: [Session]

    init(key: [UInt8], sessions: [Session] = []) {
        self.key = key
        self.sessions = sessions
    }

    /// Decodes the record written by `encoded(origin:)` that starts at `offset` of `bytes`.
    init(decoding bytes: [UInt8], at offset: Int = 0, origin: Int64) {
        var reader = ByteReader(bytes, position: offset)
        key = reader.bytes(count: Int(reader.varint()))
        let sessionCount = Int(reader.varint())
        sessions = []
        sessions.reserveCapacity(sessionCount)
        for _ in 0..<sessionCount {
            let sessionKey = reader.bytes(count: Int(reader.varint()))
            let marks = PackedMarks.decode(&reader, origin: origin)
            sessions.append(Session(key: sessionKey, marks: marks))
        }
    }

    /// The packed bytes, allocated at their exact size.
    func encoded(origin: Int64) -> [UInt8] {
        var writer = ByteWriter()
        writer.varint(UInt64(key.count))
        writer.append(key)
        writer.varint(UInt64(sessions.count))
        for session in sessions {
            writer.varint(UInt64(session.key.count))
            writer.append(session.key)
            PackedMarks.encode(session.marks, origin: origin, into: &writer)
        }
        // `Array(writer.bytes)` would share the growth slack; copy into an exact allocation.
        let bytes = writer.bytes
        return [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            _ = buffer.initialize(from: bytes)
            count = bytes.count
        }
    }

    /// Whether the record at `offset` belongs to the participant `candidate`.
    static func keyMatches(_ bytes: [UInt8], at offset: Int, _ candidate: String.UTF8View) -> Bool {
        var reader = ByteReader(bytes, position: offset)
        let length = Int(reader.varint())
        guard length == candidate.count else { return false }
        return bytes[reader.position..<(reader.position + length)].elementsEqual(candidate)
    }

    /// The participant key of the record at `offset`.
    static func key(in bytes: [UInt8], at offset: Int) -> String {
        var reader = ByteReader(bytes, position: offset)
        let length = Int(reader.varint())
        return String(decoding: bytes[reader.position..<(reader.position + length)], as: UTF8.self)
    }

    /// The encoded length of the record at `offset`, found by skipping over it.
    static func length(in bytes: [UInt8], at offset: Int) -> Int {
        var reader = ByteReader(bytes, position: offset)
        reader.position += Int(reader.varint())
        for _ in 0..<reader.varint() {
            reader.position += Int(reader.varint())
            PackedMarks.skip(&reader)
        }
        return reader.position - offset
    }

    /// Adds a mark to the named session; false when it was already there.
    mutating func insert(_ mark: SessionMark, session sessionKey: some Collection<UInt8>) -> Bool {
        guard let index = sessions.firstIndex(where: { $0.key.elementsEqual(sessionKey) }) else {
            sessions.append(Session(key: Array(sessionKey), marks: [mark]))
            return true
        }
        var low = 0
        var high = sessions[index].marks.count
        while low < high {
            let middle = (low + high) / 2
            if sessions[index].marks[middle] < mark { low = middle + 1 } else { high = middle }
        }
        if low < sessions[index].marks.count, sessions[index].marks[low] == mark { return false }
        sessions[index].marks.insert(mark, at: low)
        return true
    }

    /// P(p) from the retained marks.
    func presence(rules: RuleMilliseconds) -> Presence {
        var pieces: [PresenceInterval] = []
        for session in sessions {
            SessionWalk.appendIntervals(of: session.marks, rules: rules, to: &pieces)
        }
        return Presence(unionOf: &pieces, grace: rules.grace)
    }
}

/// LEB128 writer.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Signed values: small magnitudes of either sign become small varints.
    mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func append(_ other: [UInt8]) { bytes += other }

    /// How many bytes `varint(value)` writes.
    static func varintLength(_ value: UInt64) -> Int {
        // 1 + ⌊(bit width − 1) / 7⌋, with 0 taking one byte like 1 does.
        1 + (63 - (value | 1).leadingZeroBitCount) / 7
    }
}

/// LEB128 reader over bytes this module wrote; it trusts them.
struct ByteReader {
    let bytes: [UInt8]
    var position: Int

    init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    mutating func varint() -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    mutating func byte() -> UInt8 {
        defer { position += 1 }
        return bytes[position]
    }

    mutating func zigzag() -> Int64 {
        let raw = varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func bytes(count: Int) -> [UInt8] {
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }
}
