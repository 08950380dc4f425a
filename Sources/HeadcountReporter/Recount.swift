import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountStore

/// The batch recount of COUNTING.md section 6 checked against what was certified.
///
/// Recomputes every bucket from all stored events with the batch engine (the same code the
/// workers' incremental engine shares), then checks, bucket by bucket: the stored hash
/// against the snapshot's fields, the chain link, the signature under the pipeline's public
/// key, and that the recounted numbers equal the certified ones or, where late events
/// changed them, the bucket's latest amendment; and that unique and qualified decrease from
/// one snapshot to the next only where an amendment of the earlier bucket explains it.
/// Anything else is a failure naming the bucket.
public enum Recount {
    public static func check(
        pipeline: Pipeline, events: [Event], snapshots: [StoredSnapshot], amendments: [StoredAmendment],
        publicKey: PublicKey, incomplete: [Int: String] = [:]
    ) -> RecountReport {
        let count = BatchCount(events: events, rules: pipeline.rules)
        let canonical = snapshots.canonicalForm(of: pipeline)
        // A v1 chain certified no sustained_peak: its rows and amendments read 0, and so must the recount.
        var recountedBuckets = count.buckets
        if !canonical.spec.hasSustainedPeak {
            for m in recountedBuckets.indices { recountedBuckets[m].sustainedPeak = 0 }
        }
        let amendmentsByBucket = Dictionary(grouping: amendments, by: \.bucket)
        let roots = QualifiedParticipant.roots(of: count.qualifiedParticipantList, bucketCount: min(snapshots.count, count.buckets.count))
        var report = RecountReport(pipeline: pipeline.id, events: events.count)
        var previousHash = canonical.genesisHash
        for (m, recounted) in recountedBuckets.enumerated() {
            var line = RecountReport.Line(bucket: m, recounted: recounted)
            line.amendments = amendmentsByBucket[m] ?? []
            line.incomplete = incomplete[m]
            if m < snapshots.count {
                let snapshot = snapshots[m]
                line.certified = snapshot.numbers
                line.problems = chainProblems(snapshot, position: m, previousHash: previousHash, canonical: canonical, publicKey: publicKey)
                line.problems += numberProblems(line, root: roots[m], sealedRoot: snapshot.participantsRoot)
                if m > 0, let reason = SnapshotChain.unexplainedDecrease(
                    snapshot.numbers, after: snapshots[m - 1].numbers, corrections: (amendmentsByBucket[m - 1] ?? []).map(\.corrected)) {
                    line.problems.append(reason)
                }
                previousHash = snapshot.hash
            } else if !line.amendments.isEmpty {
                line.problems.append("amendments exist for a bucket that is not sealed")
            }
            report.lines.append(line)
        }
        for snapshot in snapshots.dropFirst(count.buckets.count) {
            report.unexpected.append("bucket \(snapshot.bucket) is sealed but the window has only \(count.buckets.count) buckets")
        }
        return report
    }

    /// Hash, link and signature of one stored snapshot, recomputed from its fields.
    static func chainProblems(
        _ snapshot: StoredSnapshot, position: Int, previousHash: String, canonical: PipelineCanonicalForm, publicKey: PublicKey
    ) -> [String] {
        var problems: [String] = []
        if snapshot.bucket != position { problems.append("stored as bucket \(snapshot.bucket) where bucket \(position) was due") }
        if snapshot.numbers.bucketStart != canonical.rules.bucketStart(position) {
            problems.append("bucket_start \(snapshot.numbers.bucketStart) is not the bucket's start")
        }
        let payload = snapshot.payload
        if snapshot.spec != canonical.spec { problems.append("sealed under \(snapshot.spec.rawValue), unlike bucket 0 (\(canonical.spec.rawValue))") }
        if payload.hash != snapshot.hash { problems.append("the stored hash is not the hash of the stored fields (a field was changed)") }
        if snapshot.prevHash != previousHash {
            problems.append(position == 0 ? "prev_hash is not the pipeline's genesis hash" : "prev_hash is not the hash of bucket \(position - 1)")
        }
        if !publicKey.isValidSignature(snapshot.signature, forHash: snapshot.hash) {
            problems.append("the signature does not verify under the pipeline's public key")
        }
        return problems
    }

    /// Recounted numbers against the certified ones or the latest amendment.
    static func numberProblems(_ line: RecountReport.Line, root: String, sealedRoot: String) -> [String] {
        guard let certified = line.certified else { return [] }
        var problems: [String] = []
        for amendment in line.amendments where amendment.certified != certified {
            problems.append("amendment \(amendment.sequence) states certified numbers that are not the sealed ones")
        }
        let expected = line.amendments.last?.corrected ?? certified
        if line.recounted != expected {
            let against = line.amendments.isEmpty ? "certified" : "the latest amendment's"
            problems.append("recounted \(RecountReport.text(line.recounted)) differ from \(against) \(RecountReport.text(expected)) and no amendment explains it")
        } else if line.amendments.isEmpty, root != sealedRoot {
            // Without amendments the qualified set itself must be the one certified.
            problems.append("participants_root differs from the recounted qualified participants")
        }
        return problems
    }
}
