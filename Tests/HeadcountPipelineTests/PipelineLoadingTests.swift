import HeadcountCore
import Testing

@testable import HeadcountPipeline

@Suite("Pipeline files")
struct PipelineLoadingTests {
    static let minimal = """
        id: test-event
        window:
          start: 2025-09-20T09:00:00+07:00
          end: 2025-09-20T11:00:00+07:00
        """

    @Test("the seed pipeline in Pipelines/ loads with its rules")
    func seedPipeline() throws {
        let path = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let pipeline = try Pipeline.load(path: "/" + path + "/Pipelines/sumsel-ai-webinar-2025.yaml")
        #expect(pipeline.id == "sumsel-ai-webinar-2025")
        #expect(pipeline.rules.windowStart.rfc3339 == "2025-09-20T02:00:00.000Z")
        #expect(pipeline.rules.bucketCount == 120)
        #expect(pipeline.rules.minimumPresence == .seconds(1800))
        #expect(pipeline.rules.heartbeatTimeout == .seconds(90))
        #expect(pipeline.kafka.partitions == 12)
        #expect(pipeline.rules.sustainedPeak == .seconds(10))
        #expect(pipeline.utcOffsetMinutes == 420)
        #expect(pipeline.audience == "teachers")
    }

    @Test("defaults of section 1 apply to missing rules")
    func defaults() throws {
        let pipeline = try Pipeline.parse(yaml: Self.minimal, file: "t.yaml")
        #expect(pipeline.title == "test-event")
        #expect(pipeline.rules.bucket == .seconds(60))
        #expect(pipeline.rules.reconnectGrace == .seconds(60))
        #expect(pipeline.rules.minimumPresence == .zero)
        #expect(pipeline.rules.heartbeatTimeout == nil)
        #expect(pipeline.rules.allowedLateness == .seconds(120))
        #expect(pipeline.rules.sustainedPeak == .seconds(10))
        #expect(pipeline.audience == "participants")
        #expect(pipeline.kafka.topic == "headcount.test-event.events")
    }

    @Test("durations in every accepted spelling", arguments: [
        ("90s", 90_000), ("10m", 600_000), ("2h", 7_200_000), ("250ms", 250), ("45", 45_000), ("1.5", 1_500),
    ] as [(String, Int64)])
    func durations(text: String, milliseconds: Int64) {
        #expect(PipelineReader.parseDuration(text)?.wholeMilliseconds == milliseconds)
    }

    @Test("bad durations are refused", arguments: ["", "s", "-5s", "1e3", "ten", "0.0001s", "5d"])
    func badDurations(text: String) {
        #expect(PipelineReader.parseDuration(text) == nil)
    }

    @Test("every mistake names the file, the field and the line", arguments: [
        (minimal + "\nrules:\n  bukcet: 30s\n", "rules.bukcet", 6, "unknown key"),
        (minimal + "\nrules:\n  bucket: soon\n", "rules.bucket", 6, "must be a duration"),
        (minimal + "\nrules:\n  bucket: 0s\n", "rules.bucket", 6, "must be positive"),
        (minimal + "\nrules:\n  reconnectGrace: 5m\n", "rules.allowedLateness", 6, "at least rules.reconnectGrace"),
        (minimal + "\ncolour: blue\n", "colour", 5, "unknown key"),
        (minimal + "\nrules:\n  sustainedPeak: 90s\n", "rules.sustainedPeak", 6, "must not be longer than rules.bucket (60 s)"),
        (minimal + "\nrules:\n  bucket: 30s\n  sustainedPeak: 0s\n", "rules.sustainedPeak", 7, "must be positive"),
        (minimal + "\nkafka:\n  partitions: many\n", "kafka.partitions", 6, "whole number"),
        (minimal.replacingOccurrences(of: "11:00:00", with: "08:00:00"), "window.end", 3, "after window.start"),
        (minimal.replacingOccurrences(of: "2025-09-20T09:00:00+07:00", with: "2025-09-31T09:00:00+07:00"), "window.start", 3, "RFC 3339"),
        (minimal.replacingOccurrences(of: "test-event", with: "Test Event!"), "id", 1, "must be 1 to 100"),
    ] as [(String, String, Int, String)])
    func errors(yaml: String, field: String, line: Int, message: String) {
        #expect {
            try Pipeline.parse(yaml: yaml, file: "Pipelines/x.yaml")
        } throws: { error in
            guard let error = error as? PipelineError else { return false }
            return error.file == "Pipelines/x.yaml" && error.field == field && error.line == line
                && error.description.contains(message) && error.description.contains("Pipelines/x.yaml:\(line)")
        }
    }

    @Test("broken YAML and a missing window say so")
    func brokenYAML() {
        #expect(throws: PipelineError.self) { try Pipeline.parse(yaml: "id: [unclosed\n", file: "b.yaml") }
        #expect(throws: PipelineError.self) { try Pipeline.parse(yaml: "id: x\n", file: "b.yaml") }
        #expect(throws: PipelineError.self) { try Pipeline.load(path: "/nonexistent/pipeline.yaml") }
    }
}
