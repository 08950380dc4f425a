extension Migrations {
    /// Version 11: tails kept on presence rows (`ContributionTail`).
    ///
    /// A heartbeat that extends an open session moves where its presence ends; written as
    /// change points that was four rows per heartbeat (the old and new end of both levels),
    /// more rows than events, and the largest write of a live event. Now a worker keeps the
    /// last piece's two end changes on the presence row it rewrites anyway, until event
    /// time passes them, and the reporter adds the kept tails behind its frontier to the rows
    /// it sums (docs/counting.md, "Open tails"). Rows written before this version hold whole
    /// contributions, which is what NULL tails mean, so an existing store needs no rewrite.
    static let openTails = Migration(version: 11, name: "open tails on presence, provisional numbers", sql: [
        "ALTER TABLE headcount.presence ADD COLUMN tail_peak_at bigint, ADD COLUMN tail_sustained_at bigint",
        """
        COMMENT ON COLUMN headcount.presence.tail_peak_at IS
        'Unix ms where concurrency drops at the end of the last presence piece, when that change is kept here rather than in peak_changes (the piece may still grow); NULL when peak_changes holds it.'
        """,
        """
        COMMENT ON COLUMN headcount.presence.tail_sustained_at IS
        'Unix ms where the S-covering level drops for the last presence piece, when that change is kept here rather than in peak_changes; NULL when peak_changes holds it.'
        """,
        // Every change of a presence rewrites its row. With room left on each page and no index
        // on the columns that change, PostgreSQL rewrites it in place (a HOT update): no new
        // index entries, dead versions pruned from the page. So no index on the tails either:
        // the reporter finds them by partition (`partition_progress.kept_tails_from`).
        "ALTER TABLE headcount.presence SET (fillfactor = 50)",
        "ALTER TABLE headcount.partition_progress ADD COLUMN kept_tails_from bigint",
        """
        COMMENT ON COLUMN headcount.partition_progress.kept_tails_from IS
        'Unix ms at or before the earliest change of any tail kept on the presence rows of this partition''s participants (NULL: none kept): the reporter reads kept tails only of partitions where this lies before the buckets it seals.'
        """,
        // The reporter's own numbers for the minute it seals next, written every round that
        // counts: the dashboard's provisional minute, read as one row instead of summing the
        // change points of the whole event per refresh.
        """
        ALTER TABLE headcount.watermarks ADD COLUMN provisional_bucket integer, ADD COLUMN provisional_active bigint,
            ADD COLUMN provisional_peak bigint, ADD COLUMN provisional_sustained_peak bigint,
            ADD COLUMN provisional_unique bigint, ADD COLUMN provisional_qualified bigint
        """,
        """
        COMMENT ON COLUMN headcount.watermarks.provisional_bucket IS
        'The bucket the reporter seals next, and in the provisional_* columns its numbers as the stored contributions said at the reporter''s last counting round: provisional, never certified.'
        """,
    ])
}
