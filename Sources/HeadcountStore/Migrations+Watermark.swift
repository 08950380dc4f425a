extension Migrations {
    /// Version 6: the reporter's watermark per pipeline, so that it never moves back, also
    /// across reporter restarts and takeovers (COUNTING.md section 4), and what holds it.
    ///
    /// Written by the lock-holding reporter in every sealing round's transaction, so the
    /// watermark a seal used commits with the seal. The database refuses to lower it, as a
    /// second guard beside the reporter's own `GREATEST`.
    static let watermarks = Migration(version: 6, name: "reporter watermarks", sql: [
        """
        CREATE TABLE headcount.watermarks (
            pipeline        text        PRIMARY KEY,
            watermark       timestamptz,
            holding         text[]      NOT NULL DEFAULT '{}',
            processing_time timestamptz NOT NULL,
            updated_at      timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        COMMENT ON TABLE headcount.watermarks IS
        'Per pipeline: the reporter''s watermark (COUNTING.md section 4, never lowered; NULL while some partition has held sealing from the start), and in plain words each partition that keeps it below processing time minus L, as of the reporter''s last round at processing_time (its clock).'
        """,
        """
        CREATE FUNCTION headcount.refuse_lower_watermark() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.watermark IS NOT NULL AND (NEW.watermark IS NULL OR NEW.watermark < OLD.watermark) THEN
                RAISE EXCEPTION 'the watermark of pipeline % never moves back (% to %)', OLD.pipeline, OLD.watermark, NEW.watermark
                    USING ERRCODE = 'HC002';
            END IF;
            RETURN NEW;
        END
        $$
        """,
        """
        CREATE TRIGGER watermarks_monotonic BEFORE UPDATE ON headcount.watermarks
        FOR EACH ROW EXECUTE FUNCTION headcount.refuse_lower_watermark()
        """,
        "GRANT SELECT ON headcount.watermarks TO headcount_analyst",
    ])
}
