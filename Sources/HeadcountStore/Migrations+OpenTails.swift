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
    static let openTails = Migration(version: 11, name: "open tails on presence", sql: [
        "ALTER TABLE headcount.presence ADD COLUMN tail_peak_at bigint, ADD COLUMN tail_sustained_at bigint",
        """
        COMMENT ON COLUMN headcount.presence.tail_peak_at IS
        'Unix ms where concurrency drops at the end of the last presence piece, when that change is kept here rather than in peak_changes (the piece may still grow); NULL when peak_changes holds it.'
        """,
        """
        COMMENT ON COLUMN headcount.presence.tail_sustained_at IS
        'Unix ms where the S-covering level drops for the last presence piece, when that change is kept here rather than in peak_changes; NULL when peak_changes holds it.'
        """,
        // The reporter reads the kept tails behind its frontier every round: few rows, found by this index.
        """
        CREATE INDEX presence_open_tails ON headcount.presence (pipeline, least(tail_peak_at, tail_sustained_at))
        WHERE tail_peak_at IS NOT NULL OR tail_sustained_at IS NOT NULL
        """,
    ])
}
