import Foundation
import HeadcountAdapters
import HeadcountCore
import HeadcountPipeline
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// One pipeline as the ingest service serves it: its `ingest:` section and the secrets it names.
public struct IngestPipeline: Sendable {
    public let pipeline: Pipeline
    public let ingest: Pipeline.Ingest
    public let credentials: IngestCredentials

    public init(pipeline: Pipeline, ingest: Pipeline.Ingest, credentials: IngestCredentials) {
        self.pipeline = pipeline
        self.ingest = ingest
        self.credentials = credentials
    }

    /// Reads the secrets of a pipeline with an `ingest:` section; the error says which is missing.
    public init(pipeline: Pipeline, environment: [String: String] = ProcessInfo.processInfo.environment) throws(PipelineError) {
        guard let ingest = pipeline.ingest else {
            throw PipelineError(file: pipeline.id, field: "ingest", message: "the pipeline has no ingest: section, so no route would accept its events")
        }
        self.init(pipeline: pipeline, ingest: ingest, credentials: try IngestCredentials.load(for: ingest, environment: environment))
    }
}

/// The webhook receivers of every served pipeline, as one Hummingbird application.
///
/// `Application` is a ServiceLifecycle `Service`: `headcount ingest` runs it in one
/// `ServiceGroup` with the producer and the readiness probe, so SIGTERM stops intake first
/// and the producer flushes what was accepted.
public struct IngestService: Sendable {
    /// How long the producer lets a request's events wait for others to share a produce
    /// request. Each request is answered once its events are acknowledged, so the linger adds
    /// to every answer; but at 1 ms librdkafka's broker threads woke a thousand times a second
    /// and sent as many produce requests: a quarter of ingest's CPU in the live rehearsal
    /// (docs/rehearsal.md). Zoom waits 3 s for an answer.
    public static let producerLinger: Duration = .milliseconds(5)

    let pipelines: [String: IngestPipeline]
    let sink: any IngestSink
    let readiness: BrokerReadiness
    let clock: @Sendable () -> Instant
    let registry: PrometheusCollectorRegistry?
    let logger: Logger
    let metrics: IngestMetrics
    /// Per pipeline id: what Kafka already acknowledged, so retries are not produced twice.
    let acknowledged: [String: AcknowledgedEventIDs]

    /// - Parameters:
    ///   - clock: the ingest clock (event times more than 5 minutes ahead of it are refused,
    ///     Zoom timestamps more than 5 minutes off it too); default the system clock.
    ///   - registry: the Prometheus registry `/metrics` shows; nil serves no `/metrics`.
    ///   - rememberedIDs: acknowledged event ids remembered per pipeline to answer retries
    ///     without producing again; default 200,000 (about 30 MB with 70-byte ids).
    public init(
        pipelines: [IngestPipeline], sink: any IngestSink, readiness: BrokerReadiness,
        clock: @escaping @Sendable () -> Instant = IngestService.systemClock,
        registry: PrometheusCollectorRegistry? = nil, rememberedIDs: Int = 200_000, logger: Logger
    ) {
        self.pipelines = Dictionary(pipelines.map { ($0.pipeline.id, $0) }, uniquingKeysWith: { first, _ in first })
        acknowledged = self.pipelines.mapValues { _ in AcknowledgedEventIDs(generationSize: rememberedIDs) }
        metrics = IngestMetrics(pipelines: Array(self.pipelines.keys), routes: Self.routes.map { Self.metricsName(of: $0.path) })
        self.sink = sink
        self.readiness = readiness
        self.clock = clock
        self.registry = registry
        self.logger = logger
    }

    @Sendable public static func systemClock() -> Instant {
        Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// The application, listening where `configuration` says.
    public func application(
        configuration: ApplicationConfiguration,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(router: router(), configuration: configuration, onServerRunning: onServerRunning, logger: logger)
    }

    /// Every route: health, metrics and the pipelines' webhook paths.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RefusalMiddleware())
        router.get("health/live") { _, _ in IngestResponse.json(200, "{\"status\":\"live\"}") }
        let readiness = readiness
        router.get("health/ready") { _, _ in
            readiness.isReady
                ? IngestResponse.json(200, "{\"status\":\"ready\"}")
                : IngestResponse.refusal(IngestRefusal(.unavailable, "Kafka brokers are not reachable", where: "kafka"))
        }
        if let registry {
            router.get("metrics") { _, _ -> Response in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            }
        }
        for (path, adapter) in Self.routes {
            let name = Self.metricsName(of: path)
            router.post(RouterPath("v1/pipelines/:id/" + path)) { request, context in
                await self.handle(adapter, name: name, request: request, context: context)
            }
        }
        return router
    }

    /// The webhook paths under `/v1/pipelines/{id}/` and their adapters.
    static let routes: [(path: String, adapter: IngestAdapter)] = [
        ("events", .canonical), ("zoom", .zoom), ("webex", .webex), ("bbb", .bbb), ("cloudevents", .cloudevents),
        ("jitsi/events/occupant/joined", .jitsi(.join)), ("jitsi/events/occupant/left", .jitsi(.leave)),
    ]

    /// The `route` label of a path: Jitsi's two paths are one route.
    static func metricsName(of path: String) -> String {
        path.hasPrefix("jitsi") ? "jitsi" : path
    }
}
