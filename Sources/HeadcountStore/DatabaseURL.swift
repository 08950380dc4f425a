import Foundation
import PostgresNIO

/// A PostgreSQL connection string, `postgres://user[:password]@host[:port]/database`.
///
/// `?host=/path` selects a Unix socket directory and `?sslmode=disable|prefer|require`
/// the TLS mode, as libpq users expect. The password never appears in `description`.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    /// Never printed: `description` leaves it out.
    public var password: String?
    public var database: String
    public var unixSocketDirectory: String?
    public var sslMode: String

    /// Parses a connection string; the error says which part is wrong (never echoing a password).
    public init(_ text: String) throws(StoreError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme,
              scheme == "postgres" || scheme == "postgresql"
        else {
            throw StoreError(.configuration, "database URL must look like postgres://user@host:port/database")
        }
        self.host = url.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        self.port = url.port ?? 5432
        self.username = url.user ?? "postgres"
        self.password = url.password
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        self.database = path.isEmpty ? username : path
        let items = url.queryItems ?? []
        self.unixSocketDirectory = items.first { $0.name == "host" }?.value
        self.sslMode = items.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "prefer", "require"].contains(sslMode) else {
            throw StoreError(.configuration, "database URL: sslmode must be disable, prefer or require")
        }
    }

    public var description: String {
        let target = unixSocketDirectory.map { "socket \($0)" } ?? "\(host):\(port)"
        return "postgres://\(username)@\(target)/\(database)"
    }

    /// The PostgresNIO client configuration for this URL.
    func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let directory = unixSocketDirectory {
            configuration = .init(
                unixSocketPath: directory + "/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            let tls: PostgresClient.Configuration.TLS = switch sslMode {
            case "require": .require(.makeClientConfiguration())
            case "prefer": .prefer(.makeClientConfiguration())
            default: .disable
            }
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.maximumConnections = maximumConnections
        // Opened when the pool starts, not at the first query: a worker joining a live group
        // reads its partitions' offsets the moment they are assigned, and a fresh connection
        // (TCP, start-up, authentication) would be most of that time.
        configuration.options.minimumConnections = min(2, maximumConnections)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
