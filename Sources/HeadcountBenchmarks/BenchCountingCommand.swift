import ArgumentParser
import HeadcountCore
import HeadcountSimulation

#if canImport(Glibc)
import Glibc
#endif

/// `headcount bench counting`: throughput of the batch form and memory of the incremental form.
///
/// Events come from `AttendeeSimulator` (the seed event's rules: 2 h, 60 s buckets, 60 s grace,
/// 30 min minimum, 90 s heartbeat timeout). Generation is not timed.
struct BenchCountingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counting",
        abstract: "Batch recount events/s and peak RSS; incremental bytes per participant.")

    @Option(help: "Participants of the batch recount.")
    var participants = 25_000

    @Option(help: "Participants of the incremental-memory run (0 skips it).")
    var incrementalParticipants = 1_000_000

    @Option(help: "Timed repetitions of the batch recount (the best is reported).")
    var runs = 3

    @Option(help: "Simulator seed.")
    var seed: UInt64 = 20_250_920

    func run() async throws {
        let rules = try CountingRules(
            windowStart: Instant(rfc3339: "2025-09-20T09:00:00+07:00")!,
            windowEnd: Instant(rfc3339: "2025-09-20T11:00:00+07:00")!,
            minimumPresence: .seconds(1800), heartbeatTimeout: .seconds(90))
        try benchBatch(rules: rules)
        if incrementalParticipants > 0 { benchIncremental(rules: rules) }
    }

    private func benchBatch(rules: CountingRules) throws {
        let simulator = AttendeeSimulator(rules: rules, pipelineID: "bench", participants: participants, seed: seed)
        let events = simulator.events()
        print("batch recount: \(participants) participants, \(events.count) events (shuffled)")
        let generated = Self.status("VmRSS")
        // Same-run baseline: the least any exact engine must do, one hash insert per event id.
        let baseline = Self.seconds {
            var ids = Set<String>(minimumCapacity: events.count)
            for event in events { ids.insert(event.id) }
            precondition(ids.count > 0)
        }
        var best = Double.infinity
        var result: BatchCount? = nil
        for _ in 0..<max(1, runs) {
            best = min(best, Self.seconds { result = BatchCount(events: events, rules: rules) })
        }
        let outcome = result!.outcome
        let rate = Double(events.count) / best
        print("  best of \(max(1, runs)): \(Self.format(best * 1000)) ms, \(Self.format(rate / 1e6)) M events/s (target 2 M: ratio \(Self.format(rate / 2e6)))")
        print("  baseline Set<String> insert of every id: \(Self.format(baseline * 1000)) ms; engine/baseline = \(Self.format(best / baseline))")
        print("  result: qualified \(outcome.qualified), peak \(outcome.peak), conflicting duplicates \(result!.conflictingDuplicates.count), dead letters \(result!.deadLetters.count)")
        print("  peak RSS (VmHWM): \(Self.format(Double(Self.status("VmHWM")) / 1024)) MiB, of which the generated input events: \(Self.format(Double(generated) / 1024)) MiB")
    }

    private func benchIncremental(rules: CountingRules) {
        let simulator = AttendeeSimulator(rules: rules, pipelineID: "bench", participants: incrementalParticipants, seed: seed &+ 1)
        Self.trim()
        let before = Self.status("VmRSS")
        var count = IncrementalCount(rules: rules, deduplication: .upstream)
        var events = 0
        let elapsed = Self.seconds {
            for chunk in simulator.chunks(ofParticipants: 20_000) {
                events += chunk.count
                _ = count.ingest(chunk)
            }
        }
        Self.trim()
        let after = Self.status("VmRSS")
        count.compactMemory()
        Self.trim()
        let compacted = Self.status("VmRSS")
        let n = Double(incrementalParticipants)
        print("incremental: \(incrementalParticipants) participants, \(events) events in chunks of 20,000 participants, .upstream ids")
        print("  ingest (with generation): \(Self.format(elapsed)) s, \(Self.format(Double(events) / elapsed / 1e6)) M events/s")
        print("  RSS delta: \(Self.format(Double(after - before) * 1024 / n)) bytes/participant (target 200)")
        print("  RSS delta after compactMemory(): \(Self.format(Double(compacted - before) * 1024 / n)) bytes/participant")
        print("  accounting: \(Self.format(Double(count.approximateBytes) / n)) bytes/participant")
        for (part, bytes) in count.memoryBreakdown {
            print("    \(part): \(Self.format(Double(bytes) / n))")
        }
        let last = count.buckets(atOrBelow: rules.windowEnd).last!
        print("  last bucket: unique \(last.unique), qualified \(last.qualified)")
    }

    private static func seconds(_ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        let elapsed = clock.measure(body)
        let (whole, atto) = elapsed.components
        return Double(whole) + Double(atto) / 1e18
    }

    /// A line of /proc/self/status in kB (Linux); 0 elsewhere.
    static func status(_ field: String) -> Int {
        guard let file = fopen("/proc/self/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix(field + ":") {
                return Int(text.dropFirst(field.count + 1).filter(\.isNumber)) ?? 0
            }
        }
        return 0
    }

    /// Returns freed heap to the system so that RSS shows what is live.
    private static func trim() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }

    private static func format(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return String(rounded)
    }
}

#if os(Linux)
// glibc's malloc_trim is not exported by the Glibc module (it lives in <malloc.h>).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
