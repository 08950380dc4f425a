/// The calendar date and clock time of an instant at a fixed UTC offset.
public struct CivilTime: Sendable, Hashable {
    public var year: Int, month: Int, day: Int
    public var hour: Int, minute: Int, second: Int
    /// 0 = Sunday … 6 = Saturday.
    public var weekday: Int
}

extension Instant {
    /// The date and time this instant reads as `offsetMinutes` east of UTC (420 for UTC+07:00).
    public func civilTime(offsetMinutes: Int) -> CivilTime {
        let local = milliseconds + Int64(offsetMinutes) * 60_000
        let days = Self.floorDiv(local, 86_400_000)
        let secondOfDay = (local - days * 86_400_000) / 1000
        let (year, month, day) = Self.civil(fromDays: days)
        // 1970-01-01 was a Thursday.
        let weekday = Int(((days % 7) + 7 + 4) % 7)
        return CivilTime(
            year: Int(year), month: Int(month), day: Int(day), hour: Int(secondOfDay / 3600),
            minute: Int(secondOfDay / 60 % 60), second: Int(secondOfDay % 60), weekday: weekday)
    }

    /// The offset of an RFC 3339 text in minutes east of UTC (`Z` is 0), or nil when the text
    /// does not end in a zone: how a pipeline file's window gives its own time zone.
    public static func utcOffsetMinutes(rfc3339 text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard let last = bytes.last else { return nil }
        if last == UInt8(ascii: "Z") || last == UInt8(ascii: "z") { return 0 }
        guard bytes.count >= 6 else { return nil }
        let zone = bytes[(bytes.count - 6)...]
        let digits = [zone[zone.startIndex + 1], zone[zone.startIndex + 2], zone[zone.startIndex + 4], zone[zone.startIndex + 5]]
        let sign = zone[zone.startIndex]
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), zone[zone.startIndex + 3] == UInt8(ascii: ":"),
              digits.allSatisfy({ (48...57).contains($0) }), Instant(rfc3339: text) != nil
        else { return nil }
        let value = digits.map { Int($0) - 48 }
        let minutes = (value[0] * 10 + value[1]) * 60 + value[2] * 10 + value[3]
        return sign == UInt8(ascii: "-") ? -minutes : minutes
    }
}
