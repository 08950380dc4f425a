import Foundation
import HeadcountStore
import Logging

extension TransactionWatchdog {
    /// The exit status of a process that ends itself for its supervisor to restart it
    /// (`EX_TEMPFAIL`).
    public static let restartExitStatus: Int32 = 75

    /// The watchdog of every store and reporter this executable opens.
    ///
    /// When PostgresNIO 1.33 has lost a statement on a closed connection, the task waiting
    /// for it can never resume, and the library can only report it. The process then exits
    /// with status 75 so that its supervisor (systemd, Docker's restart policy) starts it
    /// again: nothing is lost, since a batch and its offsets commit together or not at all
    /// and a restarted worker continues from the stored offsets; a reporter's round rolls
    /// back with its session, and the sealing lock goes to a standby meanwhile.
    public static var exitingForRestart: TransactionWatchdog {
        var watchdog = TransactionWatchdog()
        watchdog.onLostStatement = {
            FileHandle.standardError.write(Data("headcount: a PostgreSQL statement was lost on a closed connection; exiting with status 75 to be restarted\n".utf8))
            exit(restartExitStatus)
        }
        return watchdog
    }
}

extension EventStore {
    /// Runs `body` with a store whose connection pool runs meanwhile, then shuts the pool down.
    public static func withRunning<T: Sendable>(
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
