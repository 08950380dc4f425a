import Kafka
import Logging
import ServiceLifecycle
import Synchronization

/// Whether the producer reaches the brokers now: `/health/ready`, and the reason a request
/// is refused with 503 at once rather than after its produce deadline.
///
/// A `Service`: `run()` probes the brokers' metadata over the producer's connections every
/// `interval`; every produce outcome also updates the answer at once.
public final class BrokerReadiness: Service, Sendable {
    private let ready = Atomic(false)
    private let probe: @Sendable () async -> Bool
    private let interval: Duration
    private let logger: Logger

    /// Readiness probed through `producer`, every `interval` (default 1 s).
    public convenience init(producer: KafkaProducer, interval: Duration = .seconds(1), logger: Logger) {
        self.init(interval: interval, logger: logger) {
            do {
                try await producer.checkBrokersReachable(timeout: interval)
                return true
            } catch {
                return false
            }
        }
    }

    /// Readiness from any probe (tests use a switch).
    public init(interval: Duration = .seconds(1), logger: Logger, probe: @escaping @Sendable () async -> Bool) {
        self.interval = interval
        self.logger = logger
        self.probe = probe
    }

    public var isReady: Bool { ready.load(ordering: .relaxed) }

    /// Records what a produce or a probe just found.
    public func record(reachable: Bool) {
        let before = ready.exchange(reachable, ordering: .relaxed)
        if before != reachable {
            logger.notice(reachable ? "brokers reachable: ready" : "brokers unreachable: not ready, requests get 503")
        }
    }

    /// Probes once now (start-up, tests).
    public func probeNow() async {
        record(reachable: await probe())
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.probeNow()
                try? await Task.sleep(for: self.interval)
            }
        }
    }
}
