@testable import HeadcountCore
import HeadcountSimulation
import PropertyBased
import Testing

/// The packed marks of the incremental form must give back exactly what went in, whatever went in.
@Suite struct PackedMarksTests {
    static let windowStart: Int64 = 1_758_333_600_000
    static let origin = windowStart * 4

    /// One session's times as the engine may see them: jittered, drifting or gappy heartbeat runs
    /// between joins and leaves, plus stray marks anywhere within a day of a 2 h window.
    static func randomSession(_ rng: inout SplitMix64) -> [SessionMark] {
        let day: Int64 = 86_400_000
        var marks: [SessionMark] = []
        let period = [1, 2, 7, 119, 1000, 29_999, 30_000, 45_000, rng.inRange(1...3_600_000)][Int(rng.below(9))]
        let jitter = rng.chance(0.2) ? 0 : rng.inRange(0...[40, 130, 5000][Int(rng.below(3))])
        let drift = rng.chance(0.7) ? 0 : rng.inRange(-3...3)
        for _ in 0..<rng.inRange(0...3) {
            var beat = windowStart + rng.inRange(-day...(7_200_000 + day))
            marks.append(SessionMark(at: Instant(milliseconds: beat), type: rng.chance(0.8) ? .join : .heartbeat))
            for _ in 0..<rng.inRange(0...150) {
                beat += period + drift
                // A missed beat now and then, so the grid must be re-anchored.
                if rng.chance(0.03) { beat += period }
                let at = beat + (jitter > 0 ? rng.inRange(-jitter...jitter) : 0)
                marks.append(SessionMark(at: Instant(milliseconds: at), type: .heartbeat))
            }
            if rng.chance(0.8) { marks.append(SessionMark(at: Instant(milliseconds: beat + rng.inRange(0...period)), type: .leave)) }
        }
        for _ in 0..<rng.inRange(0...6) {
            let at = windowStart + rng.inRange(-day...(7_200_000 + day))
            marks.append(SessionMark(at: Instant(milliseconds: at), type: [.join, .leave, .heartbeat][Int(rng.below(3))]))
        }
        return marks
    }

    /// Marks inserted one by one, out of order and with repeats, then packed and unpacked.
    static func checkRoundTrip(seed: UInt64) {
        var rng = SplitMix64(seed: seed, stream: 11)
        var record = ParticipantRecord(key: Array("p-\(seed)".utf8))
        var expected: [[UInt8]: Set<SessionMark>] = [:]
        for s in 0..<rng.inRange(0...4) {
            var marks = randomSession(&rng)
            marks += marks.filter { _ in rng.chance(0.1) }
            rng.shuffle(&marks)
            let key = Array("session-\(s)".utf8)
            for mark in marks {
                let isNew = expected[key, default: []].insert(mark).inserted
                #expect(record.insert(mark, session: key) == isNew, "seed \(seed)")
            }
        }
        let bytes = record.encoded(origin: origin)
        #expect(ParticipantRecord.length(in: [9, 9] + bytes, at: 2) == bytes.count, "seed \(seed)")
        let decoded = ParticipantRecord(decoding: [7] + bytes, at: 1, origin: origin)
        #expect(decoded.key == record.key)
        #expect(decoded.sessions.map(\.key) == record.sessions.map(\.key))
        for session in decoded.sessions {
            #expect(session.marks == expected[session.key]!.sorted(), "seed \(seed)")
        }
    }

    @Test func recordsRoundTripRandomSessions() {
        for seed in 0..<2000 { Self.checkRoundTrip(seed: UInt64(seed)) }
    }

    @Test func recordsRoundTripPropertyBasedSeeds() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            Self.checkRoundTrip(seed: UInt64(seed))
        }
    }

    /// Any list of raw values comes back, even ones no event makes (rank 3, unsorted, repeated,
    /// at the ends of Int64), because both directions wrap the same way.
    @Test func anyMarkListRoundTrips() {
        var rng = SplitMix64(seed: 5)
        let extremes: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max, Self.origin, Self.origin + 4]
        for _ in 0..<2000 {
            var marks: [SessionMark] = []
            for _ in 0..<rng.inRange(0...40) {
                let raw: Int64 = switch rng.below(4) {
                case 0: extremes[Int(rng.below(Int64(extremes.count)))]
                case 1: Int64(bitPattern: rng.next())
                case 2: (marks.last?.rawValue ?? Self.origin) &+ rng.inRange(-600...600) * 4 &+ 1
                default: Self.origin &+ rng.inRange(-400_000_000...400_000_000)
                }
                marks.append(SessionMark(rawValue: raw))
            }
            var writer = ByteWriter()
            PackedMarks.encode(marks, origin: Self.origin, into: &writer)
            writer.bytes.append(0xAB)
            var reader = ByteReader(writer.bytes)
            #expect(PackedMarks.decode(&reader, origin: Self.origin) == marks)
            var skipper = ByteReader(writer.bytes)
            PackedMarks.skip(&skipper)
            #expect(skipper.position == reader.position && writer.bytes[reader.position] == 0xAB)
        }
    }

    /// The point of the grid: a 2 h session beating every 30 s ± 40 ms costs one byte a beat.
    @Test func steadyHeartbeatsCostOneByteEach() {
        var rng = SplitMix64(seed: 3)
        var marks = [SessionMark(at: Instant(milliseconds: Self.windowStart), type: .join)]
        for beat in 1..<240 {
            let at = Self.windowStart + Int64(beat) * 30_000 + rng.inRange(-40...40)
            marks.append(SessionMark(at: Instant(milliseconds: at), type: .heartbeat))
        }
        marks.append(SessionMark(at: Instant(milliseconds: Self.windowStart + 7_200_000), type: .leave))
        var writer = ByteWriter()
        PackedMarks.encode(marks, origin: Self.origin, into: &writer)
        #expect(PackedMarks.bestPeriod(for: marks) == 30_000)
        // Header 2, period 3, first mark 1, 239 beats, the leave 1 + 3.
        #expect(writer.bytes.count == 249)
    }

    @Test func varintLengthMatchesTheWriter() {
        for value: UInt64 in [0, 1, 127, 128, 16_383, 16_384, 1 << 35, .max - 1, .max] {
            var writer = ByteWriter()
            writer.varint(value)
            #expect(ByteWriter.varintLength(value) == writer.bytes.count)
        }
    }
}
