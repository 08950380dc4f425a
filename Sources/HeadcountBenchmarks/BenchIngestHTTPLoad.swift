import Foundation
import Histogram
import NIOCore
import NIOPosix
import Synchronization

/// A closed-loop HTTP/1.1 load generator: `connections` keep-alive connections, each sending
/// the next prepared request as soon as the previous answer arrived, latencies in an
/// HdrHistogram (microseconds). Prepared requests are distinct, so none is a retry.
final class HTTPLoad: Sendable {
    struct Result {
        var elapsed: Duration
        var latencies: Histogram<UInt64>
        var statuses: [Int: Int]
    }

    private struct State {
        var latencies = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var statuses: [Int: Int] = [:]
        var open = 0
    }

    let requests: [ByteBuffer]
    private let next = Atomic(0)
    private let state = Mutex(State())

    init(requests: [ByteBuffer]) {
        self.requests = requests
    }

    /// The request bytes of a POST with the given headers.
    static func request(path: String, headers: [(String, String)], body: [UInt8]) -> ByteBuffer {
        var text = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        var buffer = ByteBuffer(string: text + "\r\n")
        buffer.writeBytes(body)
        return buffer
    }

    /// Sends every prepared request once over `connections` connections to 127.0.0.1:`port`.
    func run(port: Int, connections: Int) async throws -> Result {
        let clock = ContinuousClock(), started = clock.now
        let group = MultiThreadedEventLoopGroup.singleton
        let done = group.next().makePromise(of: Void.self)
        state.withLock { $0.open = connections }
        for _ in 0..<connections {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(LoadHandler(load: self)) }
                }
                .connect(host: "127.0.0.1", port: port).get()
            channel.closeFuture.whenComplete { _ in
                if self.state.withLock({ state in state.open -= 1; return state.open == 0 }) { done.succeed(()) }
            }
        }
        try await done.futureResult.get()
        let elapsed = clock.now - started
        return state.withLock { Result(elapsed: elapsed, latencies: $0.latencies, statuses: $0.statuses) }
    }

    /// The index of the next request to send, or nil once all were taken.
    fileprivate func take() -> Int? {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < requests.count ? index : nil
    }

    fileprivate func record(status: Int, microseconds: UInt64) {
        state.withLock { state in
            _ = state.latencies.record(max(1, microseconds))
            state.statuses[status, default: 0] += 1
        }
    }
}

/// One connection of the load: send, read one whole answer, record, send the next.
///
/// Non-Sendable handler state lives on its channel's event loop only.
private final class LoadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let load: HTTPLoad
    var pending = ByteBuffer()
    var sentAt = ContinuousClock.now

    init(load: HTTPLoad) { self.load = load }

    func channelActive(context: ChannelHandlerContext) { sendNext(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        while let status = takeResponse() {
            let waited = ContinuousClock.now - sentAt
            load.record(status: status, microseconds: UInt64(max(0, waited / .microseconds(1))))
            sendNext(context)
        }
    }

    private func sendNext(_ context: ChannelHandlerContext) {
        guard let index = load.take() else {
            context.close(promise: nil)
            return
        }
        sentAt = .now
        context.writeAndFlush(wrapOutboundOut(load.requests[index]), promise: nil)
    }

    /// The status of a complete answer at the front of `pending`, which it removes.
    private func takeResponse() -> Int? {
        let view = pending.readableBytesView
        guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let head = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let first = lines.first, first.count >= 12, let status = Int(first.dropFirst(9).prefix(3)) else { return nil }
        let length = lines.dropFirst().first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        let total = (end.upperBound - view.startIndex) + length
        guard pending.readableBytes >= total else { return nil }
        pending.moveReaderIndex(forwardBy: total)
        pending.discardReadBytes()
        return status
    }
}
