import HeadcountCore

/// Times as a steward reads them: in the pipeline's own zone (its UTC offset), with UTC beside.
///
/// Fixed offsets only: a pipeline file gives its window with an offset (`+07:00`), and an
/// event lasts hours, not across a daylight-saving change, so no zone database is needed.
struct CertificateTime {
    /// Minutes east of UTC.
    let offsetMinutes: Int

    /// `+07:00`, `-03:30`, `+00:00`.
    static func offsetText(minutes: Int) -> String {
        let sign = minutes < 0 ? "-" : "+"
        return sign + two(abs(minutes) / 60) + ":" + two(abs(minutes) % 60)
    }

    /// "UTC+07:00", or "UTC" for offset 0.
    var zoneName: String { offsetMinutes == 0 ? "UTC" : "UTC" + Self.offsetText(minutes: offsetMinutes) }

    /// "09:00" (or "09:00:00") in the pipeline's zone.
    func clock(_ instant: Instant, seconds: Bool = false) -> String {
        Self.clock(instant.civilTime(offsetMinutes: offsetMinutes), seconds: seconds)
    }

    /// "02:00" (or "02:00:00") in UTC.
    func utcClock(_ instant: Instant, seconds: Bool = false) -> String {
        Self.clock(instant.civilTime(offsetMinutes: 0), seconds: seconds)
    }

    /// "Saturday 20 September 2025", in the pipeline's zone.
    func date(_ instant: Instant) -> String {
        let civil = instant.civilTime(offsetMinutes: offsetMinutes)
        return "\(Self.weekdays[civil.weekday]) \(civil.day) \(Self.months[civil.month - 1]) \(civil.year)"
    }

    /// "09:00 UTC+07:00 (02:00 UTC)": one instant, both ways.
    func both(_ instant: Instant, seconds: Bool = false) -> String {
        offsetMinutes == 0
            ? clock(instant, seconds: seconds) + " UTC"
            : clock(instant, seconds: seconds) + " " + zoneName + " (" + utcClock(instant, seconds: seconds) + " UTC)"
    }

    private static func clock(_ civil: CivilTime, seconds: Bool) -> String {
        two(civil.hour) + ":" + two(civil.minute) + (seconds ? ":" + two(civil.second) : "")
    }

    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
