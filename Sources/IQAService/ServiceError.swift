import Foundation
import Hummingbird

/// Every failure a client can see, with its HTTP status and a stable code; rendered in one place
/// (``response(requestID:)``) as `{"error": {"code": "...", "message": "...", "status": 4xx}}`.
///
/// ```swift
/// throw ServiceError.badImage("image: corrupt PNG data: IHDR: CRC error")      // → 400
/// ```
public enum ServiceError: Error, LocalizedError, Equatable, Sendable {
    /// Malformed request (missing field, bad JSON or base64, unknown query value): 400.
    case badRequest(String)
    /// An image the decoders cannot read (unsupported format, corrupt, truncated): 400.
    case badImage(String)
    /// A prompt model's request without a prompt: 400.
    case missingPrompt(String)
    /// Missing or wrong bearer token: 401.
    case unauthorized
    /// Unknown route: 404.
    case notFound(String)
    /// Known route, wrong method: 405.
    case methodNotAllowed(String)
    /// Body above `maxBodyBytes`: 413.
    case bodyTooLarge(limit: Int, got: Int?)
    /// Image declaring more pixels than `maxPixels`: 413.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// Body neither multipart/form-data nor JSON: 415.
    case unsupportedMediaType(String)
    /// A well-formed request the model cannot take (attention from an image-only model, too many batch items): 422.
    case unprocessable(String)
    /// The model's queue is full: 503 with `Retry-After`.
    case queueFull(depth: Int, retryAfter: Int)
    /// The server is stopping: 503.
    case shuttingDown
    /// Not answered within the request timeout: 504.
    case timeout(seconds: Double)
    /// A failure inside the model: 500.
    case internalError(String)
    /// An invalid ``ServeConfiguration`` (not sent to clients; the server does not start).
    case configuration(String)

    public var status: HTTPResponse.Status {
        switch self {
        case .badRequest, .badImage, .missingPrompt: return .badRequest
        case .unauthorized: return .unauthorized
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .bodyTooLarge, .tooManyPixels: return .contentTooLarge
        case .unsupportedMediaType: return .unsupportedMediaType
        case .unprocessable: return .unprocessableContent
        case .queueFull, .shuttingDown: return .serviceUnavailable
        case .timeout: return .gatewayTimeout
        case .internalError, .configuration: return .internalServerError
        }
    }

    /// A stable machine-readable name.
    public var code: String {
        switch self {
        case .badRequest: return "bad_request"
        case .badImage: return "bad_image"
        case .missingPrompt: return "missing_prompt"
        case .unauthorized: return "unauthorized"
        case .notFound: return "not_found"
        case .methodNotAllowed: return "method_not_allowed"
        case .bodyTooLarge: return "body_too_large"
        case .tooManyPixels: return "too_many_pixels"
        case .unsupportedMediaType: return "unsupported_media_type"
        case .unprocessable: return "unprocessable"
        case .queueFull: return "queue_full"
        case .shuttingDown: return "shutting_down"
        case .timeout: return "timeout"
        case .internalError: return "internal_error"
        case .configuration: return "configuration"
        }
    }

    public var errorDescription: String? {
        switch self {
        case let .badRequest(m), let .badImage(m), let .missingPrompt(m), let .unprocessable(m), let .configuration(m):
            return m
        case .unauthorized:
            return "missing or wrong API key: send 'Authorization: Bearer <key>'"
        case let .notFound(path):
            return "no route \(path); see GET /v1/model, POST /v1/score, POST /v1/score/batch, /healthz, /readyz, /metrics"
        case let .methodNotAllowed(m):
            return m
        case let .bodyTooLarge(limit, got):
            return "request body " + (got.map { "of \($0) bytes " } ?? "") + "exceeds the limit of \(limit) bytes"
        case let .tooManyPixels(width, height, limit):
            return "image of \(width)×\(height) = \(width * height) pixels exceeds the limit of \(limit) pixels"
        case let .unsupportedMediaType(type):
            return "unsupported content type '\(type)': send multipart/form-data (image, prompt) or application/json (image as base64, prompt)"
        case let .queueFull(depth, retryAfter):
            return "the model's queue is full (\(depth) requests waiting); retry after \(retryAfter) s"
        case .shuttingDown:
            return "the server is shutting down"
        case let .timeout(seconds):
            return String(format: "the request was not scored within %.1f s", seconds)
        case let .internalError(m):
            return "internal error: \(m)"
        }
    }

    /// The JSON object of the error (the body of its response, and an item of a batch response).
    public var json: JSONValue {
        ["code": .string(code), "message": .string(errorDescription ?? code), "status": .number(Double(status.code))]
    }

    /// The error as an HTTP response: JSON body, `Retry-After` on 503, `WWW-Authenticate` on 401.
    public func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        switch self {
        case let .queueFull(_, retryAfter): headers[.retryAfter] = "\(retryAfter)"
        case .shuttingDown: headers[.retryAfter] = "1"
        case .unauthorized: headers[.wwwAuthenticate] = "Bearer"
        default: break
        }
        let body = JSONValue.object([("error", json)]).text
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
