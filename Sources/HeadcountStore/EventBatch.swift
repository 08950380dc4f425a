import HeadcountCore

/// An event as it came off Kafka: the event and where it was read.
public struct PositionedEvent: Sendable, Hashable {
    public var event: Event
    public var partition: Int32
    public var offset: Int64

    public init(event: Event, partition: Int32, offset: Int64) {
        self.event = event
        self.partition = partition
        self.offset = offset
    }
}

/// A message that can never be counted, kept whole with the reason (nothing accepted is lost).
public struct DeadLetterMessage: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
    /// The event id, when the message got far enough to have one.
    public var eventID: String?
    public var rejection: EventRejection
    /// The message exactly as it arrived.
    public var raw: [UInt8]

    public init(partition: Int32, offset: Int64, eventID: String?, rejection: EventRejection, raw: [UInt8]) {
        self.partition = partition
        self.offset = offset
        self.eventID = eventID
        self.rejection = rejection
        self.raw = raw
    }
}

/// How far one partition has been processed, committed with the batch that got it there.
public struct PartitionProgress: Sendable, Hashable {
    public var partition: Int32
    /// The stored `next_offset` this batch continues from; nil when nothing was stored yet.
    ///
    /// The commit checks it under a row lock: if another worker has moved the partition on
    /// since (a rebalance left this worker behind), the whole batch is refused as fenced.
    public var expectedNextOffset: Int64?
    /// The offset of the first message not covered by this batch.
    public var nextOffset: Int64
    /// The largest event time processed on the partition in this batch, if any.
    public var maxEventAt: Instant?

    public init(partition: Int32, expectedNextOffset: Int64?, nextOffset: Int64, maxEventAt: Instant?) {
        self.partition = partition
        self.expectedNextOffset = expectedNextOffset
        self.nextOffset = nextOffset
        self.maxEventAt = maxEventAt
    }
}

/// Offsets of a partition that retention deleted before anyone processed them.
public struct RetentionGap: Sendable, Hashable {
    public var partition: Int32
    public var firstMissingOffset: Int64
    public var lastMissingOffset: Int64

    public init(partition: Int32, firstMissingOffset: Int64, lastMissingOffset: Int64) {
        self.partition = partition
        self.firstMissingOffset = firstMissingOffset
        self.lastMissingOffset = lastMissingOffset
    }

    /// How many messages were lost.
    public var count: Int64 { lastMissingOffset - firstMissingOffset + 1 }
}

/// Everything one polled batch stores, in one transaction.
public struct EventBatch: Sendable {
    public var pipeline: String
    public var topic: String
    public var events: [PositionedEvent]
    /// How many of `events`, from the start, the worker believes new: first occurrences in
    /// the batch whose ids it has not seen on its partitions. Default 0: none.
    ///
    /// Only a hint for speed, never for correctness: the store writes these straight into the
    /// events table with COPY, and if PostgreSQL finds any id already stored, it stores the
    /// whole batch the careful way instead (staging, `ON CONFLICT`, the conflict check).
    public var freshEventCount: Int = 0
    public var deadLetters: [DeadLetterMessage]
    public var progress: [PartitionProgress]
    /// Offsets skipped because retention deleted them, recorded with the batch that skips them.
    public var gaps: [RetentionGap]
    /// The processing time the batch was assembled at (the worker's clock), stamped as the
    /// partitions' `updated_at` so the watermark's idle test compares one clock with itself,
    /// also under a rehearsal clock; nil: the database's `now()`.
    public var processedAt: Instant?

    public init(
        pipeline: String, topic: String, events: [PositionedEvent], deadLetters: [DeadLetterMessage],
        progress: [PartitionProgress], gaps: [RetentionGap] = []
    ) {
        self.pipeline = pipeline
        self.topic = topic
        self.events = events
        self.deadLetters = deadLetters
        self.progress = progress
        self.gaps = gaps
    }
}

/// What committing a batch did.
public struct BatchOutcome: Sendable, Hashable {
    /// Events stored for the first time.
    public var inserted: Int
    /// Events whose id was already stored with the same content (retried webhooks, replays).
    public var duplicates: Int
    /// Events whose id was already stored with different content: dead-lettered.
    public var conflictingDuplicates: Int
    /// Messages dead-lettered by the caller (invalid, unknown pipeline, …).
    public var deadLetters: Int
    /// Events PostgreSQL refused, isolated from the batch and dead-lettered.
    public var rejected: Int

    public init(inserted: Int, duplicates: Int, conflictingDuplicates: Int, deadLetters: Int, rejected: Int = 0) {
        self.inserted = inserted
        self.duplicates = duplicates
        self.conflictingDuplicates = conflictingDuplicates
        self.deadLetters = deadLetters
        self.rejected = rejected
    }
}
