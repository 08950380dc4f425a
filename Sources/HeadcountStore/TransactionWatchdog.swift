import Logging
import PostgresNIO

/// How long a store transaction may take before its connection is given up, so that a
/// broken connection ends in a retriable error instead of a wait forever.
///
/// Two PostgresNIO 1.33 behaviours make this necessary. Nothing notices a server that stops
/// answering without closing the connection (a frozen host, a network partition): the
/// client's keep-alive pings only idle connections, and it sets no TCP keep-alive; the
/// server's own timeouts (`TransactionOptions`) cannot fire on a frozen server. And a
/// statement written to a connection the server has closed can be lost: NIO removes the
/// connection's handlers one event-loop tick after the close, a write that arrives later is
/// dropped with nobody to fail its promise, and the `query` waiting on it never returns and
/// ignores cancellation. `StoreTransaction` avoids sending its own statements on a closed
/// connection; this watchdog covers the statements of the transaction's body.
///
/// A lost statement cannot be recovered inside the process: the task awaiting it can never
/// resume. The library only reports it (`onLostStatement`); what to do is the executable's
/// decision (`headcount` exits with status 75 for its supervisor).
public struct TransactionWatchdog: Sendable {
    /// After this long, the transaction's connection is closed, which fails the statement in
    /// flight with a retriable error; default 120 s, far above a 100,000-event batch.
    public var deadline: Duration = .seconds(120)
    /// How long a transaction may go on once its connection has closed; default 10 s.
    ///
    /// A statement on a closed connection fails within milliseconds unless PostgresNIO lost
    /// it. Past this, the transaction is waiting for an answer that cannot come, in a call
    /// that cannot be cancelled: `onLostStatement` runs.
    public var closedGrace: Duration = .seconds(10)
    /// How often the watchdog looks at the connection; default 100 ms.
    public var interval: Duration = .milliseconds(100)
    /// Runs once when a transaction can never finish, after the watchdog logged it at
    /// `critical`. Default: nothing more. The caller's task stays suspended for good, so a
    /// process should end itself here and let its supervisor restart it: nothing is lost,
    /// since a batch and its offsets are committed together or not at all, and a restarted
    /// worker continues from the stored offsets.
    public var onLostStatement: (@Sendable () -> Void)?

    public init() {}

    /// Runs `body` (which uses `connection`) under the watchdog, in this task: `body` need
    /// not be `Sendable`, and when it returns or throws, the watchdog is cancelled.
    nonisolated(nonsending) func watching<Result: Sendable>(
        _ connection: PostgresConnection, logger: Logger, _ body: () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.watch(connection, logger: logger, started: .now) }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// Ends when cancelled. Past the deadline it closes the connection, which fails the
    /// statement in flight (the caller sees a retriable error); once the connection is closed
    /// and `closedGrace` has passed, the statement in flight is one PostgresNIO lost.
    private func watch(_ connection: PostgresConnection, logger: Logger, started: ContinuousClock.Instant) async throws {
        var closedSince: ContinuousClock.Instant?
        while true {
            try await Task.sleep(for: interval)
            let now = ContinuousClock.now
            if let closed = closedSince {
                guard now - closed >= closedGrace else { continue }
                logger.critical("""
                    a PostgreSQL statement was lost on a closed connection (PostgresNIO 1.33 dropped it): the call \
                    waiting for it can never return
                    """, metadata: ["connection": "\(connection.id)"])
                onLostStatement?()
                return
            } else if connection.isClosed {
                closedSince = now
            } else if now - started >= deadline {
                logger.error("a PostgreSQL transaction ran past its deadline; closing its connection", metadata: [
                    "deadline": "\(deadline)", "connection": "\(connection.id)",
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
