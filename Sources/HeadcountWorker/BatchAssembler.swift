import HeadcountCore
import HeadcountPipeline
import HeadcountStore
import Kafka

/// Turns one polled batch of Kafka messages into what the store commits: valid events,
/// dead letters with reasons, and each partition's progress.
///
/// Pure apart from the processing clock it is given, so it is tested without Kafka.
struct BatchAssembler {
    let pipeline: Pipeline
    /// An event more than this far ahead of the processing clock is `from_the_future`
    /// (COUNTING.md section 1): it would drag the watermark forward.
    static let futureTolerance = Duration.seconds(300)

    /// - Parameters:
    ///   - expected: the stored next offset of each owned partition; messages from other
    ///     partitions (revoked meanwhile) or below the stored offset (already stored) are left out.
    ///   - now: the processing clock.
    func assemble(
        _ messages: [KafkaConsumerMessage], expected: (Int32) -> Int64??, now: Instant
    ) -> EventBatch {
        var events: [PositionedEvent] = []
        var deadLetters: [DeadLetterMessage] = []
        var progress: [Int32: PartitionProgress] = [:]
        var gaps: [RetentionGap] = []
        events.reserveCapacity(messages.count)
        for message in messages {
            guard let stored = expected(message.partition) else { continue }
            if let stored, message.offset < stored { continue }
            let continuesFrom = progress[message.partition]?.nextOffset ?? stored ?? 0
            if message.offset > continuesFrom {
                // The topic's offsets are contiguous (no compaction, no transactions), so a
                // jump means retention deleted messages before anyone processed them.
                gaps.append(RetentionGap(partition: message.partition, firstMissingOffset: continuesFrom, lastMissingOffset: message.offset - 1))
            }
            var item = progress[message.partition]
                ?? PartitionProgress(partition: message.partition, expectedNextOffset: stored, nextOffset: message.offset, maxEventAt: nil)
            item.nextOffset = max(item.nextOffset, message.offset + 1)
            switch validate(message, now: now) {
            case .success(let event):
                events.append(PositionedEvent(event: event, partition: message.partition, offset: message.offset))
                item.maxEventAt = max(item.maxEventAt ?? event.at, event.at)
            case .failure(let failure):
                deadLetters.append(DeadLetterMessage(
                    partition: message.partition, offset: message.offset, eventID: failure.eventID,
                    rejection: failure.rejection, raw: message.value))
            }
            progress[message.partition] = item
        }
        var batch = EventBatch(
            pipeline: pipeline.id, topic: pipeline.kafka.topic, events: events, deadLetters: deadLetters,
            progress: progress.values.sorted { $0.partition < $1.partition }, gaps: gaps)
        batch.processedAt = now
        return batch
    }

    struct Failure: Error {
        var rejection: EventRejection
        var eventID: String?
    }

    func validate(_ message: KafkaConsumerMessage, now: Instant) -> Result<Event, Failure> {
        let event: Event
        do {
            event = try CanonicalEvent.decode(message.value)
        } catch {
            return .failure(Failure(rejection: error, eventID: nil))
        }
        guard event.pipeline == pipeline.id else {
            return .failure(Failure(
                rejection: EventRejection(.unknownPipeline, "event for pipeline \"\(event.pipeline.prefix(100))\" on the topic of \"\(pipeline.id)\""),
                eventID: event.id))
        }
        guard pipeline.rules.acceptsEventTime(event.at) else {
            return .failure(Failure(
                rejection: EventRejection(.impossibleTimestamp, "at \(event.at) is outside the window ±1 day"),
                eventID: event.id))
        }
        guard event.at <= now + Self.futureTolerance else {
            return .failure(Failure(
                rejection: EventRejection(.fromTheFuture, "at \(event.at) is more than 5 minutes ahead of processing time \(now)"),
                eventID: event.id))
        }
        return .success(event)
    }
}
