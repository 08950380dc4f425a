extension Migrations {
    /// Version 4: certified participants can leave the certified roots.
    ///
    /// A late leave can shorten a sealed participant's presence below Q (or to nothing):
    /// the sealed roots stay as they are, and the buckets sealed afterwards certify the
    /// corrected set without the participant (docs/certificate.md, "Decreases").
    /// `certified_participants` keeps the first bucket; this table records each later
    /// bucket from which the participant is out of the roots, back in, out …, append-only
    /// like every certified row.
    static let membershipChanges = Migration(version: 4, name: "certified participants leaving the roots", sql: [
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
