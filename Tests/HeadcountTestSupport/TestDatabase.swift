import Foundation
import HeadcountStore
import Logging
import PostgresNIO

/// A throwaway PostgreSQL database on the project's real server, one per test.
///
/// The server comes from `HEADCOUNT_TEST_DATABASE_URL` (set by `scripts/test.sh`, which
/// starts the project's cluster). There is no skip: a test that needs PostgreSQL and
/// cannot reach it fails with a message that says how to provide it.
public enum TestDatabase {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The server's URL, or a failure explaining how to get one.
    public static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["HEADCOUNT_TEST_DATABASE_URL"], !url.isEmpty else {
            throw Unavailable(description: """
                PostgreSQL is required: run the tests through scripts/test.sh, which starts the project's cluster, \
                or set HEADCOUNT_TEST_DATABASE_URL=postgres://user@host:port/database
                """)
        }
        return url
    }

    /// Creates a fresh database, runs `body` with its URL, and drops it afterwards.
    public static func withFreshDatabase<T: Sendable>(
        _ body: (DatabaseURL) async throws -> T
    ) async throws -> T {
        let server = try DatabaseURL(try serverURL())
        let name = "headcount_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await admin(server) { connection, logger in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        var url = server
        url.database = String(name)
        do {
            let result = try await body(url)
            try await drop(name, on: server)
            return result
        } catch {
            try? await drop(name, on: server)
            throw error
        }
    }

    /// Runs `body` with a migrated `EventStore` on a fresh database, the pool running meanwhile.
    public static func withStore<T: Sendable>(
        _ body: @Sendable (EventStore, DatabaseURL) async throws -> T
    ) async throws -> T {
        try await withFreshDatabase { url in
            let store = EventStore(url: url, maximumConnections: 4, logger: Logger(label: "test.store"))
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.run() }
                defer { group.cancelAll() }
                try await store.migrate()
                return try await body(store, url)
            }
        }
    }

    private static func drop(_ name: some StringProtocol, on server: DatabaseURL) async throws {
        try await admin(server) { connection, logger in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    private static func admin(
        _ server: DatabaseURL, _ body: (PostgresConnection, Logger) async throws -> Void
    ) async throws {
        let logger = Logger(label: "test.admin")
        let configuration = PostgresConnection.Configuration(
            host: server.host, port: server.port, username: server.username, password: server.password,
            database: server.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            try await body(connection, logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
