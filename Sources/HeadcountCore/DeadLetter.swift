/// An input event that is not counted, with its position in the input and the reason.
public struct DeadLetter: Hashable, Sendable, CustomStringConvertible {
    /// 0-based position in the batch that was handed to the engine.
    public var index: Int
    public var rejection: EventRejection

    public init(index: Int, rejection: EventRejection) {
        self.index = index
        self.rejection = rejection
    }

    public var description: String { "event \(index): \(rejection)" }
}

extension DeadLetter {
    static func outsideWindow(_ index: Int, _ event: Event) -> DeadLetter {
        DeadLetter(index: index, rejection: EventRejection(
            .impossibleTimestamp, "at \(event.at) is outside [window start − 1 day, window end + 1 day]"))
    }

    static func conflicting(_ index: Int, _ event: Event) -> DeadLetter {
        DeadLetter(index: index, rejection: EventRejection(
            .conflictingDuplicate, "an event with the same id and different content was accepted first"))
    }
}
