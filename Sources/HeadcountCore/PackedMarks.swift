/// One session's marks packed into bytes for `ParticipantRecord`: a steady heartbeat costs one byte.
///
/// Layout (integers are LEB128 varints):
///
///     count << 1 | hasPeriod, [the period P in milliseconds, if hasPeriod],
///     the first mark − origin (zigzag), then one token per further mark:
///       a byte b < 240:          a heartbeat at g + P + (b − 120); then g += P
///       a byte 240 + rank, then (at − the previous mark's at) as a varint: any mark; then g = at
///       (bytes 244 … 255 are unused)
///
/// g, the grid, starts at the first mark's time. A heartbeat on the grid moves g by exactly P,
/// not to its own time, so jitter does not accumulate: a client beating every 30 s ± 40 ms stays
/// within ±120 ms of its grid for the whole session, and each beat costs one byte (a
/// delta-of-delta varint needed two, because consecutive jitters add up). Anything else, a join,
/// a leave, a missed beat or a clock that drifts too far, is an escape that re-anchors the grid
/// on its own time. The encoder picks P per session, the one that gives the fewest bytes.
///
/// Lossless for any list of marks (arithmetic wraps the same way both ways); ascending distinct
/// lists, which are all `ParticipantRecord` holds, are the ones it is compact for.
enum PackedMarks {
    /// Token bytes below this are heartbeats on the grid; the rest are escapes.
    static let beatCodes: UInt8 = 240
    /// A heartbeat on the grid is g + P + (b − beatBias), so b covers −120 … +119 ms.
    static let beatBias: Int64 = 120

    /// Appends `marks` to `writer`.
    static func encode(_ marks: [SessionMark], origin: Int64, into writer: inout ByteWriter) {
        let period = bestPeriod(for: marks)
        writer.varint(UInt64(marks.count) << 1 | (period > 0 ? 1 : 0))
        if period > 0 { writer.varint(UInt64(period)) }
        guard let first = marks.first else { return }
        writer.zigzag(first.rawValue &- origin)
        forEachToken(marks, period: period) { token in
            switch token {
            case .beat(let code):
                writer.bytes.append(code)
            case .escape(let rank, let step):
                writer.bytes.append(beatCodes + UInt8(rank))
                writer.varint(UInt64(bitPattern: step))
            }
        }
    }

    /// Reads marks written by `encode(_:origin:into:)`.
    static func decode(_ reader: inout ByteReader, origin: Int64) -> [SessionMark] {
        let header = reader.varint()
        let count = Int(header >> 1)
        let period = header & 1 == 1 ? Int64(bitPattern: reader.varint()) : 0
        var marks: [SessionMark] = []
        guard count > 0 else { return marks }
        marks.reserveCapacity(count)
        let first = SessionMark(rawValue: origin &+ reader.zigzag())
        marks.append(first)
        var at = first.at
        var grid = at
        for _ in 1..<count {
            let code = reader.byte()
            var rank: Int64 = 1
            if code < beatCodes {
                grid &+= period
                at = grid &+ Int64(code) &- beatBias
            } else {
                rank = Int64(code - beatCodes)
                at &+= Int64(bitPattern: reader.varint())
                grid = at
            }
            marks.append(SessionMark(rawValue: at &* 4 &+ rank))
        }
        return marks
    }

    /// Moves `reader` past one encoded session's marks.
    static func skip(_ reader: inout ByteReader) {
        let header = reader.varint()
        if header & 1 == 1 { _ = reader.varint() }
        let count = Int(header >> 1)
        guard count > 0 else { return }
        _ = reader.varint()
        for _ in 1..<count where reader.byte() >= beatCodes { _ = reader.varint() }
    }

    private enum Token {
        case beat(UInt8)
        case escape(rank: Int, step: Int64)
    }

    /// The tokens of every mark after the first, for period P (0: no grid, escapes only).
    ///
    /// The encoder and the size estimate both go through here, so they cannot disagree.
    @inline(__always)
    private static func forEachToken(_ marks: [SessionMark], period: Int64, _ body: (Token) -> Void) {
        var previous = marks[0].at
        var grid = previous
        for mark in marks.dropFirst() {
            let at = mark.at
            let offset = at &- (grid &+ period)
            if period > 0, mark.rank == 1, offset >= -beatBias, offset < Int64(beatCodes) - beatBias {
                body(.beat(UInt8(offset + beatBias)))
                grid &+= period
            } else {
                body(.escape(rank: mark.rank, step: at &- previous))
                grid = at
            }
            previous = at
        }
    }

    /// Bytes of the tokens and the period for P (0: no period).
    private static func cost(_ marks: [SessionMark], period: Int64) -> Int {
        var bytes = period > 0 ? ByteWriter.varintLength(UInt64(period)) : 0
        forEachToken(marks, period: period) { token in
            switch token {
            case .beat: bytes += 1
            case .escape(_, let step): bytes += 1 + ByteWriter.varintLength(UInt64(bitPattern: step))
            }
        }
        return bytes
    }

    /// The period that packs `marks` smallest, or 0 when a grid saves nothing.
    ///
    /// Candidates are the mean of the heartbeat-to-heartbeat steps near their median (within a
    /// millisecond of the true period, where the median alone can be several off), its
    /// neighbours and the median; each is priced exactly. A period one millisecond off moves the
    /// grid a millisecond a beat, so a long session would keep falling off it.
    static func bestPeriod(for marks: [SessionMark]) -> Int64 {
        var steps: [Int64] = []
        for index in marks.indices.dropFirst() where marks[index].rank == 1 && marks[index - 1].rank == 1 {
            let step = marks[index].at &- marks[index - 1].at
            if step > 0 { steps.append(step) }
        }
        guard !steps.isEmpty else { return 0 }
        steps.sort()
        let median = steps[steps.count / 2]
        var sum: Int64 = 0
        var near: Int64 = 0
        for step in steps where step - median <= 2 * beatBias && median - step <= 2 * beatBias {
            sum &+= step
            near += 1
        }
        let mean = sum / near
        var best: (period: Int64, bytes: Int) = (0, cost(marks, period: 0))
        for candidate in [mean, mean - 1, mean + 1, mean - 2, mean + 2, median] where candidate > 0 {
            let bytes = cost(marks, period: candidate)
            if bytes < best.bytes { best = (candidate, bytes) }
        }
        return best.period
    }
}
