import HeadcountCore
import PostgresNIO

extension EventStore {
    /// The sealed snapshots of a pipeline, bucket 0 first, exactly as stored.
    public func storedSnapshots(pipeline: String) async throws(StoreError) -> [StoredSnapshot] {
        do {
            return try await client.withConnection { connection in
                try await CertificationQueries.snapshots(pipeline: pipeline, on: connection, logger: self.logger)
            }
        } catch {
            throw StoreError.wrapping(error, while: "reading snapshots")
        }
    }

    /// The amendments of a pipeline in the order they were recorded.
    public func storedAmendments(pipeline: String) async throws(StoreError) -> [StoredAmendment] {
        do {
            return try await client.withConnection { connection in
                try await CertificationQueries.amendments(pipeline: pipeline, on: connection, logger: self.logger)
            }
        } catch {
            throw StoreError.wrapping(error, while: "reading amendments")
        }
    }

    /// Every participant some sealed snapshot covers, with the first such bucket.
    public func certifiedParticipants(pipeline: String) async throws(StoreError) -> [CertifiedParticipant] {
        do {
            return try await client.withConnection { connection in
                try await CertificationQueries.certifiedParticipants(pipeline: pipeline, on: connection, logger: self.logger)
            }
        } catch {
            throw StoreError.wrapping(error, while: "reading certified participants")
        }
    }

    /// Per-partition progress, for the watermark.
    public func partitionActivity(pipeline: String) async throws(StoreError) -> [PartitionActivity] {
        do {
            return try await client.withConnection { connection in
                try await CertificationQueries.partitionActivity(pipeline: pipeline, on: connection, logger: self.logger)
            }
        } catch {
            throw StoreError.wrapping(error, while: "reading partition progress")
        }
    }
}
