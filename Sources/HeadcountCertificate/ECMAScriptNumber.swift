/// Numbers in the form of ECMAScript's `Number.prototype.toString`, which RFC 8785 mandates.
///
/// Swift's `description` of a `Double` already gives the shortest digits that round-trip
/// (the same digits ECMAScript chooses); only the layout differs, so this re-lays them out.
enum ECMAScriptNumber {
    /// The ES text of a finite double; nil for NaN and infinities, which JSON cannot carry.
    static func text(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        // ES prints negative zero as "0".
        if value == 0 { return "0" }
        let (digits, exponent) = decimalDigits(of: abs(value))
        return (value < 0 ? "-" : "") + layout(digits: digits, exponent: exponent)
    }

    /// The ES text of an integer: exact within ±2^53, the nearest double beyond.
    static func text(_ value: Int64) -> String {
        if value.magnitude <= 9_007_199_254_740_992 { return String(value) }
        return text(Double(value))!
    }

    /// Splits Swift's shortest round-trip text into digits d1…dk (no leading or trailing
    /// zeros) and n such that the value is 0.d1…dk × 10^n.
    static func decimalDigits(of value: Double) -> (digits: [UInt8], exponent: Int) {
        let text = value.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        let powerOfTen = parts.count > 1 ? Int(parts[1])! : 0
        var digits: [UInt8] = []
        var pointPosition: Int?
        for byte in mantissa.utf8 {
            if byte == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else {
                digits.append(byte)
            }
        }
        var exponent = (pointPosition ?? digits.count) + powerOfTen
        while digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return (digits, exponent)
    }

    /// ECMA-262 Number::toString steps 6 to 10, for digits d1…dk and exponent n.
    static func layout(digits: [UInt8], exponent n: Int) -> String {
        let k = digits.count
        let all = String(decoding: digits, as: UTF8.self)
        if k <= n && n <= 21 {
            return all + String(repeating: "0", count: n - k)
        }
        if 0 < n && n <= 21 {
            return String(decoding: digits[..<n], as: UTF8.self) + "." + String(decoding: digits[n...], as: UTF8.self)
        }
        if -6 < n && n <= 0 {
            return "0." + String(repeating: "0", count: -n) + all
        }
        let power = n - 1
        let sign = power < 0 ? "-" : "+"
        let head = String(UnicodeScalar(digits[0]))
        let tail = k == 1 ? "" : "." + String(decoding: digits[1...], as: UTF8.self)
        return head + tail + "e" + sign + String(abs(power))
    }
}
