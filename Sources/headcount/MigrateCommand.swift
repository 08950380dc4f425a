import ArgumentParser
import HeadcountCommandLine
import HeadcountStore
import Logging

/// `headcount migrate`: applies the schema migrations (every service also does at start-up).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the PostgreSQL schema migrations (idempotent).")

    @OptionGroup var database: DatabaseOption
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap("headcount.migrate")
        let url = try database.url()
        try await EventStore.withRunning(url: url, logger: logger) { store in
            try await store.migrate()
        }
        print("schema up to date at \(url)")
    }
}
