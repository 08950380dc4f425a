import HeadcountCore
import HeadcountPipeline
import HeadcountStore

/// Why a sealed bucket was amended: which events its seal had not counted, whether they
/// reached Kafka in time, and whose presence in the bucket they changed.
///
/// A snapshot records the next offset it counted per partition, so the events it counted are
/// exactly the stored ones below those offsets; the counting engine over them gives the
/// presence the seal saw, the engine over every stored event the presence the amendment saw.
enum LiveFaultDiagnosis {
    struct Cause: CustomStringConvertible {
        var participant: String
        /// The participant's events the seal had not counted, with their lateness at Kafka.
        var uncounted: [(event: Event, acknowledgedAfter: Int64?)]
        var sealedPresence: Presence
        var finalPresence: Presence

        /// Whether every uncounted event reached Kafka within `lateness` of its time: then
        /// the amendment is not explained by lateness.
        func onTime(lateness: Int64) -> Bool {
            uncounted.allSatisfy { ($0.acknowledgedAfter ?? .max) <= lateness }
        }

        var description: String {
            let events = uncounted.map { "\($0.event.type.rawValue) \($0.event.session) at \($0.event.at.rfc3339) acknowledged +\($0.acknowledgedAfter.map(String.init) ?? "?") ms" }
            return "\(participant): sealed \(sealedPresence), final \(finalPresence); uncounted: \(events.joined(separator: "; "))"
        }
    }

    /// The participants whose presence inside bucket `m` differs between what its seal
    /// counted and every stored event.
    static func causes(
        bucket m: Int, snapshot: StoredSnapshot, stored: [PositionedEvent], rules: CountingRules, acknowledged: (String) -> Int64?
    ) -> [Cause] {
        let counted = stored.filter { $0.offset < (snapshot.seenOffsets[$0.partition] ?? 0) }
        var sealed = IncrementalCount(rules: rules, deduplication: .upstream)
        _ = sealed.ingest(counted.map(\.event))
        var all = IncrementalCount(rules: rules, deduplication: .upstream)
        _ = all.ingest(stored.map(\.event))
        let bucket = PresenceInterval(from: rules.bucketStart(m).milliseconds, to: rules.bucketEnd(m).milliseconds)
        // The S-second periods starting in the bucket run into the next one.
        let reach = PresenceInterval(from: bucket.from, to: bucket.to + rules.sustainedPeak.wholeMilliseconds)
        let countedIDs = Set(counted.map(\.event.id))
        let minimum = max(1, rules.minimumPresence.wholeMilliseconds)
        var causes: [Cause] = []
        for participant in Set(stored.map(\.event.participant)).sorted() {
            let before = sealed.presence(of: participant), after = all.presence(of: participant)
            guard clip(before, to: reach) != clip(after, to: reach)
                || (before.qualificationInstant(minimum: minimum).map { $0 <= bucket.to } ?? false)
                    != (after.qualificationInstant(minimum: minimum).map { $0 <= bucket.to } ?? false)
            else { continue }
            let uncounted = stored.map(\.event).filter { $0.participant == participant && !countedIDs.contains($0.id) }
                .map { event in (event, acknowledged(event.id).map { $0 - event.at.milliseconds }) }
            causes.append(Cause(participant: participant, uncounted: Array(uncounted), sealedPresence: before, finalPresence: after))
        }
        return causes
    }

    private static func clip(_ presence: Presence, to range: PresenceInterval) -> [PresenceInterval] {
        presence.intervals.compactMap { piece in
            let from = max(piece.from, range.from), to = min(piece.to, range.to)
            return from < to ? PresenceInterval(from: from, to: to) : nil
        }
    }
}
