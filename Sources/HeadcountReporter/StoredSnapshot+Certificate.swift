import HeadcountCertificate
import HeadcountCore
import HeadcountStore

extension StoredSnapshot {
    /// The counting spec the row was sealed under: v1 rows have no `sustained_peak`.
    var spec: PipelineCanonicalForm.Spec { certifiesSustainedPeak ? .v2 : .v1 }

    /// The hashed fields exactly as sealed.
    var payload: SnapshotPayload {
        SnapshotPayload(pipeline: pipeline, numbers: numbers, participantsRoot: participantsRoot, prevHash: prevHash, spec: spec)
    }

    /// The row as the certificate module checks and publishes it.
    var certified: CertifiedSnapshot {
        CertifiedSnapshot(payload: payload, hash: hash, signature: signature)
    }
}

extension Array where Element == StoredSnapshot {
    /// The spec a stored chain was sealed under (its first row decides; a chain is never
    /// mixed, since the genesis hash binds the spec); v2 for an empty chain.
    var spec: PipelineCanonicalForm.Spec { first?.spec ?? .v2 }
}
