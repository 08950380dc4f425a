import HeadcountAdapters
import Hummingbird

/// JSON answers: results, and refusals as `{"error": …, "where": …}`.
enum IngestResponse {
    /// Seconds a platform should wait before retrying after a 503.
    static let retryAfterSeconds = 2

    static func json(_ status: Int, _ body: String) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func refusal(_ refusal: IngestRefusal) -> Response {
        var response = json(refusal.kind.status, refusal.json)
        if refusal.kind == .unavailable { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }
}

/// Turns what the router itself refuses (no such path, wrong method) into the same JSON
/// refusals the routes give.
struct RefusalMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            let status = Int(error.status.code)
            let kind: IngestRefusal.Kind = status == 404 ? .notFound : status == 413 ? .tooLarge : .malformed
            var response = IngestResponse.refusal(IngestRefusal(kind, error.status.reasonPhrase.lowercased(), where: "path"))
            response.status = error.status
            return response
        }
    }
}
