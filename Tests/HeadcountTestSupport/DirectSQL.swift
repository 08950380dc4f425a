import Foundation
import HeadcountStore
import Logging
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// Plain SQL on a connection of its own, beside the store under test: how tests read what
/// the code under test wrote (or corrupt it on purpose) without going through that code.
public enum DirectSQL {
    /// Runs `statements` in order on one new connection; returns the rows of the last, each
    /// row's first column as text ("NULL" for NULL).
    @discardableResult
    public static func rows(_ url: DatabaseURL, _ statements: [String], logger: Logger) async throws -> [String] {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 9, logger: logger)
        do {
            var rows: [String] = []
            for statement in statements {
                rows = []
                for try await row in try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) {
                    rows.append(try row.decode(String?.self) ?? "NULL")
                }
            }
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// Bind failed while looking for a free loopback port.
public struct NoLoopbackPort: Error, CustomStringConvertible {
    public var description: String
}

/// A loopback port nothing listens on: bound once to learn a free one, then closed. What
/// "the brokers are unreachable" tests point at.
public func closedLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw NoLoopbackPort(description: "socket() failed: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else { throw NoLoopbackPort(description: "bind() to 127.0.0.1:0 failed: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
