import Logging
import PostgresNIO

extension EventStore {
    /// Runs `body` in one transaction on a pooled connection: BEGIN, `body`, COMMIT, or
    /// ROLLBACK when `body` throws. Used instead of `PostgresClient.withTransaction`, which
    /// can wait forever once the server has died.
    ///
    /// PostgresNIO 1.33 loses a statement that reaches a connection after NIO has removed
    /// the closed connection's handlers: the write is dropped, nobody fails its promise, and
    /// `query` never returns, cancelled or not. Its `withTransaction` sends BEGIN on whatever
    /// the pool hands out (a connection can die idle there) and answers a statement that
    /// failed because the server died with a ROLLBACK from another thread, which more often
    /// than not arrives after the removal. Here the transaction runs on the connection's
    /// event loop (see `EventLoopTaskExecutor`), so that `body`'s statements, as long as it
    /// awaits nothing but the connection between them, fail at once when the server is gone;
    /// BEGIN, COMMIT and ROLLBACK are not sent on a closed connection at all; and a
    /// `TransactionWatchdog` bounds whatever can still wait forever.
    nonisolated(nonsending) func withTransaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await withTaskExecutorPreference(EventLoopTaskExecutor(connection.eventLoop)) {
                try await self.watching(connection) {
                    try await self.transaction(on: connection, body)
                }
            }
        }
    }

    nonisolated(nonsending) private func transaction<Result: Sendable>(
        on connection: PostgresConnection, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await statement("BEGIN", on: connection)
        let result: Result
        do {
            result = try await body(connection)
        } catch {
            await rollBack(on: connection)
            throw error
        }
        try await statement("COMMIT", on: connection)
        return result
    }

    /// Rolls back unless the connection is closed: PostgreSQL rolls back the transaction of a
    /// connection that ends, and a ROLLBACK written to it now might never return.
    private func rollBack(on connection: PostgresConnection) async {
        guard !connection.isClosed else { return }
        do {
            try await connection.query("ROLLBACK", logger: logger)
        } catch {
            // A connection that cannot roll back must not go back to the pool in the middle
            // of a failed transaction.
            try? await connection.close()
        }
    }

    /// Sends one of the transaction's own statements, or fails retriably if the connection
    /// has already closed, rather than write into a pipeline that may drop it.
    private func statement(_ sql: PostgresQuery, on connection: PostgresConnection) async throws {
        guard !connection.isClosed else {
            throw StoreError(.unavailable, "the connection to PostgreSQL is closed")
        }
        try await connection.query(sql, logger: logger)
    }

    /// Runs `body` (which uses `connection`) under the watchdog, in this task: `body` need not
    /// be `Sendable`, and when it returns or throws, the watchdog is cancelled.
    nonisolated(nonsending) private func watching<Result: Sendable>(
        _ connection: PostgresConnection, _ body: () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.watch(connection, started: .now) }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// Ends when cancelled. Past the deadline it closes the connection, which fails the
    /// statement in flight (the caller sees a retriable error); once the connection is closed
    /// and `closedGrace` has passed, the statement in flight is one PostgresNIO lost.
    private func watch(_ connection: PostgresConnection, started: ContinuousClock.Instant) async throws {
        var closedSince: ContinuousClock.Instant?
        while true {
            try await Task.sleep(for: watchdog.interval)
            let now = ContinuousClock.now
            if let closed = closedSince {
                guard now - closed >= watchdog.closedGrace else { continue }
                watchdog.onLostStatement(logger)
                return
            } else if connection.isClosed {
                closedSince = now
            } else if now - started >= watchdog.deadline {
                logger.error("a PostgreSQL transaction ran past its deadline; closing its connection", metadata: [
                    "deadline": "\(watchdog.deadline)", "connection": "\(connection.id)",
                ])
                // PostgresNIO fails whatever waits on the connection (mid-COPY, 1.33 traps
                // instead: a process exit too, which the stored offsets make safe). Not
                // awaited: the watchdog must never wait on PostgresNIO itself.
                _ = connection.close() as EventLoopFuture<Void>
                closedSince = .now
            }
        }
    }
}
