import HeadcountCore
@testable import HeadcountStore
import HeadcountTestSupport
import Logging
import PostgresNIO
import Synchronization
import Testing

/// Every way out of `StoreTransaction` leaves its connection clean: not in a transaction,
/// its writes gone, no SET LOCAL left over, its locks released; or closed, when the server
/// ended the session. On the real PostgreSQL.
@Suite("Store transactions: every exit path", .serialized, .timeLimit(.minutes(2)))
struct StoreTransactionTests {
    static let logger = Logger(label: "test.transaction")

    struct Refused: Error, Equatable {}

    /// A flag tasks share.
    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    /// One connection of its own, a table to write into, and a second connection to look from.
    static func withConnections(_ body: (PostgresConnection, PostgresConnection) async throws -> Void) async throws {
        try await TestDatabase.withFreshDatabase { url in
            let configuration = PostgresConnection.Configuration(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            let observer = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
            try await observer.query("CREATE TABLE marks (label text)", logger: logger)
            do {
                try await body(connection, observer)
            } catch {
                try? await connection.close()
                try? await observer.close()
                throw error
            }
            try? await connection.close()
            try await observer.close()
        }
    }

    static func options(statementTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(10)) -> TransactionOptions {
        var options = TransactionOptions(purpose: "testing", pipeline: "p")
        options.statementTimeout = statementTimeout
        options.idleTimeout = idleTimeout
        return options
    }

    /// Writes a mark and takes a transaction-scoped advisory lock, as the worker's fence does.
    static func markAndLock(_ label: String, on connection: PostgresConnection) async throws {
        try await connection.query("INSERT INTO marks VALUES (\(label))", logger: logger)
        try await connection.query("SELECT pg_advisory_xact_lock(42)", logger: logger)
    }

    /// The connection is open and outside any transaction, with no SET LOCAL left, and
    /// nothing of `label` is visible from elsewhere.
    static func expectClean(_ connection: PostgresConnection, observer: PostgresConnection, without label: String) async throws {
        #expect(!connection.isClosed)
        var settings: [String] = []
        let rows = try await connection.query(
            """
            SELECT current_setting('statement_timeout') || ' ' || current_setting('idle_in_transaction_session_timeout')
                   || ' ' || pg_backend_pid()
            """, logger: logger)
        for try await text in rows.decode(String.self) { settings.append(text) }
        #expect(settings.first?.hasPrefix("0 0 ") == true, "no SET LOCAL left: \(settings)")
        let pid = Int(settings.first?.split(separator: " ").last ?? "") ?? 0
        // Seen from another session (whose view of the others is current: it is in no transaction).
        var states: [String] = []
        for try await state in try await observer.query(
            "SELECT state FROM pg_stat_activity WHERE pid = \(pid)", logger: logger
        ).decode(String.self) {
            states.append(state)
        }
        #expect(states == ["idle"], "not in a transaction")
        try await expectGone(label, observer: observer)
    }

    /// Nothing of `label` stored, and no advisory lock left in this test's database (pg_locks
    /// spans the whole server, where other suites run meanwhile).
    static func expectGone(_ label: String, observer: PostgresConnection) async throws {
        var counts: [Int] = []
        let rows = try await observer.query(
            "SELECT (SELECT count(*) FROM marks WHERE label = \(label)) + (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            logger: logger)
        for try await count in rows.decode(Int.self) { counts.append(count) }
        #expect(counts == [0], "the write rolled back and the lock released")
    }

    @Test("a commit keeps the writes and leaves the connection outside a transaction")
    func commits() async throws {
        try await Self.withConnections { connection, observer in
            let value = try await StoreTransaction.run(on: connection, Self.options(), watchdog: TransactionWatchdog(), logger: Self.logger) {
                try await Self.markAndLock("kept", on: $0)
                return 7
            }
            #expect(value == 7)
            var count = 0
            for try await n in try await observer.query("SELECT count(*) FROM marks WHERE label = 'kept'", logger: Self.logger).decode(Int.self) {
                count = n
            }
            #expect(count == 1)
        }
    }

    @Test("an error in the body rolls back and is rethrown unchanged")
    func errorInBody() async throws {
        try await Self.withConnections { connection, observer in
            await #expect(throws: Refused()) {
                try await StoreTransaction.run(on: connection, Self.options(), watchdog: TransactionWatchdog(), logger: Self.logger) {
                    try await Self.markAndLock("refused", on: $0)
                    throw Refused()
                }
            }
            try await Self.expectClean(connection, observer: observer, without: "refused")
            // A statement the server refuses: its PSQLError comes out as itself.
            await #expect {
                try await StoreTransaction.run(on: connection, Self.options(), watchdog: TransactionWatchdog(), logger: Self.logger) {
                    try await Self.markAndLock("bad", on: $0)
                    try await $0.query("SELECT * FROM no_such_table", logger: Self.logger)
                }
            } throws: { error in
                (error as? PSQLError)?.serverInfo?[.sqlState] == "42P01"
            }
            try await Self.expectClean(connection, observer: observer, without: "bad")
        }
    }

    @Test("a cancelled task rolls back, even when its body finished")
    func cancellation() async throws {
        try await Self.withConnections { connection, observer in
            let started = Flag()
            await withTaskGroup(of: (any Error)?.self) { group in
                group.addTask {
                    do {
                        try await StoreTransaction.run(on: connection, Self.options(), watchdog: TransactionWatchdog(), logger: Self.logger) {
                            try await Self.markAndLock("cancelled", on: $0)
                            started.set()
                            // Waits to be cancelled, as a batch in flight past the shutdown grace.
                            try await Task.sleep(for: .seconds(600))
                        }
                        return nil
                    } catch {
                        return error
                    }
                }
                try? await Eventually.until("the body started", timeout: .seconds(30)) { started.isSet }
                group.cancelAll()
                let error = await group.next() ?? nil
                #expect(error is CancellationError)
            }
            try await Self.expectClean(connection, observer: observer, without: "cancelled")

            // Cancelled after the body returned: nothing is committed either.
            let task = Task {
                try await StoreTransaction.run(on: connection, Self.options(), watchdog: TransactionWatchdog(), logger: Self.logger) {
                    try await Self.markAndLock("late-cancel", on: $0)
                    withUnsafeCurrentTask { $0?.cancel() }
                }
            }
            await #expect(throws: CancellationError.self) { try await task.value }
            try await Self.expectClean(connection, observer: observer, without: "late-cancel")
        }
    }

    @Test("a statement past its timeout fails with 57014, rolls back, and the next transaction has the defaults back")
    func statementTimeout() async throws {
        try await Self.withConnections { connection, observer in
            await #expect {
                try await StoreTransaction.run(
                    on: connection, Self.options(statementTimeout: .milliseconds(200)), watchdog: TransactionWatchdog(), logger: Self.logger
                ) {
                    try await Self.markAndLock("slow", on: $0)
                    for try await _ in try await $0.query("SELECT pg_sleep(30)", logger: Self.logger) {}
                }
            } throws: { error in
                let failure = StoreError.wrapping(error, while: "testing", pipeline: "p")
                // Never retried; named by what it was doing and for which pipeline.
                return (error as? PSQLError)?.serverInfo?[.sqlState] == "57014" && !failure.isRetriable
                    && failure.description.contains("testing: canceling statement due to statement timeout (pipeline p)")
            }
            try await Self.expectClean(connection, observer: observer, without: "slow")
            // A body that never read the failed statement's rows: COMMIT is refused, not taken
            // for a commit of what PostgreSQL rolled back.
            await #expect {
                try await StoreTransaction.run(
                    on: connection, Self.options(statementTimeout: .milliseconds(200)), watchdog: TransactionWatchdog(), logger: Self.logger
                ) {
                    try await Self.markAndLock("unread", on: $0)
                    try await $0.query("SELECT pg_sleep(30)", logger: Self.logger)
                }
            } throws: { error in
                (error as? StoreError)?.sqlState == "25P02"
            }
            try await Self.expectClean(connection, observer: observer, without: "unread")
        }
    }

    @Test("a client idle in its transaction past the bound: the server ends the session, locks freed, and no ROLLBACK is sent")
    func idleTimeout() async throws {
        try await Self.withConnections { connection, observer in
            await #expect {
                try await StoreTransaction.run(
                    on: connection, Self.options(idleTimeout: .seconds(1)), watchdog: TransactionWatchdog(), logger: Self.logger
                ) { connection in
                    try await Self.markAndLock("idle", on: connection)
                    // Frozen between two statements, as a SIGSTOPped worker: the server ends it.
                    try await Eventually.until("the server ended the idle session", timeout: .seconds(30)) { connection.isClosed }
                    // Waking up: a statement now could be one PostgresNIO 1.33 loses (the
                    // watchdog's case); the body gives up instead.
                    throw Refused()
                }
            } throws: { error in
                // On a loaded machine the server may end the session before the body's own
                // statements are through: a lost connection, as retriable as it should be.
                error as? Refused == Refused() || StoreError.wrapping(error, while: "testing").code == .unavailable
            }
            #expect(connection.isClosed)
            try await Self.expectGone("idle", observer: observer)
        }
    }

    @Test("a lost connection mid-statement: the body's error comes out, nothing hangs, nothing stays")
    func lostConnection() async throws {
        try await Self.withConnections { connection, observer in
            try await withThrowingTaskGroup(of: Void.self) { group in
                // As a PostgreSQL restart or a failover would, while a statement runs.
                group.addTask {
                    try await Eventually.until("the statement to run", timeout: .seconds(30)) {
                        try await Self.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(20)%' AND state = 'active'", on: observer) == 1
                    }
                    _ = try await Self.count(
                        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(20)%') t",
                        on: observer)
                }
                await #expect {
                    try await StoreTransaction.run(on: connection, Self.options(), watchdog: TransactionWatchdog(), logger: Self.logger) {
                        try await Self.markAndLock("lost", on: $0)
                        for try await _ in try await $0.query("SELECT pg_sleep(20)", logger: Self.logger) {}
                    }
                } throws: { error in
                    StoreError.wrapping(error, while: "testing").code == .unavailable
                }
                try await group.waitForAll()
            }
            try await Eventually.until("the client to see the connection closed", timeout: .seconds(30)) { connection.isClosed }
            try await Self.expectGone("lost", observer: observer)
        }
    }

    static func count(_ sql: String, on connection: PostgresConnection) async throws -> Int {
        for try await n in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int.self) { return n }
        return 0
    }

    @Test("a transaction past the watchdog's deadline has its connection closed and fails retriably")
    func watchdogDeadline() async throws {
        try await Self.withConnections { connection, observer in
            var watchdog = TransactionWatchdog()
            watchdog.deadline = .milliseconds(300)
            watchdog.interval = .milliseconds(20)
            let lost = Flag()
            watchdog.onLostStatement = { lost.set() }
            await #expect {
                try await StoreTransaction.run(on: connection, Self.options(), watchdog: watchdog, logger: Self.logger) {
                    try await Self.markAndLock("overdue", on: $0)
                    // A server that stops answering (no timeout of its own can fire). PostgresNIO
                    // closes after the statement in flight, so this one is short.
                    for try await _ in try await $0.query("SELECT pg_sleep(3)", logger: Self.logger) {}
                }
            } throws: { error in
                StoreError.wrapping(error, while: "testing").isRetriable
            }
            #expect(connection.isClosed)
            #expect(!lost.isSet, "the statement failed; none was lost")
            try await Eventually.until("the server noticed the closed session", timeout: .seconds(30)) {
                try await Self.count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", on: observer) == 0
            }
            try await Self.expectGone("overdue", observer: observer)
        }
    }
}
