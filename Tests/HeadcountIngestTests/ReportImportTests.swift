import Foundation
import HeadcountAdapters
import HeadcountCore
import Testing

@Suite("Report importers: Zoom CSV, Teams and Meet JSON")
struct ReportImportTests {
    let importer: ReportImporter

    init() throws {
        let context = try Fixtures.context()
        var importer = ReportImporter(pipeline: context.pipeline, ingest: context.ingest, credentials: context.credentials)
        importer.timeZone = TimeZone(secondsFromGMT: 7 * 3600)!
        self.importer = importer
    }

    func events(_ text: String, _ format: ReportFormat) throws -> [Event] {
        try importer.records(Array(text.utf8), format: format).flatMap { try $0.outcome.get() }
    }

    static let zoomCSV = """
        Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest
        Ana Teacher,Ana.Teacher@school.id,09/20/2025 09:05:00 AM,09/20/2025 09:40:00 AM,35,No
        "Budi, S.Pd",budi@school.id,2025-09-20 09:10:00,2025-09-20 10:55:00,105,No
        """ + "\n"

    @Test("Zoom CSV: a join and a leave per row, times in the account's zone, quoted fields, ids stable across imports")
    func zoom() throws {
        let first = try events(Self.zoomCSV, .zoomCSV)
        #expect(first.count == 4)
        #expect(first[0].participant == Fixtures.participant("ana.teacher@school.id"))
        #expect(first[0].at == Instant(rfc3339: "2025-09-20T02:05:00Z"))
        #expect(first[1].type == .leave && first[1].session == first[0].session)
        #expect(first[3].at == Instant(rfc3339: "2025-09-20T03:55:00Z"))
        #expect(try events(Self.zoomCSV, .zoomCSV) == first, "importing twice gives the same events")
        #expect(Set(first.map(\.id)).count == 4)
    }

    @Test("Zoom CSV: a bad row names its line; the other rows still import")
    func zoomBadRow() throws {
        let text = Self.zoomCSV + "Cici,cici@school.id,tomorrow,09/20/2025 10:00:00 AM,1,No\n"
        let records = try importer.records(Array(text.utf8), format: .zoomCSV)
        #expect(records.count == 3)
        guard case .failure(let refusal) = records[2].outcome else { Issue.record("the bad row was accepted"); return }
        #expect(refusal.location == "line 4")
        #expect(refusal.error.contains("join time"))
        #expect(throws: IngestRefusal.self) { try importer.records(Array("Who,When\nx,y\n".utf8), format: .zoomCSV) }
    }

    @Test("Zoom CSV: errors name the physical line a row starts on, after blank lines and multi-line quoted fields")
    func zoomPhysicalLines() throws {
        let lines = [
            "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes)",  // 1
            "Ana,ana@school.id,2025-09-20 09:05:00,2025-09-20 09:40:00,35",  // 2
            "",  // 3
            "\"Budi\r\nS.Pd\",budi@school.id,2025-09-20 09:10:00,2025-09-20 10:55:00,105",  // 4-5, CR LF inside
            "",  // 6
            "",  // 7
            "Cici,cici@school.id,yesterday,2025-09-20 10:00:00,1",  // 8: bad
            "\"Dewi",  // 9
            "",  // 10: blank, but inside the quoted name
            "Teacher\",dewi@school.id,2025-09-20 09:00:00,2025-09-20 09:30:00,30",  // 11
            "\"Eko\nthe\nthird\",eko@school.id,2025-09-20 09:00:00,soon,5",  // 12-14: bad, starts on 12
            "Fajar,fajar@school.id,later,2025-09-20 09:30:00,30",  // 15: bad
        ]
        let records = try importer.records(Array((lines.joined(separator: "\n") + "\n").utf8), format: .zoomCSV)
        let places = records.map(\.place)
        #expect(places == ["line 2", "line 4", "line 8", "line 9", "line 12", "line 15"], "blank rows are skipped, not counted twice")
        let failures = records.compactMap { record -> String? in
            guard case .failure(let refusal) = record.outcome else { return nil }
            return refusal.location
        }
        #expect(failures == ["line 8", "line 12", "line 15"])
        #expect(try records[1].outcome.get().count == 2, "the row with a CR LF inside its quoted name imports")
        // The same file with CR LF line ends, and the header itself spanning two lines.
        let crlf = "\"Name (Original\r\nName)\",User Email,Join Time,Leave Time\r\n\r\nGita,gita@school.id,later,2025-09-20 09:30:00\r\n"
        let crlfRecords = try importer.records(Array(crlf.utf8), format: .zoomCSV)
        guard case .failure(let refusal) = crlfRecords.last?.outcome else { Issue.record("the bad row was accepted"); return }
        #expect(refusal.location == "line 4")
    }

    @Test("Teams attendance report: intervals, null leave and null e-mail handled, JSON paths in errors")
    func teams() throws {
        let json = """
            {"id": "report-1", "totalParticipantCount": 2, "attendanceRecords": [
              {"emailAddress": "ana.teacher@school.id", "identity": {"id": "aad-1", "displayName": "Ana"},
               "attendanceIntervals": [{"joinDateTime": "2025-09-20T02:01:00Z", "leaveDateTime": "2025-09-20T02:20:00Z", "durationInSeconds": 1140},
                                       {"joinDateTime": "2025-09-20T02:25:00Z", "leaveDateTime": null, "durationInSeconds": null}]},
              {"emailAddress": null, "identity": {"id": "aad-2", "displayName": "Guest"},
               "attendanceIntervals": [{"joinDateTime": "2025-09-20T02:02:00Z", "leaveDateTime": "2025-09-20T02:03:00Z"}]},
              {"emailAddress": 5, "attendanceIntervals": []}]}
            """
        let records = try importer.records(Array(json.utf8), format: .teamsJSON)
        #expect(records.count == 4)
        let ana = try records[0].outcome.get() + records[1].outcome.get()
        #expect(ana.map(\.type) == [.join, .leave, .join])
        #expect(ana[0].participant == Fixtures.participant("ana.teacher@school.id"))
        #expect(try records[2].outcome.get()[0].participant == Fixtures.participant("aad-2"))
        guard case .failure(let refusal) = records[3].outcome else { Issue.record("the bad record was accepted"); return }
        #expect(refusal.location == "attendanceRecords[2].emailAddress")
    }

    @Test("Meet participantSessions: the resource name gives meeting, participant and session")
    func meet() throws {
        let json = """
            {"participantSessions": [
              {"name": "conferenceRecords/abc-123/participants/p-9/participantSessions/s-1", "startTime": "2025-09-20T02:04:00.5Z", "endTime": "2025-09-20T02:44:00Z"},
              {"name": "conferenceRecords/abc-123/participants/p-9/participantSessions/s-2", "startTime": "2025-09-20T02:50:00Z"},
              {"name": "bogus", "startTime": "2025-09-20T02:50:00Z"}]}
            """
        let records = try importer.records(Array(json.utf8), format: .meetJSON)
        let first = try records[0].outcome.get()
        #expect(first.map(\.session) == ["s-1", "s-1"])
        #expect(first[0].participant == Fixtures.participant("p-9"))
        #expect(try records[1].outcome.get().map(\.type) == [.join])
        guard case .failure(let refusal) = records[2].outcome else { Issue.record("the bad session was accepted"); return }
        #expect(refusal.location == "participantSessions[2].name")
    }
}
