// RFC 3339 parsing and formatting without Foundation's date formatters: they are slow,
// locale-sensitive and accept more than RFC 3339 allows. Events arrive by the million.

extension Instant {
    /// Parses an RFC 3339 timestamp such as `2025-09-20T08:00:00.123+07:00`.
    ///
    /// Digits of a fraction beyond the millisecond are truncated, because event time has
    /// millisecond precision (COUNTING.md section 1). Returns nil when the text is not a
    /// valid RFC 3339 date-time (with `T`/`t` or a space as separator, and a zone).
    public init?(rfc3339 text: some StringProtocol) {
        var parser = RFC3339Parser(Array(text.utf8))
        guard let milliseconds = parser.parse() else { return nil }
        self.init(milliseconds: milliseconds)
    }

    /// Parses RFC 3339 from raw UTF-8 bytes (the hot path of event decoding).
    public init?(rfc3339UTF8 bytes: [UInt8]) {
        var parser = RFC3339Parser(bytes)
        guard let milliseconds = parser.parse() else { return nil }
        self.init(milliseconds: milliseconds)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, always UTC and always three fraction digits.
    public var rfc3339: String {
        let days = Self.floorDiv(milliseconds, 86_400_000)
        let msOfDay = milliseconds - days * 86_400_000
        let (year, month, day) = Self.civil(fromDays: days)
        let hour = msOfDay / 3_600_000
        let minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60
        let millis = msOfDay % 1000
        guard (0...9999).contains(year) else {
            return Self.pad(year, 4) + "-" + Self.pad(month, 2) + "-" + Self.pad(day, 2) + "T"
                + Self.pad(hour, 2) + ":" + Self.pad(minute, 2) + ":" + Self.pad(second, 2) + "."
                + Self.pad(millis, 3) + "Z"
        }
        // The common case in one allocation: every event's time is written this way for COPY.
        return String(unsafeUninitializedCapacity: 24) { text in
            var position = 0
            func put(_ value: Int64, _ width: Int, then separator: UInt8?) {
                var rest = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    text[position + offset] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                position += width
                if let separator {
                    text[position] = separator
                    position += 1
                }
            }
            put(year, 4, then: UInt8(ascii: "-"))
            put(month, 2, then: UInt8(ascii: "-"))
            put(day, 2, then: UInt8(ascii: "T"))
            put(hour, 2, then: UInt8(ascii: ":"))
            put(minute, 2, then: UInt8(ascii: ":"))
            put(second, 2, then: UInt8(ascii: "."))
            put(millis, 3, then: UInt8(ascii: "Z"))
            return position
        }
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    @usableFromInline
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `days(year:month:day:)`.
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// A strict cursor over the bytes of one RFC 3339 date-time.
private struct RFC3339Parser {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func parse() -> Int64? {
        guard let year = digits(4), expect(UInt8(ascii: "-")),
              let month = digits(2), expect(UInt8(ascii: "-")),
              let day = digits(2), separator(),
              let hour = digits(2), expect(UInt8(ascii: ":")),
              let minute = digits(2), expect(UInt8(ascii: ":")),
              let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        guard let millis = fraction(), let offset = zone(), index == bytes.count else { return nil }
        // A leap second (:60) is folded into the next second's first instant; event time
        // is on the UTC millisecond line and leap seconds cannot be represented there.
        let days = Instant.days(year: year, month: month, day: day)
        let local = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
        return local - offset * 60_000
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    mutating func digits(_ count: Int) -> Int64? {
        guard index + count <= bytes.count else { return nil }
        var value: Int64 = 0
        for _ in 0..<count {
            let byte = bytes[index]
            guard byte >= 48, byte <= 57 else { return nil }
            value = value * 10 + Int64(byte - 48)
            index += 1
        }
        return value
    }

    mutating func expect(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func separator() -> Bool {
        expect(UInt8(ascii: "T")) || expect(UInt8(ascii: "t")) || expect(UInt8(ascii: " "))
    }

    /// Optional `.d+`; keeps the first three digits as milliseconds.
    mutating func fraction() -> Int64? {
        guard expect(UInt8(ascii: ".")) else { return 0 }
        var millis: Int64 = 0
        var count = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            if count < 3 { millis = millis * 10 + Int64(bytes[index] - 48) }
            count += 1
            index += 1
        }
        guard count > 0 else { return nil }
        for _ in count..<max(count, 3) { millis *= 10 }
        return millis
    }

    /// `Z`, `z` or `±HH:MM`; returns the offset east of UTC in minutes.
    mutating func zone() -> Int64? {
        if expect(UInt8(ascii: "Z")) || expect(UInt8(ascii: "z")) { return 0 }
        let sign: Int64
        if expect(UInt8(ascii: "+")) { sign = 1 } else if expect(UInt8(ascii: "-")) { sign = -1 } else { return nil }
        guard let hours = digits(2), expect(UInt8(ascii: ":")), let minutes = digits(2),
              hours <= 23, minutes <= 59
        else { return nil }
        return sign * (hours * 60 + minutes)
    }
}
