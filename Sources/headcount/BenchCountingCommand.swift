import ArgumentParser
// Placeholder by the lead so the package builds; the counting engineer overwrites this file.
struct BenchCountingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "counting")
    func run() async throws {}
}
