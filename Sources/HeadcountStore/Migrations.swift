/// The versioned schema of `headcount`, applied in order and recorded in
/// `headcount.schema_migrations`.
///
/// A migration, once released, is never edited: a change is a new version. Every
/// statement is written to be safe to run under the migration lock exactly once.
enum Migrations {
    struct Migration: Sendable {
        let version: Int
        let name: String
        let sql: [String]
    }

    static let all: [Migration] = [
        Migration(version: 1, name: "events, offsets and dead letters", sql: [
            """
            CREATE TABLE headcount.events (
                id              text        PRIMARY KEY,
                pipeline        text        NOT NULL,
                type            text        NOT NULL CHECK (type IN ('join', 'leave', 'heartbeat')),
                participant     text        NOT NULL,
                session         text        NOT NULL,
                at              timestamptz NOT NULL,
                source          text        NOT NULL,
                kafka_partition integer     NOT NULL,
                kafka_offset    bigint      NOT NULL,
                stored_at       timestamptz NOT NULL DEFAULT now()
            )
            """,
            "COMMENT ON TABLE headcount.events IS 'Every distinct event accepted, first version of each id (COUNTING.md section 1).'",
            """
            CREATE TABLE headcount.partition_progress (
                pipeline        text        NOT NULL,
                topic           text        NOT NULL,
                kafka_partition integer     NOT NULL,
                next_offset     bigint      NOT NULL,
                max_event_at    timestamptz,
                updated_at      timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (pipeline, topic, kafka_partition)
            )
            """,
            """
            COMMENT ON TABLE headcount.partition_progress IS
            'Per Kafka partition: the next offset to process, stored in the same transaction as the events it covers, and the largest event time processed (for the watermark).'
            """,
            """
            CREATE TABLE headcount.dead_letters (
                seq             bigserial   PRIMARY KEY,
                pipeline        text        NOT NULL,
                topic           text        NOT NULL,
                kafka_partition integer     NOT NULL,
                kafka_offset    bigint      NOT NULL,
                event_id        text,
                reason          text        NOT NULL,
                message         text        NOT NULL,
                raw             bytea       NOT NULL,
                received_at     timestamptz NOT NULL DEFAULT now(),
                UNIQUE (topic, kafka_partition, kafka_offset)
            )
            """,
            "COMMENT ON TABLE headcount.dead_letters IS 'Messages that can never be counted, with the reason; nothing accepted is lost.'",
            """
            CREATE TABLE headcount.retention_gaps (
                pipeline             text        NOT NULL,
                topic                text        NOT NULL,
                kafka_partition      integer     NOT NULL,
                first_missing_offset bigint      NOT NULL,
                last_missing_offset  bigint      NOT NULL,
                detected_at          timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (pipeline, topic, kafka_partition, first_missing_offset),
                CHECK (last_missing_offset >= first_missing_offset)
            )
            """,
            """
            COMMENT ON TABLE headcount.retention_gaps IS
            'Offsets deleted by Kafka retention before any worker processed them: events lost before counting. Buckets they can affect cannot be certified as complete.'
            """,
            """
            CREATE TABLE headcount.presence (
                pipeline         text           NOT NULL,
                participant      text           NOT NULL,
                kafka_partition  integer        NOT NULL,
                intervals        int8multirange NOT NULL,
                unique_bucket    integer,
                qualified_bucket integer,
                updated_at       timestamptz    NOT NULL DEFAULT now(),
                PRIMARY KEY (pipeline, participant)
            )
            """,
            """
            COMMENT ON TABLE headcount.presence IS
            'P(p) of every participant (COUNTING.md section 2) as half-open ranges of Unix milliseconds, kept by the worker that owns the participant''s partition; unique_bucket and qualified_bucket are the first buckets at whose end p is unique or qualified.'
            """,
            """
            CREATE TABLE headcount.bucket_contributions (
                seq            bigserial PRIMARY KEY,
                pipeline       text      NOT NULL,
                bucket         integer   NOT NULL,
                active_delta   bigint    NOT NULL,
                unique_delta   bigint    NOT NULL,
                qualified_delta bigint   NOT NULL
            )
            """,
            "CREATE INDEX bucket_contributions_pipeline ON headcount.bucket_contributions (pipeline, bucket)",
            """
            COMMENT ON TABLE headcount.bucket_contributions IS
            'Append-only changes of active (in that bucket) and of unique and qualified (from that bucket on), one row per bucket per committed batch; their sums are the bucket numbers.'
            """,
            """
            CREATE TABLE headcount.peak_changes (
                seq      bigserial PRIMARY KEY,
                pipeline text      NOT NULL,
                at_ms    bigint    NOT NULL,
                delta    bigint    NOT NULL
            )
            """,
            "CREATE INDEX peak_changes_pipeline ON headcount.peak_changes (pipeline, at_ms)",
            """
            COMMENT ON TABLE headcount.peak_changes IS
            'Append-only +/-1 change points of concurrent presence in Unix milliseconds; peak of a bucket is the highest prefix sum inside it.'
            """,
        ]),
        certification,
        pipelineKeys,
        membershipChanges,
        qualificationChanges,
        watermarks,
        sustainedPeak,
        workerHeartbeats,
        rehearsal,
        openTails,
    ]
}
