import ArgumentParser
import HeadcountAdapters
import HeadcountCommandLine
import HeadcountCore
import HeadcountPipeline

/// `headcount count --pipeline FILE [EVENTS.ndjson|-] [--json]`: the batch form, offline.
///
/// Reads canonical events (one JSON object per line), counts them under the pipeline's rules
/// with the same engine as the recount, and prints every bucket's numbers.
struct CountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "count",
        abstract: "Count a file of canonical events offline (COUNTING.md sections 1-3).",
        discussion: """
            A line that is not a valid canonical event, or whose pipeline is not the pipeline's id,
            stops the count with its line number, unless --skip-invalid. Events outside
            [window start - 1 day, window end + 1 day] are dead letters: counted and reported,
            never inputs. Blank lines are ignored.
            """)

    @OptionGroup var pipeline: PipelineOption

    @Argument(help: ArgumentHelp("Canonical events, one JSON object per line ('-' or nothing: standard input).", valueName: "events.ndjson"))
    var events: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @Flag(name: .long, help: "Skip invalid lines (their number goes to standard error) instead of stopping.")
    var skipInvalid = false

    func run() async throws {
        let pipeline = try self.pipeline.load()
        let (events, skipped) = try readEvents(pipelineID: pipeline.id)
        let count = BatchCount(events: events, rules: pipeline.rules)
        let report = CountReport(pipeline: pipeline.id, count: count)
        print(json ? report.json() : report.table(), terminator: json ? "\n" : "")
        if skipped > 0 { FileHandleWriter.writeToStandardError("headcount count: skipped \(skipped) invalid lines\n") }
        if report.deadLetters > 0 {
            FileHandleWriter.writeToStandardError(
                "headcount count: \(report.deadLetters) events outside [start - 1 day, end + 1 day] were dead letters\n")
        }
        if report.conflictingDuplicates > 0 {
            FileHandleWriter.writeToStandardError(
                "headcount count: \(report.conflictingDuplicates) conflicting duplicates (same id, other content) were dead letters\n")
        }
    }

    /// Every valid event of the input, and how many invalid lines were skipped.
    private func readEvents(pipelineID: String) throws -> ([Event], Int) {
        var reader = try LineReader(path: events)
        var events: [Event] = []
        var skipped = 0
        while let line = try reader.nextLine() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do throws(EventRejection) {
                let event = try CanonicalEvent.decode(line)
                guard event.pipeline.bytewiseEquals(pipelineID) else {
                    throw EventRejection(.unknownPipeline, "pipeline \"\(event.pipeline.prefix(100))\" is not \"\(pipelineID)\"")
                }
                events.append(event)
            } catch {
                guard skipInvalid else {
                    throw InputError(source: reader.source, line: reader.lineNumber, message: error.description)
                }
                skipped += 1
                FileHandleWriter.writeToStandardError("\(reader.source):\(reader.lineNumber): skipped: \(error)\n")
            }
        }
        return (events, skipped)
    }
}
