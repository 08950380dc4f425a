import HeadcountStore
import Logging

extension PresenceKeeper {
    /// Stores a batch with the presence changes it derives, after bringing the engine to the
    /// stored state of the batch's partitions as of the offsets the batch continues from.
    ///
    /// The derived rows (presence, contributions, qualification changes) are differences from
    /// the engine's previous state of each participant, which the reporter has already summed
    /// from earlier rows: they are right only if that state is exactly what the store holds.
    /// The commit's fence checks the stored offsets, so the engine must hold the stored events
    /// as of those same offsets. A partition's events are therefore read together with its
    /// stored offset, in one snapshot (`partitionContents`), and checked against the offset
    /// the batch expects: read at another moment, a batch the previous owner committed in
    /// between (a zombie, a batch finishing after its revoke, a retry after PostgreSQL came
    /// back) would be in the stored offsets but not in the engine, and counted again.
    ///
    /// - Throws: `.fenced` when the store has moved a partition past the batch's offsets
    ///   (the commit would be fenced too); any error of the store.
    func store(_ polled: EventBatch, in store: EventStore, owned: Set<Int32>, logger: Logger) async throws(StoreError) -> BatchOutcome {
        keepOnly(owned)
        let stale = self.stale(polled.progress)
        if !stale.isEmpty {
            let contents = try await store.partitionContents(pipeline: polled.pipeline, topic: polled.topic, partitions: stale)
            load(contents, partitions: stale)
            logger.info("presence loaded", metadata: [
                "partitions": "\(stale)", "events": "\(contents.events.count)",
                "offsets": "\(stale.map { "\($0):\(contents.nextOffsets[$0].map(String.init) ?? "none")" })",
            ])
            let behind = self.stale(polled.progress)
            guard behind.isEmpty else {
                throw StoreError(
                    .fenced, "partitions \(behind) of \(polled.topic) were moved on in the store since this batch was read",
                    pipeline: polled.pipeline)
            }
        }
        var batch = polled
        classify(&batch)
        let outcome = try await store.commit(batch, derive: derive)
        committed(batch.progress)
        return outcome
    }
}
