extension Migrations {
    /// Version 5: an append-only log of the participants whose first qualified bucket
    /// changed, written by the workers with their presence.
    ///
    /// The reporter keeps every participant's qualified bucket in memory and reads only the
    /// rows added since its previous round (under the same fence as the contributions), so a
    /// seal no longer scans `presence` for the qualified set. About one row per participant:
    /// one when it qualifies, more only when late events move or remove its qualification.
    static let qualificationChanges = Migration(version: 5, name: "qualification changes", sql: [
        """
        CREATE TABLE headcount.qualification_changes (
            seq              bigserial PRIMARY KEY,
            pipeline         text      NOT NULL,
            participant      text      NOT NULL,
            qualified_bucket integer
        )
        """,
        """
        COMMENT ON TABLE headcount.qualification_changes IS
        'Append-only: a participant''s new first qualified bucket (NULL: no longer qualified), one row per participant per committed batch that changed it. Per participant, seq order is commit order (the presence row lock orders the writers); the latest row equals presence.qualified_bucket.'
        """,
    ])
}
