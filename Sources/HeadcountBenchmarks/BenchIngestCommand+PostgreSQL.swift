import Foundation
import HeadcountCore
import HeadcountStore
import Logging
import PostgresNIO

/// Throwaway databases on the benchmark's server: every measured run starts from empty
/// tables and indexes, with no dead rows left by the run before.
enum ScratchDatabase {
    /// Creates a database, runs `body` with its URL, and drops it afterwards, even on failure.
    static func with<T: Sendable>(
        server: DatabaseURL, logger: Logger, _ body: (DatabaseURL) async throws -> T
    ) async throws -> T {
        // Letters and digits only: the name goes into the statement as it is.
        let name = "headcount_bench_" + UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(16)
        try await administer(server, logger: logger, "CREATE DATABASE \(name)")
        var scratch = server
        scratch.database = name
        do {
            let result = try await body(scratch)
            try await administer(server, logger: logger, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            return result
        } catch {
            try? await administer(server, logger: logger, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
    }

    /// One connection, outside any pool, to the database of `url`.
    static func connect(_ url: DatabaseURL, logger: Logger) async throws -> PostgresConnection {
        let configuration: PostgresConnection.Configuration
        if let directory = url.unixSocketDirectory {
            configuration = .init(
                unixSocketPath: directory + "/.s.PGSQL.\(url.port)", username: url.username, password: url.password,
                database: url.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS = switch url.sslMode {
            case "require": .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case "prefer": .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            default: .disable
            }
            configuration = .init(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls)
        }
        return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
    }

    /// Runs one statement on the server's own database (CREATE/DROP DATABASE cannot run
    /// inside the database they name, nor inside a transaction).
    private static func administer(_ server: DatabaseURL, logger: Logger, _ statement: String) async throws {
        var attempt = 1
        while true {
            let connection = try await connect(server, logger: logger)
            do {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                try await connection.close()
                return
            } catch let error as PSQLError {
                try? await connection.close()
                // 55006: CREATE DATABASE copies template1 and fails while anyone else is
                // connected to it, as other programs creating databases briefly are.
                if error.serverInfo?[.sqlState] == "55006", attempt < 20 {
                    attempt += 1
                    try await Task.sleep(for: .milliseconds(250))
                    continue
                }
                throw BenchFailure(description: "\(statement): \(error.serverInfo?[.message] ?? "\(error.code)")")
            } catch {
                try? await connection.close()
                throw error
            }
        }
    }
}
