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

/// A row of `headcount.events` in PostgreSQL's COPY text format, as the store stages a batch:
/// tab-separated columns, with backslash, tab, newline and carriage return escaped.
enum CopyRow {
    /// The columns written, in order; `stored_at` takes its default.
    static let columns = ["id", "pipeline", "type", "participant", "session", "at", "source", "kafka_partition", "kafka_offset"]

    static func append(_ event: Event, partition: Int32, offset: Int64, to buffer: inout ByteBuffer) {
        field(event.id, to: &buffer)
        field(event.pipeline, to: &buffer)
        field(event.type.rawValue, to: &buffer)
        field(event.participant, to: &buffer)
        field(event.session, to: &buffer)
        field(event.at.rfc3339, to: &buffer)
        field(event.source, to: &buffer)
        buffer.writeString(String(partition))
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(String(offset))
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    private static func field(_ text: String, to buffer: inout ByteBuffer) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\t"))
    }
}
