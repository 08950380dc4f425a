import Foundation
import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import HeadcountTestSupport
import Kafka
import Testing

/// The signing key named by the pipeline, checked against its pin and against the key
/// stored with the pipeline's first seal; and the reporter inside `headcount work`.
@Suite("Reporter: the pipeline's signing key", .serialized, .timeLimit(.minutes(5)))
struct SigningKeyTests {
    typealias Support = ReporterSupport

    static func pipeline(signing: String) throws -> Pipeline {
        try Pipeline.parse(yaml: Support.yaml(topic: "signing-test") + "\n" + signing, file: "signing-test.yaml")
    }

    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("the key comes from the pipeline's keyFile or keyEnvironment; --key overrides it; the pin applies to all")
    func sources() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("key.pem").path
        try Support.signingKey.save(to: path)
        let other = SigningKey.generate()
        let otherPath = folder.appendingPathComponent("other.pem").path
        try other.save(to: otherPath)
        let expected = Support.signingKey.publicKey

        let byFile = try Self.pipeline(signing: "signing:\n  keyFile: \(path)\n")
        #expect(try PipelineSigningKey.load(for: byFile, keyFile: nil, environment: [:]).publicKey == expected)
        #expect(try PipelineSigningKey.load(for: byFile, keyFile: otherPath, environment: [:]).publicKey == other.publicKey)

        let pem = try String(contentsOfFile: path, encoding: .utf8)
        let byVariable = try Self.pipeline(signing: "signing:\n  keyEnvironment: SUMSEL_KEY\n")
        #expect(try PipelineSigningKey.load(for: byVariable, keyFile: nil, environment: ["SUMSEL_KEY": pem]).publicKey == expected)

        // Without a section the old variable still names a file.
        let plain = try Pipeline.parse(yaml: Support.yaml(topic: "signing-test"), file: "p.yaml")
        #expect(try PipelineSigningKey.load(for: plain, keyFile: nil, environment: ["HEADCOUNT_SIGNING_KEY": path]).publicKey == expected)

        let pinned = try Self.pipeline(signing: "signing:\n  keyFile: \(path)\n  publicKey: \(expected.base64)\n")
        #expect(try PipelineSigningKey.load(for: pinned, keyFile: nil, environment: [:]).publicKey == expected)
        #expect {
            try PipelineSigningKey.load(for: pinned, keyFile: otherPath, environment: [:])
        } throws: { error in
            "\(error)".contains("is not the one pipeline reporter-test pins") && "\(error)".contains(other.publicKey.base64)
        }
    }

    @Test("a missing, unreadable or malformed key is a start-up error that names where it was looked for", arguments: [
        ("signing:\n  keyFile: /nonexistent/headcount/key.pem\n", [:], "signing.keyFile"),
        ("signing:\n  keyEnvironment: SUMSEL_KEY\n", [:], "SUMSEL_KEY, which is not set"),
        ("signing:\n  keyEnvironment: SUMSEL_KEY\n", ["SUMSEL_KEY": "not a key"], "not a PEM Ed25519 private key"),
        ("signing:\n  publicKey: 6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=\n", [:], "no signing key"),
    ] as [(String, [String: String], String)])
    func failures(signing: String, environment: [String: String], message: String) throws {
        let pipeline = try Self.pipeline(signing: signing)
        #expect {
            try PipelineSigningKey.load(for: pipeline, keyFile: nil, environment: environment)
        } throws: { error in
            guard let error = error as? ReporterError else { return false }
            return error.code == .configuration && error.message.contains(message) && !error.message.contains("PRIVATE KEY")
        }
    }

    @Test("the public key is stored with the first seal; a reporter with another key refuses to seal on")
    func keyMismatch() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "signing-mismatch")
            // No events at all: with the clock past the window every bucket seals, at zero.
            let clock = TestClock()
            _ = try await Support.sealEverything(pipeline, url: url, clock: clock)
            #expect(try await store.storedPublicKey(pipeline: pipeline.id) == Support.signingKey.publicKey.base64)

            var configuration = Support.configuration(pipeline, clock: clock)
            configuration.signingKey = SigningKey.generate()
            let intruder = try Support.reporter(configuration, url: url)
            await #expect {
                try await intruder.run()
            } throws: { error in
                guard let error = error as? ReporterError else { return false }
                return error.code == .keyMismatch && error.description.contains(Support.signingKey.publicKey.base64)
                    && error.description.contains(configuration.signingKey.publicKey.base64)
            }
            #expect(intruder.status.role == .stopped)
            // The commands refuse too, at start-up, rather than sealing or writing a
            // certificate that would not verify.
            let files = try Support.files(topic: pipeline.kafka.topic)
            defer { try? FileManager.default.removeItem(atPath: (files.pipeline as NSString).deletingLastPathComponent) }
            let otherKey = (files.key as NSString).deletingLastPathComponent + "/other.pem"
            try configuration.signingKey.save(to: otherKey)
            let database = ReporterSafetyTests.text(url)
            // Brokers that do not answer: the key is refused before Kafka is asked anything.
            let report = try HeadcountProcess([
                "report", "--pipeline", files.pipeline, "--database", database, "--key", otherKey, "--brokers", "127.0.0.1:9",
            ], capturingStandardError: true)
            let refused = try await report.wait(timeout: .seconds(60))
            #expect(refused.status != 0, "headcount report refuses another key")
            #expect(report.standardError.contains("keyMismatch"), "\(report.standardError.suffix(500))")
            let certificate = try await HeadcountProcess([
                "certificate", "--pipeline", files.pipeline, "--database", database, "--key", otherKey, "--out", otherKey + ".d",
            ]).wait(timeout: .seconds(60))
            #expect(certificate.status != 0, "headcount certificate refuses another key")
            #expect(!FileManager.default.fileExists(atPath: otherKey + ".d"))
            #expect(try await store.storedPublicKey(pipeline: pipeline.id) == Support.signingKey.publicKey.base64)
            do {
                try await Support.sql(url, "UPDATE headcount.pipelines SET public_key = 'x'")
                Issue.record("the stored key was changed")
            } catch {}
        }
    }

    @Test("`headcount work --report` consumes and seals in one process")
    func workReport() async throws {
        try await TestDatabase.withStore { store, url in
            let pipeline = try Support.pipeline(topic: "signing-work-report")
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: Support.logger)
            defer { withExtendedLifetime(cluster) {} }
            try await cluster.createTopic(pipeline.kafka.topic, partitions: pipeline.kafka.partitions)
            let events = Support.simulated(pipeline, participants: 30)
            try await Support.publish(events, pipeline: pipeline, cluster: cluster)
            let files = try Support.files(topic: pipeline.kafka.topic)
            defer { try? FileManager.default.removeItem(atPath: (files.pipeline as NSString).deletingLastPathComponent) }
            // The window lies in the past: by the real clock the watermark passes it as soon
            // as the partitions have been idle for L, so the test shortens nothing but waits
            // for the worker to stop when idle.
            // Stopped with SIGTERM once everything is stored and sealed, not by its idle stop:
            // on a loaded CI machine a quiet spell of a few seconds is not the end of the work.
            let process = try HeadcountProcess([
                "work", "--pipeline", files.pipeline, "--database", ReporterSafetyTests.text(url),
                "--brokers", cluster.bootstrapServers, "--no-metrics",
                "--report", "--key", files.key, "--report-interval", "0.2",
            ])
            let distinct = Set(events.map(\.id)).count
            try await waitUntil("the worker to store every event and its reporter to seal", timeout: .seconds(120)) {
                let stored = try await store.eventCount(pipeline: pipeline.id)
                return stored == distinct ? try await !store.storedSnapshots(pipeline: pipeline.id).isEmpty : false
            }
            process.signal(SIGTERM)
            let run = try await process.wait(timeout: .seconds(60))
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("reporter stopped"), "\(run.output)")
            let stored = try await store.eventCount(pipeline: pipeline.id)
            #expect(stored == Set(events.map(\.id)).count, "\(run.output.suffix(4000))")
            let sealed = try await store.storedSnapshots(pipeline: pipeline.id)
            #expect(!sealed.isEmpty, "the reporter in the worker process sealed")
            // Whatever it sealed before the events were stored, amendments explain.
            let recount = try await Support.recount(pipeline, store: store)
            #expect(recount.isValid, "\(recount.failures)")
            #expect(try await store.storedPublicKey(pipeline: pipeline.id) == Support.signingKey.publicKey.base64)
        }
    }
}
