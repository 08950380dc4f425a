import ArgumentParser
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

extension EventStore {
    /// Runs `body` with a store whose connection pool runs meanwhile, then shuts the pool down.
    static func withRunning<T: Sendable>(
        url: DatabaseURL, maximumConnections: Int = 8, logger: Logger,
        _ body: @Sendable (EventStore) async throws -> T
    ) async throws -> T {
        let store = EventStore(url: url, maximumConnections: maximumConnections, logger: logger, watchdog: .exitingForRestart)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }
}
