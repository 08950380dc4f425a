import Foundation
import Logging

/// How long a store transaction may take before its connection is given up, so that a
/// broken connection ends in a retriable error instead of a wait forever.
///
/// Two PostgresNIO 1.33 behaviours make this necessary. Nothing notices a server that stops
/// answering without closing the connection (a frozen host, a network partition): the
/// client's keep-alive pings only idle connections, and it sets no TCP keep-alive. And a
/// statement written to a connection the server has closed can be lost: NIO removes the
/// connection's handlers one event-loop tick after the close, a write that arrives later is
/// dropped with nobody to fail its promise, and the `query` waiting on it never returns and
/// ignores cancellation. `EventStore.withTransaction` avoids sending its own statements on a
/// closed connection; this watchdog covers the statements of the transaction's body.
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
    /// Runs when a transaction can never finish. Default: log and exit with status 75
    /// (`EX_TEMPFAIL`), so that the supervisor restarts the process; nothing is lost, since
    /// a batch and its offsets are committed together or not at all, and a restarted worker
    /// continues from the stored offsets.
    public var onLostStatement: @Sendable (Logger) -> Void = TransactionWatchdog.exitForRestart

    public init() {}

    /// The exit status of a process stopped by `exitForRestart`.
    public static let restartExitStatus: Int32 = 75

    /// Logs why, then ends the process with status 75 for its supervisor to restart it.
    public static let exitForRestart: @Sendable (Logger) -> Void = { logger in
        logger.critical("""
            a PostgreSQL statement was lost on a closed connection (PostgresNIO 1.33 dropped it) and its call can \
            never return: exiting with status 75 so that the supervisor restarts this process, which continues \
            from the stored offsets
            """)
        exit(restartExitStatus)
    }
}
