import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// A long-running process's operational endpoints: `GET /metrics` (the Prometheus text
/// format), `GET /health/live` and `GET /health/ready` (`HealthRoutes`).
///
/// `application(…)` is a Hummingbird `Application`, itself a ServiceLifecycle `Service`: the
/// process puts it in its own `ServiceGroup` beside the worker or the reporter, so one
/// graceful shutdown stops them all. The metrics are recorded through swift-metrics anywhere
/// in the process once `bootstrapMetrics()` installed the Prometheus backend.
public enum MetricsServer {
    /// The endpoints on `host:port` (port 0 picks a free one, reported through `onListening`).
    public static func application(
        host: String = "127.0.0.1", port: Int, registry: PrometheusCollectorRegistry, health: HealthRoutes, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol & Service {
        Application(
            router: Self.router(registry: registry, health: health),
            configuration: .init(address: .hostname(host, port: port), serverName: "headcount"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// The routes alone, for tests without sockets (`HummingbirdTesting`'s `.router`).
    public static func router(registry: PrometheusCollectorRegistry, health: HealthRoutes) -> Router<BasicRequestContext> {
        let router = Router()
        addMetrics(to: router, registry: registry)
        health.add(to: router)
        return router
    }

    /// `GET /metrics` on any router (the dashboard serves it beside its page).
    public static func addMetrics<Context: RequestContext>(to router: Router<Context>, registry: PrometheusCollectorRegistry) {
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    /// Installs a Prometheus registry as the swift-metrics backend, once per process.
    public static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
