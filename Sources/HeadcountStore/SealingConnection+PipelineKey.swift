import Logging
import PostgresNIO

extension SealingConnection {
    /// The public key (base64) the pipeline's snapshots are signed with, nil before its
    /// first seal.
    public func storedPublicKey(pipeline: String) async throws(StoreError) -> String? {
        guard !connection.isClosed else { throw StoreError(.unavailable, "the reporter's connection was closed") }
        do {
            return try await PipelineKeyQueries.publicKey(pipeline: pipeline, on: connection, logger: logger)
        } catch {
            throw StoreError.wrapping(error, while: "reading the pipeline's public key")
        }
    }
}

extension SealingRound {
    /// Records the public key of the pipeline's chain, once: call in the round whose
    /// transaction commits the first snapshot, so the key and the chain exist together.
    public func storePublicKey(pipeline: String, publicKey: String) async throws {
        try await connection.query(
            """
            INSERT INTO headcount.pipelines (pipeline, public_key) VALUES (\(pipeline), \(publicKey))
            ON CONFLICT (pipeline) DO NOTHING
            """, logger: logger)
    }
}

extension EventStore {
    /// The public key (base64) the pipeline's snapshots are signed with, nil before its
    /// first seal; for the dashboard and for checks.
    public func storedPublicKey(pipeline: String) async throws(StoreError) -> String? {
        do {
            return try await client.withConnection { connection in
                try await PipelineKeyQueries.publicKey(pipeline: pipeline, on: connection, logger: self.logger)
            }
        } catch {
            throw StoreError.wrapping(error, while: "reading the pipeline's public key")
        }
    }
}

enum PipelineKeyQueries {
    static func publicKey(pipeline: String, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        let rows = try await connection.query(
            "SELECT public_key FROM headcount.pipelines WHERE pipeline = \(pipeline)", logger: logger)
        for try await key in rows.decode(String.self) { return key }
        return nil
    }
}
