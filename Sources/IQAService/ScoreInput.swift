import Foundation
import Hummingbird
import Imaging
import MultipartKit

/// One image and its prompt as a client sent them, before decoding: from `multipart/form-data` (fields `image`, a
/// file, and `prompt`; repeated in order for a batch) or JSON (`{"image": "<base64>", "prompt": "…"}`, a batch as
/// `{"items": [ … ]}`; a `data:image/…;base64,` prefix is accepted). The service never reads a path a client names:
/// the image bytes are always in the request.
///
/// ```swift
/// let items = try ScoreInput.parse(body, contentType: "application/json", batch: false)
/// ```
public struct ScoreInput: Sendable {
    public var image: Data
    public var prompt: String?
    /// For messages: `image` or `items[3].image`.
    public var label: String

    public init(image: Data, prompt: String?, label: String) {
        self.image = image
        self.prompt = prompt
        self.label = label
    }

    /// The items of a request body; errors are ``ServiceError``s naming the field at fault.
    public static func parse(_ body: ByteBuffer, contentType: String?, batch: Bool) throws -> [ScoreInput] {
        guard let contentType, !contentType.isEmpty else { throw ServiceError.unsupportedMediaType("(none)") }
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch media {
        case "application/json": return try json(body, batch: batch)
        case "multipart/form-data": return try multipart(body, contentType: contentType, batch: batch)
        default: throw ServiceError.unsupportedMediaType(contentType)
        }
    }

    // MARK: JSON

    private struct JSONItem: Decodable {
        var image: String?
        var prompt: String?
    }

    private struct JSONBatch: Decodable {
        var items: [JSONItem]?
    }

    static func json(_ body: ByteBuffer, batch: Bool) throws -> [ScoreInput] {
        let data = Data(body.readableBytesView)
        let decoder = JSONDecoder()
        if batch {
            let parsed: JSONBatch
            do { parsed = try decoder.decode(JSONBatch.self, from: data) } catch {
                throw ServiceError.badRequest("body is not a JSON object {\"items\": [{\"image\": base64, \"prompt\": text}, …]}: \(describe(error))")
            }
            guard let items = parsed.items else { throw ServiceError.badRequest("missing field 'items' (an array of {\"image\", \"prompt\"})") }
            return try items.enumerated().map { i, item in try input(item, label: "items[\(i)]") }
        }
        let item: JSONItem
        do { item = try decoder.decode(JSONItem.self, from: data) } catch {
            throw ServiceError.badRequest("body is not a JSON object {\"image\": base64, \"prompt\": text}: \(describe(error))")
        }
        return [try input(item, label: nil)]
    }

    private static func input(_ item: JSONItem, label: String?) throws -> ScoreInput {
        let field = label.map { "\($0).image" } ?? "image"
        guard let text = item.image else { throw ServiceError.badRequest("missing field '\(field)' (the image file as base64)") }
        return ScoreInput(image: try base64(text, field: field), prompt: item.prompt, label: field)
    }

    /// Standard or URL-safe base64, with or without padding, after an optional `data:…;base64,` prefix.
    static func base64(_ text: String, field: String) throws -> Data {
        var s = Substring(text)
        if s.hasPrefix("data:"), let comma = s.firstIndex(of: ",") { s = s[s.index(after: comma)...] }
        var cleaned = String(s.filter { !$0.isWhitespace }).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if cleaned.count % 4 != 0 { cleaned += String(repeating: "=", count: 4 - cleaned.count % 4) }
        guard !cleaned.isEmpty, let data = Data(base64Encoded: cleaned) else {
            throw ServiceError.badRequest("field '\(field)' is not valid base64")
        }
        return data
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.typeMismatch(_, c), let DecodingError.valueNotFound(_, c), let DecodingError.dataCorrupted(c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : "at '\(path)': ") + c.debugDescription
        default:
            return error.localizedDescription
        }
    }

    // MARK: multipart/form-data

    static func multipart(_ body: ByteBuffer, contentType: String, batch: Bool) throws -> [ScoreInput] {
        guard let boundary = parameter("boundary", in: contentType) else {
            throw ServiceError.badRequest("multipart/form-data without a boundary parameter")
        }
        var parts: [MultipartPart] = []
        var headers = HTTPHeaders()
        var partBody = ByteBuffer()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in headers.add(name: name, value: value) }
        parser.onBody = { chunk in partBody.writeBuffer(&chunk) }
        parser.onPartComplete = {
            parts.append(MultipartPart(headers: headers, body: partBody))
            headers = HTTPHeaders()
            partBody = ByteBuffer()
        }
        do { try parser.execute(body) } catch {
            throw ServiceError.badRequest("malformed multipart/form-data body: \(error)")
        }
        let images = parts.filter { $0.name == "image" }, prompts = parts.filter { $0.name == "prompt" }
        guard !images.isEmpty else { throw ServiceError.badRequest("missing form field 'image' (the image file)") }
        if !batch, images.count > 1 { throw ServiceError.badRequest("\(images.count) 'image' fields; POST /v1/score/batch scores several") }
        if !prompts.isEmpty, prompts.count != images.count {
            throw ServiceError.badRequest("\(images.count) 'image' fields but \(prompts.count) 'prompt' fields; give one prompt per image")
        }
        return images.enumerated().map { i, part in
            let prompt = prompts.isEmpty ? nil : String(buffer: prompts[i].body)
            return ScoreInput(image: Data(part.body.readableBytesView), prompt: prompt, label: batch ? "image[\(i)]" : "image")
        }
    }

    /// A `; name=value` parameter of a header value (quotes removed).
    static func parameter(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let kv = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == name {
                let v = kv[1]
                return v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 ? String(v.dropFirst().dropLast()) : v
            }
        }
        return nil
    }
}
