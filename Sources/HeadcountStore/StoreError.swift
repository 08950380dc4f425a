import PostgresNIO

/// What went wrong talking to PostgreSQL, without SQL parameters or personal data.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The database URL or store settings are unusable.
        case configuration
        /// The server cannot be reached or the connection broke: retry later.
        case unavailable
        /// The server refused a statement (constraint, type, syntax).
        case rejected
        /// The schema is newer than this program understands.
        case schemaTooNew
        /// Another worker moved a partition on since this batch was read (after a rebalance):
        /// the batch was not stored and the worker must re-seek from the stored offsets.
        case fenced
    }

    public var code: Code
    public var message: String
    /// SQLSTATE when the server answered with an error.
    public var sqlState: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    /// Whether the same work may succeed if tried again unchanged.
    public var isRetriable: Bool {
        switch code {
        case .unavailable: true
        // Serialization failures and deadlocks are the server asking for a retry.
        case .rejected: sqlState == "40001" || sqlState == "40P01"
        case .configuration, .schemaTooNew, .fenced: false
        }
    }

    public var description: String {
        sqlState.map { "\(code.rawValue) [SQLSTATE \($0)]: \(message)" } ?? "\(code.rawValue): \(message)"
    }

    /// Maps any PostgresNIO error to a `StoreError`, keeping only the server's message,
    /// which names tables and constraints but not the values of parameters.
    static func wrapping(_ error: any Error, while doing: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let transaction = error as? PostgresTransactionError {
            // The first failure is the one that explains the rest (a failed statement makes
            // the rollback or commit fail too).
            if let cause = transaction.beginError ?? transaction.closureError ?? transaction.commitError ?? transaction.rollbackError {
                return wrapping(cause, while: doing)
            }
        }
        if let psql = error as? PSQLError {
            if let fields = psql.serverInfo {
                let state = fields[.sqlState]
                let text = fields[.message] ?? "server error"
                // Class 08 is connection exceptions, 57P0x is the server shutting down.
                let unavailable = state?.hasPrefix("08") == true || state?.hasPrefix("57P") == true
                return StoreError(unavailable ? .unavailable : .rejected, "\(doing): \(text)", sqlState: state)
            }
            return StoreError(.unavailable, "\(doing): \(psql.code)")
        }
        return StoreError(.unavailable, "\(doing): \(String(describing: type(of: error)))")
    }
}
