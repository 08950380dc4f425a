extension Migrations {
    /// Version 4: an index on events by participant, for `headcount.participant_summary`.
    ///
    /// Version 3 is left to the dashboard branch's signing-key migration, which was being
    /// written at the same time; versions are applied by number, so a gap is harmless.
    ///
    /// Without it the view aggregates the whole events table for one participant's row. The
    /// view's grouping columns are exactly (pipeline, participant), so PostgreSQL pushes a
    /// `WHERE participant = …` into the grouped subquery and this index serves it. The cost
    /// is paid at ingestion (every COPY maintains one more B-tree; see docs/BENCHMARKS.md),
    /// and building it takes a lock that blocks writes to events while it runs: apply the
    /// migration before the event, not during one.
    static let participantIndex = Migration(version: 4, name: "index events by participant", sql: [
        "CREATE INDEX events_participant ON headcount.events (pipeline, participant)",
    ])
}

extension Migrations {
    /// Version 5: certified participants can leave the certified roots.
    ///
    /// A late leave can shorten a sealed participant's presence below Q (or to nothing):
    /// the sealed roots stay as they are, and the buckets sealed afterwards certify the
    /// corrected set without the participant (docs/certificate.md, "Decreases").
    /// `certified_participants` keeps the first bucket; this table records each later
    /// bucket from which the participant is out of the roots, back in, out …, append-only
    /// like every certified row.
    static let membershipChanges = Migration(version: 5, name: "certified participants leaving the roots", sql: [
        """
        CREATE TABLE headcount.certified_participant_changes (
            pipeline    text    NOT NULL,
            participant text    NOT NULL,
            bucket      integer NOT NULL,
            PRIMARY KEY (pipeline, participant, bucket),
            FOREIGN KEY (pipeline, participant) REFERENCES headcount.certified_participants (pipeline, participant)
        )
        """,
        """
        COMMENT ON TABLE headcount.certified_participant_changes IS
        'Buckets from which a certified participant leaves (first row), re-enters (second row), … the sealed roots: the extra columns of its line in the certificate''s participants.txt.'
        """,
        """
        CREATE TRIGGER certified_participant_changes_sealed BEFORE UPDATE OR DELETE ON headcount.certified_participant_changes
        FOR EACH ROW EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
        """
        CREATE TRIGGER certified_participant_changes_sealed_truncate BEFORE TRUNCATE ON headcount.certified_participant_changes
        FOR EACH STATEMENT EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
    ])
}
