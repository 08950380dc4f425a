internal import CRdKafka
import Dispatch
import Logging
import ServiceLifecycle

extension KafkaProducer {
    /// Runs `body` with a producer whose delivery reports are served meanwhile; every send
    /// in `body` has been acknowledged when it returns.
    public static func withRunning<T: Sendable>(
        configuration: KafkaProducerConfiguration, logger: Logger,
        _ body: @Sendable (KafkaProducer) async throws -> T
    ) async throws -> T {
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            return try await body(producer)
        }
    }
}

extension KafkaProducer {
    /// Serves delivery reports until graceful shutdown or cancellation, then flushes.
    ///
    /// Shutdown refuses new sends, waits up to `shutdownFlushTimeout` for outstanding messages,
    /// and fails (purges) whatever is still outstanding after that, so no sender waits forever.
    ///
    /// - Throws: `KafkaError` if `run()` was already started, or with code `.timedOut` when
    ///   messages had to be purged at shutdown.
    public func run() async throws {
        let started = phase.withLock { phase in
            guard phase == .idle else { return false }
            phase = .running
            return true
        }
        guard started else {
            throw KafkaError(code: .state, message: "KafkaProducer.run() may only be called once", isRetriable: false)
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await servePolls()
            } onGracefulShutdown: {
                self.stopPolling.store(true, ordering: .relaxed)
            }
        } onCancel: {
            self.stopPolling.store(true, ordering: .relaxed)
        }
        phase.withLock { $0 = .finished }
        try await flushAtShutdown()
    }

    /// Blocks the polling thread in `rd_kafka_poll` until asked to stop.
    private func servePolls() async {
        // The short timeout bounds how long shutdown waits for the loop to notice the flag.
        await pollQueue.runBlockingNonThrowing { [self] in
            while !stopPolling.load(ordering: .relaxed) {
                rd_kafka_poll(client.pointer, 100)
            }
        }
    }

    /// Flushes, and purges what the timeout left so that every waiting sender gets an answer.
    private func flushAtShutdown() async throws {
        let client = client
        let timeout = configuration.shutdownFlushTimeout
        let leftover = await pollQueue.runBlockingNonThrowing { () -> Int32 in
            guard rd_kafka_flush(client.pointer, timeout.timeoutMilliseconds) != RD_KAFKA_RESP_ERR_NO_ERROR else {
                return 0
            }
            let leftover = rd_kafka_outq_len(client.pointer)
            rd_kafka_purge(client.pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            // Purged messages report through the delivery callback, which only polling serves.
            rd_kafka_flush(client.pointer, 1_000)
            return leftover
        }
        guard leftover == 0 else {
            let error = KafkaError(
                code: .timedOut,
                message: "\(leftover) messages were not acknowledged within \(timeout) of shutdown and were purged"
            )
            logger.error("KafkaProducer shutdown: \(error)")
            throw error
        }
        logger.debug("KafkaProducer flushed and stopped")
    }
}

extension DispatchQueue {
    /// Runs a blocking call that cannot fail on this queue and waits for it off the cooperative pool.
    func runBlockingNonThrowing<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            self.async { continuation.resume(returning: body()) }
        }
    }
}
