import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
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

    /// Whether the stored chain is a rehearsal's: its first row decides, as its genesis
    /// hash covers the mark (the reporter never continues a chain of the other kind).
    var rehearsal: Bool { first?.rehearsal ?? false }

    /// The pipeline as this chain's genesis hash binds it.
    func canonicalForm(of pipeline: Pipeline) -> PipelineCanonicalForm {
        PipelineCanonicalForm(id: pipeline.id, title: pipeline.title, rules: pipeline.rules, spec: spec, rehearsal: rehearsal)
    }
}
