import HeadcountStore

/// Who the last sealed root covers, and who an earlier root covered but the last does not:
/// what tells a seal which participants to record (docs/certificate.md, "Decreases").
struct CertifiedMembership: Sendable {
    /// The participants of the last sealed root.
    private(set) var members: Set<String> = []
    /// Participants an earlier root covered and the last one does not (a late leave took
    /// them below Q); usually empty.
    private(set) var former: Set<String> = []

    init() {}

    /// From the stored records: a participant is in the last root when it changed an even
    /// number of times.
    init(_ certified: [CertifiedParticipant]) {
        for participant in certified {
            if participant.changes.count.isMultiple(of: 2) { members.insert(participant.participant) } else { former.insert(participant.participant) }
        }
    }

    /// How the root of `qualified` (the participants qualified at the bucket's end) differs
    /// from the last one: first-time participants, and those whose membership changes.
    func difference(to qualified: [String]) -> (newcomers: [String], changed: [String]) {
        let entering = qualified.filter { !members.contains($0) }
        var leaving: [String] = []
        // |qualified| = |kept| + |entering| and |members| = |kept| + |leaving|: build a set
        // of the (large) qualified list only when somebody actually left.
        if members.count + entering.count != qualified.count {
            let now = Set(qualified)
            leaving = members.filter { !now.contains($0) }
        }
        let returning = entering.filter { former.contains($0) }
        let newcomers = returning.isEmpty ? entering : entering.filter { !former.contains($0) }
        return (newcomers, leaving + returning)
    }

    /// The same as `difference(to:)` when the caller already knows who enters the root
    /// (`entering`: not in the last root) and who leaves it: no pass over the whole set.
    func difference(entering: [String], leaving: [String]) -> (newcomers: [String], changed: [String]) {
        let returning = entering.filter { former.contains($0) }
        let newcomers = returning.isEmpty ? entering : entering.filter { !former.contains($0) }
        return (newcomers, leaving + returning)
    }

    /// Moves to the root of `qualified`, given its `difference`.
    mutating func advance(newcomers: [String], changed: [String]) {
        members.formUnion(newcomers)
        for participant in changed {
            if members.remove(participant) != nil {
                former.insert(participant)
            } else {
                former.remove(participant)
                members.insert(participant)
            }
        }
    }
}
