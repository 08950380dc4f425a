import Foundation
import Testing
import Yams

/// docker-compose.yml describes production and cannot be started here (no Docker engine):
/// these tests check it offline, with Debian's docker-compose and against the CLI.
@Suite("docker-compose.yml")
struct DockerComposeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func compose() throws -> [String: Any] {
        let text = try String(contentsOf: root.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    static func services() throws -> [String: [String: Any]] {
        try #require(try compose()["services"] as? [String: [String: Any]])
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = root
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test("docker-compose accepts the file (offline `config`)")
    func composeConfig() throws {
        let binary = "/usr/bin/docker-compose"
        #expect(FileManager.default.isExecutableFile(atPath: binary), "scripts/setup.sh installs docker-compose")
        let (status, output) = try Self.run(binary, ["-f", "docker-compose.yml", "config", "--quiet"], environment: [
            "POSTGRES_PASSWORD": "check", "HEADCOUNT_PSEUDONYM_KEY": "check", "HEADCOUNT_CANONICAL_TOKEN": "check",
        ])
        #expect(status == 0, "docker-compose config failed: \(output)")
    }

    @Test("Kafka runs in KRaft mode on three nodes, with replication for durability")
    func kraft() throws {
        let services = try Self.services()
        let kafka = services.filter { $0.key.hasPrefix("kafka-") }
        #expect(kafka.count == 3)
        for (name, service) in kafka {
            let environment = try #require(service["environment"] as? [String: Any], "\(name) has no environment")
            #expect(environment["KAFKA_PROCESS_ROLES"] as? String == "broker,controller")
            #expect((environment["KAFKA_CONTROLLER_QUORUM_VOTERS"] as? String)?.split(separator: ",").count == 3)
            #expect(environment["KAFKA_ZOOKEEPER_CONNECT"] == nil, "no ZooKeeper in KRaft mode")
            #expect("\(environment["KAFKA_MIN_INSYNC_REPLICAS"] ?? "")" == "2")
        }
        #expect((services["postgres"]?["image"] as? String)?.hasPrefix("postgres:15") == true)
        #expect(services["worker"] != nil)
    }

    @Test("every headcount command the file names exists in the CLI")
    func commandsExist() throws {
        let binary = Self.root.appendingPathComponent(".build/debug/headcount").path
        let built = try Self.buildDirectoryBinary() ?? binary
        #expect(FileManager.default.isExecutableFile(atPath: built), "headcount is built by `swift build --build-tests`")
        for (name, service) in try Self.services() where service["build"] != nil || (service["image"] as? String)?.hasPrefix("headcount") == true {
            let command = try #require(service["command"] as? [String], "\(name) names no command")
            // The leading words up to the first option form the subcommand path.
            let path = Array(command.prefix { !$0.hasPrefix("-") && !$0.contains("/") })
            let (status, output) = try Self.run(built, path + ["--help"])
            #expect(status == 0, "service \(name): `headcount \(path.joined(separator: " "))` does not exist: \(output)")
            for option in command where option.hasPrefix("--") {
                #expect(output.contains(option), "service \(name): `headcount \(path.joined(separator: " "))` has no option \(option)")
            }
        }
    }

    @Test("every long-running headcount service has a health check on /health/ready at the port its command serves")
    func healthChecks() throws {
        let services = try Self.services()
        for name in ["ingest", "worker", "reporter", "dashboard"] {
            let service = try #require(services[name], "no \(name) service")
            let command = try #require(service["command"] as? [String])
            let check = try #require(service["healthcheck"] as? [String: Any], "\(name) has no healthcheck")
            let test = try #require(check["test"] as? [String])
            let url = try #require(test.last)
            #expect(test.first == "CMD" && test.contains("curl") && url.hasSuffix("/health/ready"), "\(name): \(test)")
            let port = try #require(command.firstIndex { ["--metrics-port", "--http-port", "--port", "--listen"].contains($0) }.map {
                command[$0 + 1].split(separator: ":").last.map(String.init) ?? command[$0 + 1]
            })
            #expect(url.contains(":\(port)/"), "\(name) checks \(url) but serves port \(port)")
        }
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(dockerfile.contains(" curl"), "the image has curl for the health checks")
        let dashboard = try #require(services["dashboard"]?["depends_on"] as? [String: Any])
        #expect((dashboard["reporter"] as? [String: Any])?["condition"] as? String == "service_healthy")
    }

    /// The test bundle sits next to the executable in SwiftPM's build folder, whatever its name.
    static func buildDirectoryBinary() throws -> String? {
        let bundle = Bundle.main.bundleURL
        for directory in [bundle.deletingLastPathComponent(), bundle] {
            let candidate = directory.appendingPathComponent("headcount").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
