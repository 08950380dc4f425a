import ArgumentParser

/// `headcount bench …`: benchmarks that report ratios against limits measured in the same run.
///
/// Their own target, so the executable only registers them and ships no benchmark code paths
/// of its own.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (figures for docs/BENCHMARKS.md).",
        subcommands: [BenchCountingCommand.self, BenchIngestCommand.self, BenchRebalanceCommand.self, BenchSealCommand.self, BenchIngestHTTPCommand.self, BenchRehearsalCommand.self])

    public init() {}
}
