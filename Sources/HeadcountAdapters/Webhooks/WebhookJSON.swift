import Foundation
import HeadcountCore

/// JSON payloads decoded with `Codable`, every decoding failure turned into a refusal that
/// names the field by its JSON path.
enum WebhookJSON {
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], root: String = "") throws(IngestRefusal) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw refusal(error, root: root)
        } catch {
            throw IngestRefusal(.malformed, "not valid JSON", where: root.isEmpty ? "body" : root)
        }
    }

    static func refusal(_ error: DecodingError, root: String) -> IngestRefusal {
        switch error {
        case .keyNotFound(let key, let context):
            return IngestRefusal(.unprocessable, "missing field", where: path(root, context.codingPath + [key]))
        case .typeMismatch(let type, let context):
            // LooseString and WebhookTime name what they accept in the description.
            let wanted = ["a time", "an id"].contains(context.debugDescription) ? context.debugDescription : describe(type)
            return IngestRefusal(.unprocessable, "must be \(wanted)", where: path(root, context.codingPath))
        case .valueNotFound(let type, let context):
            return IngestRefusal(.unprocessable, "must be \(describe(type)), not null", where: path(root, context.codingPath))
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return IngestRefusal(.malformed, "not valid JSON", where: root.isEmpty ? "body" : root)
        case .dataCorrupted(let context):
            return IngestRefusal(.unprocessable, context.debugDescription, where: path(root, context.codingPath))
        @unknown default:
            return IngestRefusal(.malformed, "not valid JSON", where: root.isEmpty ? "body" : root)
        }
    }

    static func path(_ root: String, _ keys: [any CodingKey]) -> String {
        var out = root
        for key in keys {
            if let index = key.intValue { out += "[\(index)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
        }
        return out.isEmpty ? "body" : out
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}

/// An id that platforms send as a string or as a number (Zoom's meeting `id`, for one).
struct LooseString: Decodable, Sendable {
    let value: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            value = text
        } else if let number = try? container.decode(Int64.self) {
            value = String(number)
        } else {
            throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "an id"))
        }
    }
}

/// A time sent as RFC 3339 text or as a Unix time in seconds or milliseconds.
struct WebhookTime: Decodable, Sendable {
    let instant: Instant

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let instant = Instant(rfc3339: text) else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 date-time with a zone"))
            }
            self.instant = instant
        } else if let number = try? container.decode(Double.self), number.isFinite, number >= 0, number < 1e14 {
            // Unix seconds until the year 5138; anything larger is milliseconds.
            instant = Instant(milliseconds: number < 1e11 ? Int64((number * 1000).rounded()) : Int64(number.rounded()))
        } else {
            throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "a time"))
        }
    }
}
