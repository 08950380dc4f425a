/// A string compared and hashed by its UTF-8 bytes.
///
/// Swift's `String` equality is Unicode canonical equivalence, so "é" and "e\u{301}" would be
/// one participant. Keys are opaque identifiers (pseudonyms, ids), and the certificate sorts
/// them bytewise, so identity is bytewise too.
public struct ExactKey: Hashable, Sendable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public static func == (lhs: ExactKey, rhs: ExactKey) -> Bool {
        lhs.text.bytewiseEquals(rhs.text)
    }

    public func hash(into hasher: inout Hasher) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
        if done == nil {
            for byte in text.utf8 { hasher.combine(byte) }
        }
    }
}

extension String {
    /// Equality of the UTF-8 bytes, not of Unicode canonical equivalence.
    @inlinable
    public func bytewiseEquals(_ other: String) -> Bool {
        let fast: Bool?? = utf8.withContiguousStorageIfAvailable { mine in
            other.utf8.withContiguousStorageIfAvailable { theirs in
                mine.count == theirs.count
                    && (mine.count == 0 || memcmpEqual(mine.baseAddress!, theirs.baseAddress!, mine.count))
            }
        }
        if let known = fast ?? nil { return known }
        return utf8.elementsEqual(other.utf8)
    }

    /// Bytewise UTF-8 order: the order of the certificate's participant list (COUNTING.md section 5).
    @inlinable
    public func bytewisePrecedes(_ other: String) -> Bool {
        utf8.lexicographicallyPrecedes(other.utf8)
    }
}

@usableFromInline
func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    // A plain loop: the core stays free of libc, and keys are short.
    for index in 0..<count where a[index] != b[index] { return false }
    return true
}
