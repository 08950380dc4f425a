import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// Serves the process's metrics in the Prometheus text format at `GET /metrics`.
///
/// A ServiceLifecycle `Service`; the metrics themselves are recorded through swift-metrics
/// anywhere in the process once `bootstrapMetrics()` installed the Prometheus backend.
public struct MetricsServer: Service {
    /// Where the endpoint listens; default 127.0.0.1.
    public var host: String
    /// The port; 0 picks a free one (reported through `onListening`).
    public var port: Int
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void

    public init(
        host: String = "127.0.0.1", port: Int, registry: PrometheusCollectorRegistry, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.registry = registry
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let router = Router()
        let registry = registry
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("health") { _, _ in "ok" }
        let onListening = onListening
        let application = Application(
            router: router, configuration: .init(address: .hostname(host, port: port)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await application.runService()
    }

    /// Installs a Prometheus registry as the swift-metrics backend, once per process.
    public static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
