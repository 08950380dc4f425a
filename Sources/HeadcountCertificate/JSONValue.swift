/// A JSON value, as the certificate hashes, signs, writes and reads it.
///
/// Integers are kept apart from other numbers so that counts and millisecond instants are
/// exact; both serialize the same way for the same value (RFC 8785 treats every number as
/// an IEEE 754 double). Object keys are Swift strings, so two keys that are canonically
/// equivalent Unicode count as one key: the parser rejects such objects as duplicates.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// An integer; exact up to ±2^53, beyond which RFC 8785 sees the nearest double.
    case integer(Int64)
    /// Any other finite number. NaN and infinities cannot be serialized.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The member `key` of an object, or nil (also when this is not an object).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The value as an exact integer: an `integer`, or a `number` with no fraction within ±2^53.
    public var integerValue: Int64? {
        switch self {
        case .integer(let value):
            return value
        case .number(let value) where value.rounded(.towardZero) == value && abs(value) <= 9_007_199_254_740_992:
            return Int64(value)
        default:
            return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// An integer value from a Swift `Int`.
    public static func int(_ value: Int) -> JSONValue { .integer(Int64(value)) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
