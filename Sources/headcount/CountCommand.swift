import ArgumentParser
// Placeholder by the lead so the package builds; the counting engineer overwrites this file.
struct CountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "count")
    func run() async throws {}
}
