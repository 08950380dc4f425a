import Foundation
import Testing

@testable import HeadcountPipeline

@Suite("Pipeline files: the signing section")
struct PipelineSigningTests {
    static let minimal = PipelineLoadingTests.minimal
    /// `openssl pkey -pubout` of the key with seed 7×32 (the reporter tests' key).
    static let publicKeyBase64 = "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw="

    @Test("a key file, and a pinned public key in either form")
    func keyFile() throws {
        let pipeline = try Pipeline.parse(yaml: Self.minimal + """

            signing:
              keyFile: /run/secrets/headcount-signing-key
              publicKey: \(Self.publicKeyBase64)
            """, file: "t.yaml")
        #expect(pipeline.signing == Pipeline.Signing(key: .file("/run/secrets/headcount-signing-key"), publicKey: Self.publicKeyBase64))

        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=\n-----END PUBLIC KEY-----"
        let pinnedByPEM = try Pipeline.parse(yaml: Self.minimal + """

            signing:
              keyEnvironment: HEADCOUNT_KEY_SUMSEL
              publicKey: |
            \(pem.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """, file: "t.yaml")
        #expect(pinnedByPEM.signing == Pipeline.Signing(key: .environment("HEADCOUNT_KEY_SUMSEL"), publicKey: Self.publicKeyBase64))
    }

    @Test("no section: no signing; a relative keyFile is found next to the pipeline file")
    func relativePath() throws {
        #expect(try Pipeline.parse(yaml: Self.minimal, file: "t.yaml").signing == nil)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("Pipelines"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("Pipelines/p.yaml").path
        try (Self.minimal + "\nsigning:\n  keyFile: ../secrets/key.pem\n").write(toFile: path, atomically: true, encoding: .utf8)
        let expected = Pipeline.KeySource.file(folder.appendingPathComponent("secrets/key.pem").standardized.path)
        #expect(try Pipeline.load(path: path).signing?.key == expected)
        // The same file named relative to the working directory, as on a command line.
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + path.dropFirst()
        #expect(try Pipeline.load(path: relative).signing?.key == expected)
    }

    @Test("every mistake in the section names the field and the line", arguments: [
        (minimal + "\nsigning:\n  keyFile: a.pem\n  keyEnvironment: KEY\n", "signing", 7, "not both"),
        (minimal + "\nsigning:\n  keyEnvironment: 9LIVES\n", "signing.keyEnvironment", 6, "name of an environment variable"),
        (minimal + "\nsigning:\n  keyEnvironment: MY-KEY\n", "signing.keyEnvironment", 6, "name of an environment variable"),
        (minimal + "\nsigning:\n  keyFile: a.pem\n  publicKey: c2hvcnQ=\n", "signing.publicKey", 7, "32-byte Ed25519 public key"),
        (minimal + "\nsigning:\n  keyFile: \"\"\n", "signing.keyFile", 6, "non-empty text"),
        (minimal + "\nsigning:\n  keyFile: \"-----BEGIN PRIVATE KEY----- MC4C\"\n", "signing.keyFile", 6, "never the key itself"),
        (minimal + "\nsigning:\n  keyfile: a.pem\n", "signing.keyfile", 6, "unknown key"),
        (minimal + "\nsigning:\n  publicKey: null\n", "signing.publicKey", 6, "32-byte"),
        (minimal + "\nsigning: secrets/key.pem\n", "signing", 5, "must be a mapping"),
        (minimal + "\nsigning: {}\n", "signing", 5, "needs keyFile or keyEnvironment"),
    ] as [(String, String, Int, String)])
    func errors(yaml: String, field: String, line: Int, message: String) {
        #expect {
            try Pipeline.parse(yaml: yaml, file: "Pipelines/x.yaml")
        } throws: { error in
            guard let error = error as? PipelineError else { return false }
            return error.field == field && error.line == line && error.description.contains(message)
                && error.description.contains("Pipelines/x.yaml:\(line)")
        }
    }

    @Test("the seed pipeline names its key file next to the repository's secrets folder")
    func seedPipeline() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let pipeline = try Pipeline.load(path: root.appendingPathComponent("Pipelines/sumsel-ai-webinar-2025.yaml").path)
        #expect(pipeline.signing?.key == .file(root.appendingPathComponent("secrets/signing-key.pem").standardized.path))
    }
}
