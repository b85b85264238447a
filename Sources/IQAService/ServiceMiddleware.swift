import Foundation
import Hummingbird

/// Counts every request by route and final status and times it (``ServiceMetrics``); outermost, so it sees the
/// status of rendered errors too.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServiceMetrics
    let batcher: ScoringBatcher

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = ServiceMetrics.route(request.uri.path)
        let response: Response
        do { response = try await next(request, context) } catch {
            response = ServiceErrors.wrap(error).response()
        }
        let (s, atto) = (ContinuousClock.now - start).components
        metrics.request(route: route, status: response.status.code, seconds: Double(s) + Double(atto) * 1e-18)
        metrics.setQueueDepth(batcher.queueDepth)
        return response
    }
}

/// Renders every error as a JSON ``ServiceError`` response; nothing a request does reaches the server as an error.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch {
            var e = ServiceErrors.wrap(error)
            if case .notFound = e { e = .notFound("\(request.method) \(request.uri.path)") }
            return e.response()
        }
    }
}

/// With an API key configured, every route except `/`, `/healthz` and `/readyz` needs `Authorization: Bearer <key>`
/// (compared in constant time); otherwise 401.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let key: String?
    static let open: Set<String> = ["/", "/healthz", "/readyz"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key, !Self.open.contains(request.uri.path) else { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard given.count > prefix.count, given.prefix(prefix.count).lowercased() == prefix.lowercased(),
              Self.equal(Array(given.utf8.dropFirst(prefix.utf8.count)), Array(key.utf8)) else {
            throw ServiceError.unauthorized
        }
        return try await next(request, context)
    }

    /// Byte equality whose time depends on the lengths only.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }
}

/// Maps any error to the ``ServiceError`` a client sees.
enum ServiceErrors {
    static func wrap(_ error: Error) -> ServiceError {
        switch error {
        case let e as ServiceError: return e
        case is CancellationError: return .timeout(seconds: 0)
        case let e as HTTPError:
            switch e.status {
            case .notFound: return .notFound(e.body ?? "")
            case .methodNotAllowed: return .methodNotAllowed(e.body ?? "method not allowed")
            case .contentTooLarge: return .bodyTooLarge(limit: 0, got: nil)
            default: return .badRequest(e.body ?? "\(e.status)")
            }
        default: return .internalError(error.localizedDescription)
        }
    }
}
