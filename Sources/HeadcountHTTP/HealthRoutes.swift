import Foundation
import HeadcountReporter
import HeadcountStore
import Hummingbird

/// One condition a service needs before it can do its job (PostgreSQL answers, the
/// consumers are in the group, the reporter holds or waits for the sealing lock).
public struct ReadinessCheck: Sendable {
    /// What a check found, in plain words either way.
    public struct Outcome: Sendable, Hashable {
        public var isReady: Bool
        public var detail: String

        public init(isReady: Bool, detail: String) {
            self.isReady = isReady
            self.detail = detail
        }

        public static func ready(_ detail: String) -> Outcome { Outcome(isReady: true, detail: detail) }
        public static func notReady(_ detail: String) -> Outcome { Outcome(isReady: false, detail: detail) }
    }

    /// Its key in the `/health/ready` body: `postgresql`, `consumers`, `sealing_lock`, ….
    public var name: String
    let probe: @Sendable () async -> Outcome

    public init(_ name: String, probe: @escaping @Sendable () async -> Outcome) {
        self.name = name
        self.probe = probe
    }

    /// PostgreSQL answers `SELECT 1` through the service's own pool.
    public static func postgreSQL(_ store: EventStore) -> ReadinessCheck {
        ReadinessCheck("postgresql") {
            let started = ContinuousClock.now
            do {
                try await store.ping()
                return .ready("answered in \(Self.milliseconds(ContinuousClock.now - started)) ms")
            } catch {
                return .notReady("\(error)")
            }
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// The reporter holds the sealing lock (it seals) or waits for it (a standby), and says which.
    public static func reporter(_ reporter: Reporter) -> ReadinessCheck {
        ReadinessCheck("sealing_lock") {
            switch reporter.status.role {
            case .active: .ready("holds the sealing lock: this reporter seals")
            case .standby: .ready("waits for the sealing lock: another reporter seals, this one takes over if it stops")
            case .starting: .notReady("starting: not connected to PostgreSQL yet")
            case .stopped: .notReady("stopped")
            }
        }
    }
}

/// `GET /health/live`, `GET /health/ready` (and `GET /health`, the same as live), for any
/// Hummingbird router: the worker's and the reporter's endpoints, the dashboard, and later
/// `headcount ingest`.
///
/// Live says the process serves HTTP at all (restart it when not); ready runs every check at
/// once, each bounded by `timeout`, and answers 200 when all pass, 503 otherwise, with a JSON
/// body that says what each one found:
/// `{"checks":[{"detail":"answered in 3 ms","name":"postgresql","ready":true}],"ready":true}`.
public struct HealthRoutes: Sendable {
    public var checks: [ReadinessCheck]
    /// The longest one check may take before it counts as failed; default 2 s.
    public var timeout: Duration

    public init(checks: [ReadinessCheck], timeout: Duration = .seconds(2)) {
        self.checks = checks
        self.timeout = timeout
    }

    /// The readiness body, as `/health/ready` serves it.
    public struct Report: Encodable, Sendable, Hashable {
        public struct Check: Encodable, Sendable, Hashable {
            public var name: String
            public var ready: Bool
            public var detail: String
        }

        public var ready: Bool
        public var checks: [Check]
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        let live: @Sendable (Request, Context) async -> Response = { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"live":true}"#)))
        }
        router.get("health", use: live)
        router.get("health/live", use: live)
        router.get("health/ready") { _, _ -> Response in
            let report = await self.readiness()
            return Response(
                status: report.ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: Self.encoded(report))))
        }
    }

    /// Runs every check concurrently; one that takes longer than `timeout` is not ready.
    public func readiness() async -> Report {
        let timeout = timeout
        let outcomes = await withTaskGroup(of: (Int, ReadinessCheck.Outcome).self) { group in
            for (index, check) in checks.enumerated() {
                group.addTask {
                    await withTaskGroup(of: ReadinessCheck.Outcome?.self) { race in
                        race.addTask { await check.probe() }
                        race.addTask {
                            // Cancelled once the probe answers: then it offers nothing.
                            guard (try? await Task.sleep(for: timeout)) != nil else { return nil }
                            return .notReady("no answer within \(ReadinessCheck.milliseconds(timeout)) ms")
                        }
                        let first = await race.next() ?? nil
                        race.cancelAll()
                        return (index, first ?? .notReady("no answer"))
                    }
                }
            }
            var outcomes: [Int: ReadinessCheck.Outcome] = [:]
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        let results = checks.enumerated().map { index, check in
            let outcome = outcomes[index] ?? .notReady("no answer")
            return Report.Check(name: check.name, ready: outcome.isReady, detail: outcome.detail)
        }
        return Report(ready: results.allSatisfy(\.ready), checks: results)
    }

    static func encoded(_ report: Report) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and booleans only: encoding cannot fail.
        return Array((try? encoder.encode(report)) ?? Data(#"{"ready":false}"#.utf8))
    }
}
