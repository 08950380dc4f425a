import HeadcountCore
import HeadcountStore
import HeadcountTestSupport
import PostgresNIO
import Testing

/// Stored rows this program cannot read as they are: an error naming the row, never a default.
@Suite("Stored data that cannot be read", .serialized, .timeLimit(.minutes(2)))
struct StoredDataTests {
    @Test("an unknown stored event type is an error naming the event, not a heartbeat")
    func unknownEventType() async throws {
        try await TestDatabase.withStore { store, url in
            _ = try await store.commit(EventStoreTests.batch([EventStoreTests.event("a"), EventStoreTests.event("b")], from: 0, expected: nil))
            // Only possible once the schema's CHECK is gone: a hand-made change, or a newer writer.
            let configuration = PostgresConnection.Configuration(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 3, logger: .init(label: "test"))
            try await connection.query("ALTER TABLE headcount.events DROP CONSTRAINT events_type_check", logger: .init(label: "test"))
            try await connection.query("UPDATE headcount.events SET type = 'raise_hand' WHERE id = 'b'", logger: .init(label: "test"))
            try await connection.close()
            await #expect {
                _ = try await store.events(pipeline: "pipe")
            } throws: { error in
                guard let error = error as? StoreError else { return false }
                return error.code == .invalidData && !error.isRetriable
                    && error.description.contains("stored event b has type \"raise_hand\"") && error.description.contains("pipeline pipe")
            }
        }
    }
}
