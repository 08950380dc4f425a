extension Migrations {
    /// Version 7: `sustained_peak` (COUNTING.md v2, section 3).
    ///
    /// Workers store, beside each concurrency change point, the change of how many
    /// participants cover the S-second period starting at that instant (`sustained_delta`;
    /// rows that change only one of the two carry 0 in the other), so the reporter sums both
    /// from one table under the fence it already takes. Snapshots and amendments gain the
    /// number; it is NULL in rows sealed under spec v1, whose hashes do not cover it, and
    /// adding a column fires no row trigger, so the sealed rows stay as they were. The
    /// analysts' view is recreated with the column beside `peak` (CREATE OR REPLACE VIEW can
    /// only add columns at the end, so the view is dropped and made again, grants included).
    static let sustainedPeak = Migration(version: 7, name: "sustained peak", sql: [
        "ALTER TABLE headcount.peak_changes ADD COLUMN sustained_delta bigint NOT NULL DEFAULT 0",
        """
        COMMENT ON TABLE headcount.peak_changes IS
        'Append-only change points in Unix milliseconds: delta changes concurrent presence (peak of a bucket is the highest prefix sum inside it); sustained_delta changes how many participants are present through the whole S-second period starting at that instant (sustained_peak is its highest prefix sum inside the bucket).'
        """,
        "ALTER TABLE headcount.snapshots ADD COLUMN sustained_peak bigint",
        "COMMENT ON COLUMN headcount.snapshots.sustained_peak IS 'The best S-second period starting in the bucket (COUNTING.md v2); NULL for a snapshot sealed under spec v1, whose hash does not cover it.'",
        "ALTER TABLE headcount.amendments ADD COLUMN certified_sustained_peak bigint, ADD COLUMN corrected_sustained_peak bigint",
        "DROP VIEW headcount.certified_snapshots",
        """
        CREATE VIEW headcount.certified_snapshots AS
        SELECT pipeline, bucket, bucket_start, active, peak, sustained_peak, "unique", qualified, participants_root,
               prev_hash, hash, signature, sealed_at, incomplete
        FROM headcount.snapshots
        """,
        """
        COMMENT ON VIEW headcount.certified_snapshots IS
        'The sealed snapshots as certified (docs/analysts.md); sustained_peak is null for buckets sealed under spec v1; incomplete is null unless events may be missing.'
        """,
        "GRANT SELECT ON headcount.certified_snapshots TO headcount_analyst",
    ])
}
