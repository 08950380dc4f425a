import Logging
import PostgresNIO

extension EventStore {
    /// Runs `body` in one transaction on a pooled connection, through the store's one
    /// transaction primitive (`StoreTransaction`): on the connection's event loop, under the
    /// watchdog, bounded by `options`' server-side timeouts, COMMIT or ROLLBACK on every exit,
    /// the body's error rethrown unchanged.
    nonisolated(nonsending) func withTransaction<Result: Sendable>(
        _ options: TransactionOptions, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await StoreTransaction.run(on: connection, options, watchdog: self.watchdog, logger: self.logger, body)
        }
    }
}
