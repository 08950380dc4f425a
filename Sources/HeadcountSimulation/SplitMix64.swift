/// A small, fast, seeded pseudo-random generator (SplitMix64, Steele, Lea and Flood 2014).
///
/// The simulator must give the same events for the same seed on every machine and Swift
/// release, so it uses its own generator and its own range mapping rather than the standard
/// library's `random(in:)`, whose algorithm is not promised to stay the same.
public struct SplitMix64: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for the `stream`-th independent substream of `seed`.
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next() ^ stream
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0 ..< bound (bound > 0); the modulo bias is below 2⁻³² for the bounds used here.
    public mutating func below(_ bound: Int64) -> Int64 {
        Int64(next() % UInt64(bound))
    }

    /// Uniform in `range`.
    public mutating func inRange(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Fisher–Yates.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for index in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(index, Int(below(Int64(index + 1))))
        }
    }
}
