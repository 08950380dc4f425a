import HeadcountPipeline
import Testing

@Suite("Pipeline files: the ingest section")
struct IngestPipelineTests {
    @Test("routes, secrets by name, defaults")
    func parses() throws {
        let ingest = try #require(try Fixtures.pipeline().ingest)
        #expect(ingest.routes.count == 6)
        #expect(ingest.routes[.zoom] == .environment("TEST_ZOOM"))
        #expect(ingest.identity == [.email, .platformID])
        #expect(ingest.maximumBodySize == 1 << 20)
        #expect(ingest.produceTimeout == .milliseconds(2500))
        #expect(ingest.bbbCallbackURL == Fixtures.callbackURL)
    }

    @Test("errors name the field and line")
    func errors() throws {
        let base = "id: t\nwindow:\n  start: 2025-09-20T09:00:00+07:00\n  end: 2025-09-20T11:00:00+07:00\ningest:\n"
        func error(_ text: String) -> PipelineError? {
            do { _ = try Pipeline.parse(yaml: base + text, file: "t.yaml"); return nil } catch { return error }
        }
        #expect(error("  zoom: { secretFile: z }\n")?.field == "ingest")
        #expect(error("  pseudonymKeyFile: k\n")?.message.contains("enables no route") == true)
        #expect(error("  pseudonymKeyFile: k\n  zoom: { secret: inline }\n")?.field == "ingest.zoom.secret")
        #expect(error("  pseudonymKeyFile: k\n  zoom: { secretFile: a, secretEnvironment: B }\n")?.field == "ingest.zoom.secret")
        #expect(error("  pseudonymKeyFile: k\n  bbb: { secretFile: a }\n")?.field == "ingest.bbb.callbackURL")
        #expect(error("  pseudonymKeyFile: k\n  identity: [email, phone]\n  zoom: { secretFile: a }\n")?.line == 7)
        #expect(error("  pseudonymKeyFile: k\n  maxBodySize: 1TiB\n  zoom: { secretFile: a }\n")?.field == "ingest.maxBodySize")
        let ok = try Pipeline.parse(yaml: base + "  pseudonymKeyFile: k\n  maxBodySize: 512KiB\n  identity: [platformId]\n  canonical: { secretFile: a }\n", file: "t.yaml")
        #expect(ok.ingest?.maximumBodySize == 512 << 10)
        #expect(ok.ingest?.identity == [.platformID])
    }
}

@Suite("Pipelines/example-ingest.yaml")
struct ExampleIngestPipelineTests {
    @Test("loads, every route enabled, secret files next to the pipeline folder")
    func loads() throws {
        let root = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let pipeline = try Pipeline.load(path: root + "/Pipelines/example-ingest.yaml")
        let ingest = try #require(pipeline.ingest)
        #expect(ingest.routes.count == Pipeline.IngestRoute.allCases.count)
        #expect(ingest.pseudonymKey == .file(root + "/secrets/pseudonym-key"))
        #expect(ingest.routes[.zoom] == .environment("HEADCOUNT_ZOOM_SECRET_TOKEN"))
    }
}
