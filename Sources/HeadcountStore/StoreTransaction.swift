import Logging
import PostgresNIO

/// How one transaction runs: what it is for, its isolation, and the bounds PostgreSQL itself
/// enforces on it.
public struct TransactionOptions: Sendable {
    public enum Isolation: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
    }

    /// What the transaction does, as its errors say it ("committing a batch").
    public var purpose: String
    /// The pipeline it works for, named in its errors; nil for schema work.
    public var pipeline: String?
    /// Default READ COMMITTED.
    public var isolation: Isolation = .readCommitted
    /// Default false.
    public var readOnly = false
    /// The longest any one statement may run (`SET LOCAL statement_timeout`); default 30 s,
    /// far above a 100,000-event COPY. A statement past it fails with SQLSTATE 57014.
    public var statementTimeout: Duration = .seconds(30)
    /// The longest the transaction may sit between two statements
    /// (`SET LOCAL idle_in_transaction_session_timeout`); default 10 s. Past it the server
    /// ends the session, which rolls the transaction back and frees its locks: a client
    /// frozen mid-transaction (SIGSTOP, a stalled host) cannot block a partition's next
    /// owner for longer.
    public var idleTimeout: Duration = .seconds(10)

    public init(purpose: String, pipeline: String? = nil, isolation: Isolation = .readCommitted, readOnly: Bool = false) {
        self.purpose = purpose
        self.pipeline = pipeline
        self.isolation = isolation
        self.readOnly = readOnly
    }

    var begin: PostgresQuery {
        PostgresQuery(unsafeSQL: "BEGIN ISOLATION LEVEL \(isolation.rawValue)" + (readOnly ? " READ ONLY" : ""))
    }

    /// Both bounds in one statement, for this transaction only (`is_local`).
    var bounds: PostgresQuery {
        """
        SELECT set_config('statement_timeout', \(String(statementTimeout.timeoutMilliseconds)), true),
               set_config('idle_in_transaction_session_timeout', \(String(idleTimeout.timeoutMilliseconds)), true)
        """
    }
}

/// The one way into a transaction for every store path: the worker's commit, the sealing
/// round (amendments included), the dashboard's status read and the migrations.
///
/// BEGIN, the bounds, `body`, then COMMIT; ROLLBACK on every other exit (an error of the
/// body, a cancelled task, a statement past its timeout); nothing at all on a connection
/// that is already closed, whose transaction the server rolls back by itself. The body's
/// error is rethrown unchanged: callers classify errors once (`StoreError.wrapping`).
///
/// Beside PostgresNIO's `withTransaction`, not on top of it, because in 1.33 that method
/// wraps the body's error in a `PostgresTransactionError` and, worse, sends BEGIN and
/// ROLLBACK on whatever connection it has: a statement written to a connection the server
/// has just closed can be dropped by NIO without failing its promise, and the call then
/// never returns, cancelled or not (see `TransactionWatchdog` and the closing notes of
/// issue 4). So here every statement runs on the connection's own event loop
/// (`EventLoopTaskExecutor`), none is sent on a closed connection, and a watchdog bounds
/// whatever can still wait forever.
enum StoreTransaction {
    nonisolated(nonsending) static func run<Result: Sendable>(
        on connection: PostgresConnection, _ options: TransactionOptions, watchdog: TransactionWatchdog, logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(connection.eventLoop)) {
            try await watchdog.watching(connection, logger: logger) {
                try await transaction(on: connection, options, logger: logger, body)
            }
        }
    }

    nonisolated(nonsending) private static func transaction<Result: Sendable>(
        on connection: PostgresConnection, _ options: TransactionOptions, logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try Task.checkCancellation()
        try await send(options.begin, on: connection, logger: logger)
        let result: Result
        do {
            // Read to the end: an error after a row description arrives only with the rows.
            for try await _ in try await connection.query(options.bounds, logger: logger) {}
            result = try await body(connection)
            // A cancelled caller commits nothing: what it did may be half of what it meant
            // (a worker's batch cut off by the end of the shutdown grace).
            try Task.checkCancellation()
        } catch {
            await rollBack(on: connection, logger: logger)
            throw error
        }
        try await commit(on: connection, options, logger: logger)
        return result
    }

    /// COMMIT, refusing the "ROLLBACK" PostgreSQL answers for a transaction that an earlier
    /// statement's error aborted: a row-returning statement's error reaches the client only
    /// with its rows, and a body that did not read them would otherwise take a rollback for
    /// a commit.
    private static func commit(on connection: PostgresConnection, _ options: TransactionOptions, logger: Logger) async throws {
        guard !connection.isClosed else {
            throw StoreError(.unavailable, "the connection to PostgreSQL is closed")
        }
        // The future-based query is the one that hands back the command tag.
        let result = try await (connection.query("COMMIT", logger: logger) as EventLoopFuture<PostgresQueryResult>).get()
        guard result.metadata.command == "COMMIT" else {
            throw StoreError(
                .rejected, "\(options.purpose): PostgreSQL rolled the transaction back at COMMIT, an earlier statement having failed",
                sqlState: "25P02", pipeline: options.pipeline, statement: "COMMIT")
        }
    }

    /// Rolls back unless the connection is closed: PostgreSQL rolls back the transaction of a
    /// connection that ends, and a ROLLBACK written to it now might never return.
    private static func rollBack(on connection: PostgresConnection, logger: Logger) async {
        guard !connection.isClosed else { return }
        do {
            try await connection.query("ROLLBACK", logger: logger)
        } catch {
            // A connection that cannot roll back must not be used again in the middle of a
            // failed transaction (a pool would hand it out so).
            try? await connection.close()
        }
    }

    /// Sends one of the transaction's own statements, or fails as a lost connection if the
    /// connection has already closed, rather than write into a pipeline that may drop it.
    private static func send(_ sql: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws {
        guard !connection.isClosed else {
            throw StoreError(.unavailable, "the connection to PostgreSQL is closed")
        }
        try await connection.query(sql, logger: logger)
    }
}

extension Duration {
    /// Whole milliseconds, at least 1: PostgreSQL reads 0 as "no timeout".
    var timeoutMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
