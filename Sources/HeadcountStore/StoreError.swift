import PostgresNIO

/// What went wrong talking to PostgreSQL, without SQL parameters or personal data.
///
/// Every store error is classified here, once: a lost connection, a serialization failure
/// (40001) and a deadlock (40P01) are retriable, and callers retry them with backoff;
/// everything else is not, and its description names what was being done, the pipeline and
/// the statement, so that it fails loudly instead of being retried forever.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The database URL or store settings are unusable.
        case configuration
        /// The server cannot be reached or the connection broke: retry later.
        case unavailable
        /// The server refused a statement (constraint, type, syntax, timeout).
        case rejected
        /// The schema is newer than this program understands.
        case schemaTooNew
        /// Another worker moved a partition on since this batch was read (after a rebalance):
        /// the batch was not stored and the worker must re-seek from the stored offsets.
        case fenced
        /// A stored row holds what this program cannot read as it is (an unknown event type):
        /// a fault of the data or of the program, never papered over with a default.
        case invalidData
    }

    public var code: Code
    public var message: String
    /// SQLSTATE when the server answered with an error.
    public var sqlState: String?
    /// The pipeline the work was for, when it was for one.
    public var pipeline: String?
    /// The start of the SQL statement that failed (its text only, never its parameters).
    public var statement: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil, pipeline: String? = nil, statement: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.pipeline = pipeline
        self.statement = statement
    }

    /// Whether the same work may succeed if tried again unchanged.
    public var isRetriable: Bool {
        switch code {
        case .unavailable: true
        // Serialization failures and deadlocks are the server asking for a retry.
        case .rejected: sqlState == "40001" || sqlState == "40P01"
        case .configuration, .schemaTooNew, .fenced, .invalidData: false
        }
    }

    /// Whether the server refused the data itself (SQLSTATE class 22, data exception, or 23,
    /// integrity constraint violation): only then can a batch be stored without the events
    /// it refuses. A timeout or a missing table says nothing about the events.
    public var isDataRefusal: Bool {
        code == .rejected && (sqlState?.hasPrefix("22") == true || sqlState?.hasPrefix("23") == true)
    }

    public var description: String {
        var text = sqlState.map { "\(code.rawValue) [SQLSTATE \($0)]: \(message)" } ?? "\(code.rawValue): \(message)"
        if let pipeline { text += " (pipeline \(pipeline))" }
        if let statement { text += "; statement: \(statement)" }
        return text
    }

    /// Maps any error met while `doing` something to a `StoreError`, keeping only the
    /// server's message, which names tables and constraints but not the values of parameters.
    /// A `StoreError` stays itself, with the pipeline added if it had none.
    public static func wrapping(_ error: any Error, while doing: String, pipeline: String? = nil) -> StoreError {
        var wrapped = classify(error, while: doing)
        wrapped.pipeline = wrapped.pipeline ?? pipeline
        return wrapped
    }

    private static func classify(_ error: any Error, while doing: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let transaction = error as? PostgresTransactionError {
            // The first failure is the one that explains the rest (a failed statement makes
            // the rollback or commit fail too).
            if let cause = transaction.beginError ?? transaction.closureError ?? transaction.commitError ?? transaction.rollbackError {
                return classify(cause, while: doing)
            }
        }
        if let psql = error as? PSQLError {
            let statement = psql.query.map { Self.opening(of: $0.sql) }
            if let fields = psql.serverInfo {
                let state = fields[.sqlState]
                let text = fields[.message] ?? "server error"
                // Class 08 is connection exceptions, 57P0x the server shutting down, 25P03
                // the idle-in-transaction timeout ending the session.
                let unavailable = state?.hasPrefix("08") == true || state?.hasPrefix("57P") == true || state == "25P03"
                return StoreError(unavailable ? .unavailable : .rejected, "\(doing): \(text)", sqlState: state, statement: statement)
            }
            let lost: Set<PSQLError.Code> = [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed]
            return StoreError(lost.contains(psql.code) ? .unavailable : .rejected, "\(doing): \(psql.code)", statement: statement)
        }
        if error is PostgresDecodingError {
            return StoreError(.invalidData, "\(doing): a column could not be decoded as expected")
        }
        // Anything else comes from below PostgresNIO (NIO's channel and socket errors):
        // the connection is what failed.
        return StoreError(.unavailable, "\(doing): \(String(describing: type(of: error)))")
    }

    /// The statement with its whitespace collapsed, at most 120 characters.
    static func opening(of sql: String) -> String {
        let words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " ")
        return words.count > 120 ? String(words.prefix(117)) + "…" : words
    }
}
