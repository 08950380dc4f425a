extension Migrations {
    /// Version 9: which worker consumer owns which partitions, as each worker reports it.
    ///
    /// `headcount status` and the dashboard list the live workers from here. Kafka's group
    /// coordinator knows the same membership, but librdkafka 2.0.2's mock cluster (the dev
    /// broker) answers neither ListGroups nor DescribeGroups, and only a worker knows its host,
    /// pid and when it last stored: so each worker writes its own rows, on every change of its
    /// partitions and every few seconds, and a row not refreshed for a while is a dead worker.
    static let workerHeartbeats = Migration(version: 9, name: "worker heartbeats", sql: [
        """
        CREATE TABLE headcount.worker_heartbeats (
            pipeline       text        NOT NULL,
            worker         text        NOT NULL,
            host           text        NOT NULL,
            pid            integer     NOT NULL,
            consumer       integer     NOT NULL,
            partitions     integer[]   NOT NULL DEFAULT '{}',
            started_at     timestamptz NOT NULL DEFAULT now(),
            partitions_at  timestamptz NOT NULL DEFAULT now(),
            last_seen      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (pipeline, worker)
        )
        """,
        """
        COMMENT ON TABLE headcount.worker_heartbeats IS
        'Per worker consumer (worker = host/pid/consumer index): the partitions it owns as it last reported, written on every change and every few seconds; a row whose last_seen is old belongs to a worker that died. Rows are deleted on graceful shutdown.'
        """,
        "GRANT SELECT ON headcount.worker_heartbeats TO headcount_analyst",
    ])
}
