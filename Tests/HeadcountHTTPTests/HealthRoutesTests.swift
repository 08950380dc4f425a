import Foundation
import HeadcountStore
import HeadcountTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import ServiceLifecycle
import Testing

@testable import HeadcountHTTP

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `/health/live`, `/health/ready` and `/metrics` of every long-running service: the routes
/// through HummingbirdTesting without sockets, and once over real HTTP with PostgreSQL.
@Suite("Health endpoints", .timeLimit(.minutes(2)))
struct HealthRoutesTests {
    static let logger = Logger(label: "test.health")

    static func application(_ checks: [ReadinessCheck], timeout: Duration = .seconds(2)) -> some ApplicationProtocol {
        Application(router: MetricsServer.router(registry: PrometheusCollectorRegistry(), health: HealthRoutes(checks: checks, timeout: timeout)))
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test("live answers 200; ready answers 200 when every check passes, each with its detail")
    func ready() async throws {
        let app = Self.application([
            ReadinessCheck("postgresql") { .ready("answered in 1 ms") },
            ReadinessCheck("sealing_lock") { .ready("waits for the sealing lock") },
        ])
        try await app.test(.router) { client in
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response.body)
                #expect(body["live"] as? Bool == true)
            }
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response.body)
                #expect(body["ready"] as? Bool == true)
                let checks = try #require(body["checks"] as? [[String: Any]])
                #expect(checks.map { $0["name"] as? String } == ["postgresql", "sealing_lock"])
                #expect(checks.last?["detail"] as? String == "waits for the sealing lock")
            }
        }
    }

    @Test("one failing or silent check makes ready 503, naming it; live stays 200")
    func notReady() async throws {
        let app = Self.application([
            ReadinessCheck("postgresql") { .notReady("unavailable: connection refused") },
            ReadinessCheck("consumers") {
                // Never answers within the timeout; cancelled once the timeout has spoken.
                try? await Task.sleep(for: .seconds(60))
                return .ready("too late")
            },
            ReadinessCheck("status") { .ready("serving") },
        ], timeout: .milliseconds(200))
        try await app.test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try Self.json(response.body)
                #expect(body["ready"] as? Bool == false)
                let checks = try #require(body["checks"] as? [[String: Any]])
                #expect(checks[0]["ready"] as? Bool == false && checks[0]["detail"] as? String == "unavailable: connection refused")
                #expect(checks[1]["ready"] as? Bool == false && (checks[1]["detail"] as? String)?.hasPrefix("no answer within 200 ms") == true)
                #expect(checks[2]["ready"] as? Bool == true)
            }
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("/metrics serves the Prometheus text format")
    func metrics() async throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(name: "headcount_test_total").increment(by: Int64(3))
        let app = Application(router: MetricsServer.router(registry: registry, health: HealthRoutes(checks: [])))
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(decoding: response.body.readableBytesView, as: UTF8.self).contains("headcount_test_total 3"))
            }
        }
    }

    @Test("over real HTTP, the application in a service group: ready with PostgreSQL answering, live")
    func realHTTP() async throws {
        try await TestDatabase.withStore { store, _ in
            let (ports, listening) = AsyncStream<Int>.makeStream()
            let app = MetricsServer.application(
                port: 0, registry: PrometheusCollectorRegistry(), health: HealthRoutes(checks: [.postgreSQL(store)]), logger: Self.logger,
                onListening: { listening.yield($0) })
            let group = ServiceGroup(services: [app], logger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                let (status, body) = try await Self.get("http://127.0.0.1:\(port)/health/ready")
                #expect(status == 200)
                let checks = try #require(body["checks"] as? [[String: Any]])
                #expect(checks.first?["name"] as? String == "postgresql")
                #expect((checks.first?["detail"] as? String)?.hasPrefix("answered in") == true)
                let (live, _) = try await Self.get("http://127.0.0.1:\(port)/health/live")
                #expect(live == 200)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    static func get(_ address: String) async throws -> (Int, [String: Any]) {
        let (data, response) = try await URLSession.shared.data(from: try #require(URL(string: address)))
        let status = try #require(response as? HTTPURLResponse).statusCode
        return (status, try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]))
    }
}
