import HeadcountCore
import HeadcountPipeline

/// The canonical route: canonical events (already pseudonymised) as a JSON array or as
/// NDJSON, authorised by the pipeline's bearer token, validated exactly as `publish` does.
public enum CanonicalWebhook {
    public static func receive(_ request: WebhookRequest, context: AdapterContext) throws(IngestRefusal) -> WebhookOutcome {
        try Signatures.checkBearer(request, token: try context.secret(.canonical))
        var events: [Event] = []
        try forEachObject(in: request.body) { (bytes, place) throws(IngestRefusal) in
            let event: Event
            do throws(EventRejection) {
                event = try CanonicalEvent.decode(bytes)
            } catch {
                throw IngestRefusal(error.reason == .malformedJSON ? .malformed : .unprocessable, error.description, where: place)
            }
            try context.check(event, where: place)
            events.append(event)
        }
        return .events(events)
    }

    /// Calls `body` with each event's bytes and its place (`events[3]` or `line 4`).
    ///
    /// A body starting with `[` is a JSON array of flat objects, split without building a
    /// tree: each element is handed whole to `CanonicalEvent.decode`, the strict validator.
    static func forEachObject(
        in body: [UInt8], _ visit: (ArraySlice<UInt8>, String) throws(IngestRefusal) -> Void
    ) throws(IngestRefusal) {
        // A function, not a Set: this runs for every request, and a Set allocates and hashes.
        func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        guard let first = body.firstIndex(where: { !isWhitespace($0) }) else {
            throw IngestRefusal(.unprocessable, "no events", where: "body")
        }
        guard body[first] == UInt8(ascii: "[") else {
            var line = 0
            for slice in body.split(separator: 0x0A, omittingEmptySubsequences: false) {
                line += 1
                let trimmed = slice.last == 0x0D ? slice.dropLast() : slice
                if trimmed.allSatisfy(isWhitespace) { continue }
                try visit(trimmed, "line \(line)")
            }
            return
        }
        var index = first + 1, element = 0
        func skip() { while index < body.count, isWhitespace(body[index]) { index += 1 } }
        skip()
        if index < body.count, body[index] == UInt8(ascii: "]") {
            index += 1
            skip()
            guard index == body.count else { throw IngestRefusal(.malformed, "unexpected bytes after the array", where: "body") }
            throw IngestRefusal(.unprocessable, "no events", where: "body")
        }
        while true {
            let start = index
            guard let end = objectEnd(body, from: start) else {
                throw IngestRefusal(.malformed, "expected a complete JSON object", where: "events[\(element)]")
            }
            try visit(body[start..<end], "events[\(element)]")
            element += 1
            index = end
            skip()
            guard index < body.count else { throw IngestRefusal(.malformed, "unterminated array", where: "body") }
            if body[index] == UInt8(ascii: ",") {
                index += 1
                skip()
                continue
            }
            guard body[index] == UInt8(ascii: "]") else { throw IngestRefusal(.malformed, "expected ',' or ']'", where: "events[\(element)]") }
            index += 1
            skip()
            guard index == body.count else { throw IngestRefusal(.malformed, "unexpected bytes after the array", where: "body") }
            return
        }
    }

    /// The index after the `}` that closes the object starting at `start`, strings skipped.
    private static func objectEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "{") else { return nil }
        var depth = 0, index = start, inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { return index + 1 }
            }
            index += 1
        }
        return nil
    }
}
