import Foundation
import HeadcountCore
import HeadcountPipeline

/// Attendance reports exported after a meeting, turned into canonical events with
/// deterministic ids: importing the same file twice produces the same events, which the
/// worker keeps once.
public enum ReportFormat: String, Sendable, CaseIterable {
    /// Zoom's participants report (CSV).
    case zoomCSV = "zoom-csv"
    /// A Microsoft Graph `meetingAttendanceReport` (JSON).
    case teamsJSON = "teams-json"
    /// Google Meet `participantSessions` (JSON).
    case meetJSON = "meet-json"
}

/// One record of a report: its events, or why it cannot be imported and where.
public struct ImportedRecord: Sendable {
    /// `line 7` for CSV, a JSON path such as `attendanceRecords[2].attendanceIntervals[0]`.
    public var place: String
    public var outcome: Result<[Event], IngestRefusal>
}

/// What the importers share: the pipeline, its pseudonymizer and identity order.
public struct ReportImporter: Sendable {
    let context: AdapterContext
    /// The zone of a Zoom report's times (the account's zone); default UTC.
    public var timeZone: TimeZone = TimeZone(identifier: "UTC")!

    /// An importer for `pipeline`, whose `ingest:` section names the pseudonym key. The clock
    /// does not limit imports: reports describe the past.
    public init(pipeline: Pipeline, ingest: Pipeline.Ingest, credentials: IngestCredentials) {
        context = AdapterContext(
            pipeline: pipeline, ingest: ingest, credentials: credentials, now: Instant(milliseconds: Int64.max / 2))
    }

    /// Every record of the report, in file order.
    public func records(_ bytes: [UInt8], format: ReportFormat) throws(IngestRefusal) -> [ImportedRecord] {
        switch format {
        case .zoomCSV: try zoomCSV(bytes)
        case .teamsJSON: try teamsJSON(bytes)
        case .meetJSON: try meetJSON(bytes)
        }
    }

    /// A join at `start` and, when the person left, a leave at `end`, one session.
    func interval(
        platform: String, meeting: String, identity: [Pipeline.IdentityField: String?], session: String?,
        start: Instant, end: Instant?, place: String
    ) throws(IngestRefusal) -> [Event] {
        let participant = try context.participant(identity, where: place)
        // Without a platform session id, the participant's join time names the connection.
        let session = session ?? EventID.make(platform + "-session", [meeting, participant, String(start.milliseconds)])
        if let end, end < start { throw IngestRefusal(.unprocessable, "leaves before it joins", where: place) }
        var events = [context.event(platform: platform, meeting: meeting, participant: participant, session: session, type: .join, at: start)]
        if let end {
            events.append(context.event(platform: platform, meeting: meeting, participant: participant, session: session, type: .leave, at: end))
        }
        for event in events { try context.check(event, where: place) }
        return events
    }
}

/// Decodes one element of an array without failing the array: a bad record is reported
/// with its JSON path, the others still import.
struct Lenient<Value: Decodable>: Decodable {
    let result: Result<Value, DecodingError>

    init(from decoder: any Decoder) throws {
        do {
            result = .success(try Value(from: decoder))
        } catch let error as DecodingError {
            result = .failure(error)
        }
    }
}
