extension Migrations {
    /// Version 3: the public key each pipeline is sealed with, stored with its first seal.
    ///
    /// A chain signed by two keys cannot be verified with the one key a certificate
    /// publishes, so the reporter refuses to seal with any other key once this row exists.
    /// The row is append-only like the snapshots it vouches for.
    static let pipelineKeys = Migration(version: 3, name: "pipeline public keys", sql: [
        """
        CREATE TABLE headcount.pipelines (
            pipeline    text        PRIMARY KEY,
            public_key  text        NOT NULL,
            stored_at   timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        COMMENT ON TABLE headcount.pipelines IS
        'Per pipeline: base64 of the 32-byte Ed25519 public key its snapshots are signed with, written in the transaction of its first sealed snapshot and never changed.'
        """,
        """
        CREATE TRIGGER pipelines_sealed BEFORE UPDATE OR DELETE ON headcount.pipelines
        FOR EACH ROW EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
        """
        CREATE TRIGGER pipelines_sealed_truncate BEFORE TRUNCATE ON headcount.pipelines
        FOR EACH STATEMENT EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
        "GRANT SELECT ON headcount.pipelines TO headcount_analyst",
    ])
}
