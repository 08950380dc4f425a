import HeadcountCore
import HeadcountStore
import Logging
import ServiceLifecycle
import Synchronization

/// `headcount report`: seals a pipeline's buckets into the signed hash chain and records
/// amendments when late events change sealed buckets (COUNTING.md sections 4 and 5).
///
/// Any number of reporters may run; one seals at a time. Each holds its own PostgreSQL
/// session and polls `pg_try_advisory_lock` while standing by; the lock belongs to the
/// session, so when the active reporter dies or loses its connection the server releases it
/// and a standby takes over within `standbyInterval`. Every write of the active reporter goes
/// through that same session, and the snapshots' primary key refuses a second seal of a
/// bucket in any case.
///
/// Graceful shutdown lets the round in flight commit, then releases the lock by closing the
/// session.
public final class Reporter: Service, Sendable {
    public let configuration: ReporterConfiguration
    private let url: DatabaseURL
    private let highWatermarks: any HighWatermarkSource
    private let logger: Logger
    private let state = Mutex(ReporterStatus())

    /// - Parameter highWatermarks: where each round reads what Kafka holds for the pipeline's
    ///   topic (`KafkaHighWatermarkSource` in production), before it reads the stored progress.
    public init(configuration: ReporterConfiguration, url: DatabaseURL, highWatermarks: any HighWatermarkSource, logger: Logger) {
        self.configuration = configuration
        self.url = url
        self.highWatermarks = highWatermarks
        self.logger = logger
    }

    /// What the reporter is doing now.
    public var status: ReporterStatus { state.withLock { $0 } }

    public func run() async throws {
        let stopping = Atomic(false)
        try await withGracefulShutdownHandler {
            var delay = configuration.retryDelay
            while !stopping.load(ordering: .relaxed), !Task.isCancelled {
                let roundsBefore = status.rounds
                do {
                    try await serve { stopping.load(ordering: .relaxed) }
                } catch {
                    let (failure, retriable) = Self.classify(error, pipeline: configuration.pipeline.id)
                    guard retriable else {
                        state.withLock { $0.role = .stopped }
                        logger.critical("reporter stopped: retrying cannot help", metadata: ["error": "\(failure)"])
                        throw failure
                    }
                    // The backoff starts again after a session that sealed.
                    if status.rounds > roundsBefore { delay = configuration.retryDelay }
                    state.withLock { $0.role = .standby }
                    logger.error("reporter round failed; retrying", metadata: ["error": "\(failure)", "retryIn": "\(delay)"])
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, configuration.maximumRetryDelay)
                }
            }
        } onGracefulShutdown: {
            stopping.store(true, ordering: .relaxed)
        }
        state.withLock { $0.role = .stopped }
    }

    /// Errors classified once: a `ReporterError` says itself whether retrying can help;
    /// anything else came from the store, and `StoreError` decides (a lost connection, a
    /// serialization failure or a deadlock: yes; anything else fails loudly).
    static func classify(_ error: any Error, pipeline: String) -> (error: any Error, retriable: Bool) {
        if let refusal = error as? ReporterError { return (refusal, refusal.isRetriable) }
        let failure = StoreError.wrapping(error, while: "sealing", pipeline: pipeline)
        return (failure, failure.isRetriable)
    }

    /// One session: stand by until the lock is ours, then seal round after round.
    private func serve(stopping: () -> Bool) async throws {
        let connection = try await SealingConnection.open(url: url, watchdog: configuration.watchdog, logger: logger)
        do {
            try await standBy(on: connection, stopping: stopping)
            let lockTaken = ContinuousClock.now
            var keyStored = try await checkPublicKey(on: connection)
            var sealer = Sealer(configuration: configuration)
            while !stopping(), !Task.isCancelled {
                let started = ContinuousClock.now
                logger.debug("sealing round starting")
                // Kafka first, the store after (section 4): a partition is caught up only if the
                // progress read later covers every message Kafka held when asked.
                let kafka = await highWatermarks.highWatermarks()
                let fence = try await connection.contributionFence()
                let outcome = try await round(on: connection, sealer: sealer, fence: fence, kafka: kafka, storingKey: !keyStored)
                keyStored = keyStored || (outcome.1.chain?.nextBucket ?? 0) > 0
                sealer = outcome.1
                record(outcome.0, sealer: sealer, took: ContinuousClock.now - started, sinceLock: ContinuousClock.now - lockTaken)
                logger.debug("sealing round done")
                try? await Task.sleep(for: configuration.roundInterval)
            }
            await connection.close()
        } catch {
            logger.debug("closing the reporter's session after an error", metadata: ["error": "\(error)"])
            await connection.close()
            logger.debug("closed the reporter's session")
            throw error
        }
    }

    /// One sealing round in its own transaction; the sealer it returns is kept only once
    /// that transaction committed. With `storingKey`, the pipeline's public key is written
    /// in the round that leaves the chain non-empty, so the key commits with the first seal.
    private func round(
        on connection: SealingConnection, sealer: Sealer, fence: ContributionFence, kafka: HighWatermarks, storingKey: Bool
    ) async throws -> (Sealer.Outcome, Sealer) {
        var next = sealer
        return try await connection.withRound(pipeline: configuration.pipeline.id) { round in
            let outcome = try await next.run(round, now: self.configuration.clock(), fence: fence, kafka: kafka)
            if storingKey, (next.chain?.nextBucket ?? 0) > 0 {
                try await round.storePublicKey(pipeline: self.configuration.pipeline.id, publicKey: self.publicKey)
            }
            return (outcome, next)
        }
    }

    private var publicKey: String { configuration.signingKey.publicKey.base64 }

    /// Refuses to seal with another key than the one the pipeline's chain is signed with;
    /// true when the pipeline's key is already stored.
    private func checkPublicKey(on connection: SealingConnection) async throws -> Bool {
        guard let stored = try await connection.storedPublicKey(pipeline: configuration.pipeline.id) else { return false }
        guard stored == publicKey else {
            throw ReporterError(.keyMismatch, """
                pipeline \(configuration.pipeline.id) is sealed with public key \(stored), but this reporter's signing key \
                has public key \(publicKey): start it with the pipeline's key (a chain signed by two keys cannot be verified)
                """)
        }
        return true
    }

    private func standBy(on connection: SealingConnection, stopping: () -> Bool) async throws {
        state.withLock { $0.role = .standby }
        while !stopping(), !Task.isCancelled {
            if try await connection.tryLock(pipeline: configuration.pipeline.id) {
                state.withLock { $0.role = .active }
                logger.info("sealing lock taken: this reporter seals", metadata: ["pipeline": "\(configuration.pipeline.id)"])
                return
            }
            try? await Task.sleep(for: configuration.standbyInterval)
        }
    }

    private func record(_ outcome: Sealer.Outcome, sealer: Sealer, took: Duration, sinceLock: Duration) {
        let holding = outcome.reading.holding
        let before = state.withLock { status in
            defer {
                status.watermark = outcome.watermark
                status.holding = holding
            }
            return status.holding
        }
        // Logged when which partitions hold, or why, changes; not every round.
        if holding.map({ "\($0.partition) \($0.reason) \($0.offer == nil)" }) != before.map({ "\($0.partition) \($0.reason) \($0.offer == nil)" }) {
            logger.info("sealing waits for \(holding.count) partition(s)", metadata: [
                "watermark": "\(outcome.watermark.map(\.rfc3339) ?? "none yet")",
                "holding": "\(holding.prefix(5).map(\.description).joined(separator: " | "))",
            ])
        }
        state.withLock { status in
            status.sealedBuckets = sealer.chain?.nextBucket ?? 0
            status.rounds += 1
            status.amendments += outcome.amended.count
            status.sealedByThisReporter += outcome.sealed.count
            status.lastRound = took
        }
        if let last = outcome.sealed.last {
            // The round began by reading Kafka, which fixed the watermark that let these buckets
            // seal: its duration is the seal latency after the watermark (the rehearsal reads it).
            logger.info("sealed", metadata: [
                "buckets": "\(outcome.sealed.first!)…\(last)", "watermark": "\(outcome.watermark.map(\.rfc3339) ?? "none")",
                "roundMilliseconds": "\(took.wholeMilliseconds)", "sinceLockMilliseconds": "\(sinceLock.wholeMilliseconds)",
            ])
        }
        if !outcome.amended.isEmpty {
            logger.notice("late events amended sealed buckets", metadata: ["buckets": "\(outcome.amended)"])
        }
    }
}

/// A reporter's state, for tests, benchmarks and logs.
public struct ReporterStatus: Sendable, Hashable {
    public enum Role: Sendable, Hashable {
        case starting, standby, active, stopped
    }

    public var role: Role = .starting
    /// The watermark of the last round; nil while some partition has held sealing from the start.
    public var watermark: Instant?
    /// The partitions that kept it below processing time − L, the furthest back first.
    public var holding: [PartitionBound] = []
    /// Buckets sealed in the store, as of the last round.
    public var sealedBuckets = 0
    /// Buckets this reporter itself sealed.
    public var sealedByThisReporter = 0
    public var amendments = 0
    public var rounds = 0
    /// How long the last round took (transaction included).
    public var lastRound: Duration?
}
