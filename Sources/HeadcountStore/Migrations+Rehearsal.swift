extension Migrations {
    /// Version 10: whether a snapshot was sealed under a rehearsal clock.
    ///
    /// Outside the per-snapshot hash (COUNTING.md section 5 fixes its keys): the binding is
    /// the genesis hash, which covers the pipeline's `"rehearsal": true`, and this column is
    /// how the store remembers which genesis its chain started from, so the certificate and
    /// the recount rebuild the same one. Adding a column fires no row trigger: sealed rows
    /// stay as they were, all of them real.
    static let rehearsal = Migration(version: 10, name: "rehearsal snapshots", sql: [
        "ALTER TABLE headcount.snapshots ADD COLUMN rehearsal boolean NOT NULL DEFAULT false",
        """
        COMMENT ON COLUMN headcount.snapshots.rehearsal IS
        'True when sealed under a rehearsal clock (a rehearsal, not evidence); the genesis hash of such a chain covers "rehearsal": true.'
        """,
    ])
}
