import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountStore

/// Builds the certificate of a pipeline from what the reporter stored.
public enum CertificateAssembly {
    /// The certificate of everything sealed so far: snapshots as stored, amendments in
    /// recorded order, incomplete flags (see `IncompleteBuckets`), and the participants as
    /// the seals covered them (not as presence says now, which late events may have moved).
    public static func certificate(
        pipeline: Pipeline, publicKey: PublicKey, snapshots: [StoredSnapshot], amendments: [StoredAmendment],
        gaps: [RetentionGap], participants: [CertifiedParticipant]
    ) -> Certificate {
        // A chain sealed before spec v2 stays a v1 certificate: its hashes cover no sustained_peak.
        var certificate = Certificate(
            pipeline: snapshots.canonicalForm(of: pipeline),
            publicKey: publicKey, snapshots: snapshots.map(\.certified),
            amendments: amendments.map {
                Amendment(bucket: $0.bucket, certified: $0.certified, corrected: $0.corrected, reason: $0.reason, events: $0.events)
            },
            incomplete: IncompleteBuckets.flags(snapshots: snapshots, gaps: gaps),
            participants: participants.map { QualifiedParticipant(key: $0.participant, bucket: $0.bucket, changes: $0.changes) },
            utcOffsetMinutes: pipeline.utcOffsetMinutes)
        certificate.audience = pipeline.audience
        certificate.sealedAt = Dictionary(uniqueKeysWithValues: snapshots.map { ($0.bucket, $0.sealedAt) })
        return certificate
    }

    /// Reads everything from the store and builds the certificate.
    public static func load(store: EventStore, pipeline: Pipeline, publicKey: PublicKey) async throws -> Certificate {
        certificate(
            pipeline: pipeline, publicKey: publicKey,
            snapshots: try await store.storedSnapshots(pipeline: pipeline.id),
            amendments: try await store.storedAmendments(pipeline: pipeline.id),
            gaps: try await store.retentionGaps(pipeline: pipeline.id),
            participants: try await store.certifiedParticipants(pipeline: pipeline.id))
    }
}
