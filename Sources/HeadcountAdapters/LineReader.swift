#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file or standard input line by line with a large buffer, numbering lines from 1.
///
/// NDJSON exports of a million-person event are hundreds of megabytes: they are streamed,
/// never loaded whole. Lines end with `\n`; a trailing `\r` is dropped.
public struct LineReader: ~Copyable {
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    public private(set) var lineNumber = 0
    /// What was opened, for error messages.
    public let source: String

    /// Opens `path`, or standard input when `path` is nil or `-`.
    public init(path: String?) throws(InputError) {
        if let path, path != "-" {
            let descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else {
                throw InputError(source: path, line: nil, message: "cannot open: \(String(cString: strerror(errno)))")
            }
            self.descriptor = descriptor
            self.ownsDescriptor = true
            self.source = path
        } else {
            self.descriptor = STDIN_FILENO
            self.ownsDescriptor = false
            self.source = "standard input"
        }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// The next line's bytes without its terminator, or nil at the end of input.
    public mutating func nextLine() throws(InputError) -> ArraySlice<UInt8>? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                defer { start = newline + 1 }
                lineNumber += 1
                return trimCarriageReturn(buffer[start..<newline])
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                lineNumber += 1
                return trimCarriageReturn(buffer[start...])
            }
            try fill()
        }
    }

    private func trimCarriageReturn(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        line.last == UInt8(ascii: "\r") ? line.dropLast() : line
    }

    private mutating func fill() throws(InputError) {
        buffer.removeFirst(start)
        start = 0
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + old, chunk) }
        guard count >= 0 else {
            buffer.removeLast(chunk)
            throw InputError(source: source, line: lineNumber + 1, message: "read failed: \(String(cString: strerror(errno)))")
        }
        buffer.removeLast(chunk - count)
        if count == 0 { atEnd = true }
    }
}

/// Input that cannot be used, with where it is.
public struct InputError: Error, Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var line: Int?
    public var message: String

    public init(source: String, line: Int?, message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    public var description: String {
        line.map { "\(source):\($0): \(message)" } ?? "\(source): \(message)"
    }
}
