import Foundation
import HeadcountTestSupport
import Logging
import NIOCore
import WSClient


/// Debian's headless Chromium driven over the DevTools protocol (a websocket), for the
/// dashboard's browser test: navigate, evaluate JavaScript in the page, take screenshots.
///
/// Host lookups are refused (`--host-resolver-rules`): the page must need nothing from the
/// network, and a page that tried would show it.
final class DevToolsBrowser: @unchecked Sendable {
    // @unchecked: the process is only started, signalled and waited for (thread-safe calls of
    // Foundation's Process); the profile folder is written once, in init.
    private let process = Process()
    private let profile: URL
    /// The browser's DevTools websocket.
    let browserSocket: String

    static func executable() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init(width: Int = 1400, height: Int = 1150) async throws {
        guard let executable = Self.executable() else {
            throw DevToolsError(description: "Debian's chromium is not installed (scripts/setup.sh installs it)")
        }
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir=\(profile.path)",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--window-size=\(width),\(height)", "about:blank",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Chromium writes the port it took and the browser's websocket path into the profile
        // folder once it listens.
        let portFile = profile.appendingPathComponent("DevToolsActivePort")
        var lines: [Substring] = []
        try await Eventually.until("chromium's DevTools port", timeout: .seconds(30), interval: .milliseconds(100)) {
            lines = (try? String(contentsOf: portFile, encoding: .utf8))?.split(separator: "\n") ?? []
            return lines.count >= 2 && Int(lines[0]) != nil
        }
        browserSocket = "ws://127.0.0.1:\(lines[0])\(lines[1])"
    }

    func close() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: profile)
    }

    /// Opens a new page, attaches to it and runs `body` with a session to send its commands on.
    func withPage(_ body: @escaping @Sendable (DevToolsSession) async throws -> Void) async throws {
        var logger = Logger(label: "test.devtools")
        logger.logLevel = .warning
        var configuration = WebSocketClientConfiguration()
        configuration.maxFrameSize = 64 << 20
        try await WebSocketClient.connect(url: browserSocket, configuration: configuration, logger: logger) { inbound, outbound, _ in
            let session = DevToolsSession(messages: inbound.messages(maxSize: 64 << 20).makeAsyncIterator(), outbound: outbound)
            let target = try await session.send("Target.createTarget", ["url": "about:blank"])
            let attached = try await session.send("Target.attachToTarget", ["targetId": target["targetId"] as? String ?? "", "flatten": true])
            session.sessionID = attached["sessionId"] as? String
            try await body(session)
            try await outbound.close(.normalClosure, reason: nil)
        }
    }
}

/// One DevTools connection: commands answered in order (events in between are skipped).
final class DevToolsSession: @unchecked Sendable {
    // @unchecked: used by the one task that runs the websocket handler, never concurrently.
    private var messages: WebSocketInboundMessageStream.AsyncIterator
    private let outbound: WebSocketOutboundWriter
    private var nextID = 1
    /// The attached page's session: every command after attaching goes to it.
    var sessionID: String?

    init(messages: WebSocketInboundMessageStream.AsyncIterator, outbound: WebSocketOutboundWriter) {
        self.messages = messages
        self.outbound = outbound
    }

    /// Sends a command and returns its `result`; a protocol error throws.
    @discardableResult
    func send(_ method: String, _ parameters: [String: Any] = [:]) async throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if let sessionID { message["sessionId"] = sessionID }
        let command = try JSONSerialization.data(withJSONObject: message)
        try await outbound.write(.text(String(decoding: command, as: UTF8.self)))
        while let message = try await messages.next() {
            guard case .text(let text) = message,
                  let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  object["id"] as? Int == id else { continue }
            if let error = object["error"] { throw DevToolsError(description: "\(method): \(error)") }
            return object["result"] as? [String: Any] ?? [:]
        }
        throw DevToolsError(description: "\(method): the DevTools connection closed")
    }

    /// The value of a JavaScript expression in the page (JSON-compatible values only).
    func evaluate(_ expression: String) async throws -> Any? {
        let result = try await send("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        if let exception = result["exceptionDetails"] { throw DevToolsError(description: "\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// A PNG of the whole page.
    func screenshot() async throws -> Data {
        let result = try await send("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let base64 = result["data"] as? String, let png = Data(base64Encoded: base64) else {
            throw DevToolsError(description: "Page.captureScreenshot gave no image")
        }
        return png
    }
}

struct DevToolsError: Error, CustomStringConvertible {
    var description: String
}
