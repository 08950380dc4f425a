import Foundation
import HeadcountCore

extension ReportImporter {
    /// A Microsoft Graph `meetingAttendanceReport`: every interval of every attendance
    /// record is one connection; `leaveDateTime` null (still there) gives only a join.
    func teamsJSON(_ bytes: [UInt8]) throws(IngestRefusal) -> [ImportedRecord] {
        let report = try WebhookJSON.decode(TeamsReport.self, from: bytes)
        var records: [ImportedRecord] = []
        for (index, entry) in (report.attendanceRecords ?? []).enumerated() {
            let place = "attendanceRecords[\(index)]"
            guard case .success(let record) = entry.result else {
                if case .failure(let error) = entry.result {
                    records.append(ImportedRecord(place: place, outcome: .failure(WebhookJSON.refusal(error, root: ""))))
                }
                continue
            }
            for (position, interval) in (record.attendanceIntervals ?? []).enumerated() {
                let at = "\(place).attendanceIntervals[\(position)]"
                records.append(ImportedRecord(place: at, outcome: Result { () throws(IngestRefusal) -> [Event] in
                    guard let start = interval.joinDateTime?.instant else {
                        throw IngestRefusal(.unprocessable, "missing field", where: at + ".joinDateTime")
                    }
                    return try self.interval(
                        platform: "teams-report", meeting: report.id ?? "", identity: [
                            .email: record.emailAddress, .platformID: record.identity?.id, .name: record.identity?.displayName,
                        ], session: nil, start: start, end: interval.leaveDateTime?.instant, place: at)
                }))
            }
        }
        return records
    }

    /// Google Meet `participantSessions`: each session is one connection of the participant
    /// its resource name names; `endTime` absent (still there) gives only a join.
    func meetJSON(_ bytes: [UInt8]) throws(IngestRefusal) -> [ImportedRecord] {
        let list = try WebhookJSON.decode(MeetSessions.self, from: bytes)
        var records: [ImportedRecord] = []
        for (index, entry) in (list.participantSessions ?? []).enumerated() {
            let place = "participantSessions[\(index)]"
            records.append(ImportedRecord(place: place, outcome: Result { () throws(IngestRefusal) -> [Event] in
                let session: MeetSession
                switch entry.result {
                case .success(let value): session = value
                case .failure(let error): throw WebhookJSON.refusal(error, root: "")
                }
                // conferenceRecords/{record}/participants/{participant}/participantSessions/{session}
                let parts = session.name.split(separator: "/").map(String.init)
                guard parts.count == 6, parts[0] == "conferenceRecords", parts[2] == "participants" else {
                    throw IngestRefusal(.unprocessable, "not a participantSessions resource name", where: place + ".name")
                }
                guard let start = session.startTime?.instant else { throw IngestRefusal(.unprocessable, "missing field", where: place + ".startTime") }
                return try interval(
                    platform: "meet-report", meeting: parts[1], identity: [.platformID: parts[3]], session: parts[5],
                    start: start, end: session.endTime?.instant, place: place)
            }))
        }
        return records
    }

    struct TeamsReport: Decodable {
        let id: String?
        let attendanceRecords: [Lenient<TeamsRecord>]?
    }
    struct TeamsRecord: Decodable {
        struct Identity: Decodable {
            let id: String?
            let displayName: String?
        }
        struct Interval: Decodable {
            let joinDateTime: WebhookTime?
            let leaveDateTime: WebhookTime?
        }
        let emailAddress: String?
        let identity: Identity?
        let attendanceIntervals: [Interval]?
    }
    struct MeetSessions: Decodable {
        let participantSessions: [Lenient<MeetSession>]?
    }
    struct MeetSession: Decodable {
        let name: String
        let startTime: WebhookTime?
        let endTime: WebhookTime?
    }
}
