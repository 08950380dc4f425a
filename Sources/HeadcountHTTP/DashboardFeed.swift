import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import Logging
import ServiceLifecycle
import Synchronization

/// The dashboard's one reader of the store: reads the status every `refreshInterval` and
/// hands the encoded JSON to every viewer's server-sent-event stream, so a crowd watching a
/// record attempt costs the database nothing more than one viewer.
///
/// A `Service`: on graceful shutdown it stops reading and finishes every viewer's stream, so
/// the HTTP server (which waits for responses in flight) can stop too. Run it after the
/// application in the `ServiceGroup`: services stop in reverse order.
public final class DashboardFeed: Service, Sendable {
    let pipeline: Pipeline
    let store: EventStore
    let configuration: DashboardConfiguration
    let logger: Logger
    private let state = Mutex(State())

    struct State {
        var body: [UInt8]?
        var last: DashboardStatus?
        var totals: PipelineStatus.Totals?
        var totalsReadAt: (instant: Instant, clock: ContinuousClock.Instant)?
        var viewers: [Int: AsyncStream<[UInt8]>.Continuation] = [:]
        var nextViewer = 0
        var finished = false
    }

    public init(pipeline: Pipeline, store: EventStore, configuration: DashboardConfiguration = .init(), logger: Logger) {
        self.pipeline = pipeline
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled, !state.withLock({ $0.finished }) {
                await refresh()
                try? await Task.sleep(for: configuration.refreshInterval)
            }
        } onGracefulShutdown: {
            self.finish()
        }
        finish()
    }

    /// The latest encoded status, nil before the first read.
    public var currentBody: [UInt8]? { state.withLock { $0.body } }

    /// Viewers watching now.
    public var viewerCount: Int { state.withLock { $0.viewers.count } }

    /// A viewer's stream: the latest status at once (when there is one), then every new one;
    /// a slow viewer skips to the newest. Ends when the feed stops or the viewer goes.
    public func subscribe() -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id: Int? = state.withLock { state in
            guard !state.finished else { return nil }
            let id = state.nextViewer
            state.nextViewer += 1
            state.viewers[id] = continuation
            if let body = state.body { continuation.yield(body) }
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.viewers.removeValue(forKey: id) }
        }
        return stream
    }

    private func finish() {
        let viewers = state.withLock { state in
            state.finished = true
            defer { state.viewers = [:] }
            return Array(state.viewers.values)
        }
        for viewer in viewers { viewer.finish() }
    }

    /// One read of the store; on failure the last good status is served with the error.
    func refresh() async {
        let due = state.withLock { state in
            state.totalsReadAt.map { ContinuousClock.now - $0.clock >= configuration.totalsInterval } ?? true
        }
        let body: [UInt8]
        do {
            var status = try await store.pipelineStatus(pipeline: pipeline.id, includingTotals: due)
            let now = configuration.clock()
            let readAt: Instant? = state.withLock { state in
                if let totals = status.totals {
                    state.totals = totals
                    state.totalsReadAt = (now, .now)
                }
                return state.totalsReadAt?.instant
            }
            status.totals = status.totals ?? state.withLock { $0.totals }
            var dashboard = DashboardStatus(pipeline: pipeline, status: status, now: now, totalsReadAt: readAt)
            await addLiveParts(to: &dashboard, status: status, now: now)
            body = dashboard.encoded()
            state.withLock { state in
                state.last = dashboard
                state.body = body
            }
        } catch {
            // Shutting down cancels the read in flight: nothing went wrong.
            guard !Task.isCancelled else { return }
            logger.warning("dashboard cannot read the store", metadata: ["error": "\(error)"])
            body = state.withLock { state in
                guard var last = state.last else {
                    state.body = DashboardStatus.encodedError("the database cannot be read (\(error.code.rawValue)): nothing to show yet")
                    return state.body!
                }
                last.error = "the database cannot be read (\(error.code.rawValue)); showing the numbers as of \(last.readAt)"
                state.body = last.encoded()
                return state.body!
            }
        }
        for viewer in state.withLock({ Array($0.viewers.values) }) { viewer.yield(body) }
    }

    /// What only a live event has: the next minute's provisional numbers, each partition's
    /// lag (from Kafka, when the dashboard can ask it) and ingest's refusals.
    private func addLiveParts(to dashboard: inout DashboardStatus, status: PipelineStatus, now: Instant) async {
        let rules = pipeline.rules
        // The minute sealing waits for: the clock's own minute has barely any of its events
        // stored yet (they arrive up to L later), this one nearly all.
        if now >= rules.windowStart, status.sealed.count < rules.bucketCount {
            let current = status.sealed.count
            if let numbers = try? await store.provisionalNumbers(pipeline: pipeline.id, bucket: current, rules: rules) {
                dashboard.setCurrent(numbers, rules: rules)
            }
        }
        var highWatermarks: [Int32: Int64]?
        if let source = configuration.highWatermarks {
            switch await source.highWatermarks() {
            case .read(let marks): highWatermarks = marks.compactMapValues { $0 }
            case .unavailable(let reason): dashboard.lagError = reason
            }
        }
        dashboard.setPartitions(status.partitions, highWatermarks: highWatermarks)
        if let read = configuration.ingestCounts {
            do { dashboard.ingest = try await read() } catch { dashboard.ingestError = "ingest's /metrics cannot be read: \(error)" }
        }
    }
}
