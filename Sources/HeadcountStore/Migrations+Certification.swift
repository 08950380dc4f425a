extension Migrations {
    /// Version 2: what the reporter certifies (COUNTING.md sections 4 and 5), and the
    /// read-only face analysts query.
    ///
    /// Sealed snapshots, amendments and certified participants are append-only, and the
    /// database itself refuses to change them: a trigger raises on UPDATE, DELETE and
    /// TRUNCATE, so no code path (nor a careless `psql` session) can rewrite a certified
    /// number without first disabling the trigger, which needs the table's owner and leaves
    /// the chain's hashes and signatures to give the change away.
    static let certification = Migration(version: 2, name: "snapshots, amendments and analyst views", sql: [
        """
        CREATE TABLE headcount.snapshots (
            pipeline          text        NOT NULL,
            bucket            integer     NOT NULL CHECK (bucket >= 0),
            bucket_start      timestamptz NOT NULL,
            active            bigint      NOT NULL,
            peak              bigint      NOT NULL,
            "unique"          bigint      NOT NULL,
            qualified         bigint      NOT NULL,
            participants_root text        NOT NULL,
            prev_hash         text        NOT NULL,
            hash              text        NOT NULL,
            signature         text        NOT NULL,
            watermark         timestamptz NOT NULL,
            sealed_at         timestamptz NOT NULL DEFAULT now(),
            incomplete        text,
            seen_offsets      jsonb       NOT NULL DEFAULT '{}',
            PRIMARY KEY (pipeline, bucket)
        )
        """,
        """
        COMMENT ON TABLE headcount.snapshots IS
        'Sealed snapshots: the signed hash chain of COUNTING.md section 5, one row per bucket, never changed. incomplete holds the plain-words reason when events may be missing; seen_offsets the next Kafka offset per partition the seal had counted (which later events are late).'
        """,
        """
        CREATE TABLE headcount.amendments (
            seq                 bigserial   PRIMARY KEY,
            pipeline            text        NOT NULL,
            bucket              integer     NOT NULL,
            certified_active    bigint      NOT NULL,
            certified_peak      bigint      NOT NULL,
            certified_unique    bigint      NOT NULL,
            certified_qualified bigint      NOT NULL,
            corrected_active    bigint      NOT NULL,
            corrected_peak      bigint      NOT NULL,
            corrected_unique    bigint      NOT NULL,
            corrected_qualified bigint      NOT NULL,
            detected_at         timestamptz NOT NULL DEFAULT now(),
            reason              text        NOT NULL,
            events              text[]      NOT NULL DEFAULT '{}',
            seen_offsets        jsonb       NOT NULL DEFAULT '{}',
            FOREIGN KEY (pipeline, bucket) REFERENCES headcount.snapshots (pipeline, bucket)
        )
        """,
        "CREATE INDEX amendments_bucket ON headcount.amendments (pipeline, bucket, seq)",
        """
        COMMENT ON TABLE headcount.amendments IS
        'Late events changed a sealed bucket (COUNTING.md section 4): the certified and the corrected numbers, one row per new corrected value; the latest row of a bucket is what the recount must find.'
        """,
        """
        CREATE TABLE headcount.certified_participants (
            pipeline    text    NOT NULL,
            participant text    NOT NULL,
            bucket      integer NOT NULL,
            PRIMARY KEY (pipeline, participant)
        )
        """,
        """
        COMMENT ON TABLE headcount.certified_participants IS
        'Each participant with the first sealed bucket whose participants_root includes it: the lines of the certificate''s participants.txt, recorded when sealing so that late events cannot change what a sealed root covers.'
        """,
        """
        CREATE FUNCTION headcount.refuse_change_of_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'headcount.% is append-only: sealed rows are never changed (% refused)', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'HC001', HINT = 'late events are recorded as amendments, never by changing a sealed row';
        END
        $$
        """,
        """
        CREATE TRIGGER snapshots_sealed BEFORE UPDATE OR DELETE ON headcount.snapshots
        FOR EACH ROW EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
        """
        CREATE TRIGGER snapshots_sealed_truncate BEFORE TRUNCATE ON headcount.snapshots
        FOR EACH STATEMENT EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
        """
        CREATE TRIGGER amendments_sealed BEFORE UPDATE OR DELETE ON headcount.amendments
        FOR EACH ROW EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
        """
        CREATE TRIGGER amendments_sealed_truncate BEFORE TRUNCATE ON headcount.amendments
        FOR EACH STATEMENT EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
        """
        CREATE TRIGGER certified_participants_sealed BEFORE UPDATE OR DELETE ON headcount.certified_participants
        FOR EACH ROW EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
        """
        CREATE TRIGGER certified_participants_sealed_truncate BEFORE TRUNCATE ON headcount.certified_participants
        FOR EACH STATEMENT EXECUTE FUNCTION headcount.refuse_change_of_sealed()
        """,
        """
        CREATE VIEW headcount.certified_snapshots AS
        SELECT pipeline, bucket, bucket_start, active, peak, "unique", qualified, participants_root,
               prev_hash, hash, signature, sealed_at, incomplete
        FROM headcount.snapshots
        """,
        """
        COMMENT ON VIEW headcount.certified_snapshots IS
        'The sealed snapshots as certified (docs/analysts.md); incomplete is null unless events may be missing.'
        """,
        // Events are aggregated per participant in one pass: the events table has no index
        // by participant (it would slow ingestion), so a per-row lookup would scan it again
        // and again.
        """
        CREATE VIEW headcount.participant_summary AS
        SELECT p.pipeline, p.participant, e.first_seen, e.last_seen,
               round(coalesce((SELECT sum(upper(r) - lower(r)) FROM unnest(p.intervals) AS r), 0) / 1000.0, 3) AS present_seconds,
               coalesce(e.sessions, 0) AS sessions,
               p.qualified_bucket IS NOT NULL AS qualified,
               p.qualified_bucket
        FROM headcount.presence p
        LEFT JOIN (SELECT pipeline, participant, min(at) AS first_seen, max(at) AS last_seen,
                          count(DISTINCT session) AS sessions
                   FROM headcount.events GROUP BY pipeline, participant) e
               ON e.pipeline = p.pipeline AND e.participant = p.participant
        """,
        """
        COMMENT ON VIEW headcount.participant_summary IS
        'Per participant: first and last event time, presence inside the window in seconds, distinct sessions, and whether (and from which bucket) the participant is qualified now (docs/analysts.md).'
        """,
        // Roles are cluster-wide while this migration runs per database, and the migration
        // lock is per database too: two databases migrating at once may both try to create
        // the role, so losing that race is not an error.
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'headcount_analyst') THEN
                BEGIN
                    CREATE ROLE headcount_analyst NOLOGIN;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN
                    NULL;
                END;
            END IF;
        END
        $$
        """,
        "GRANT USAGE ON SCHEMA headcount TO headcount_analyst",
        "GRANT SELECT ON headcount.certified_snapshots, headcount.participant_summary TO headcount_analyst",
    ])
}
