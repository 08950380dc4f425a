import Crypto
import Foundation

/// Lowercase hexadecimal, the form of every hash in the certificate.
public enum Hex {
    private static let alphabet = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(alphabet[Int(byte >> 4)])
            out.append(alphabet[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of lowercase hex text; nil for odd length, upper case or other characters.
    ///
    /// Upper case is refused so that every hash has exactly one accepted spelling.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = lowerValue(of: utf8[index]), let low = lowerValue(of: utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    /// The value of one hex digit, either case (JSON `\u` escapes allow both).
    static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        case 0x41...0x46: byte - 0x41 + 10
        default: nil
        }
    }

    private static func lowerValue(of byte: UInt8) -> UInt8? {
        (0x41...0x46).contains(byte) ? nil : value(of: byte)
    }

    /// Whether `text` is the lowercase hex of a 32-byte SHA-256 digest.
    static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && decode(text) != nil
    }
}

/// SHA-256 as plain byte arrays, the only hash the certificate uses.
enum Digest256 {
    static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(bytes))
        return Array(hasher.finalize())
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        Hex.encode(hash(bytes))
    }
}
