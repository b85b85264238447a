import Foundation

/// Errors of the CLIP tokenizer. Every message names the resource file (and line) or the offending text.
///
/// ```swift
/// do { _ = try tokenizer.tokenize([longPrompt]) }
/// catch let error as TokenizerError { print(error.localizedDescription) }
/// ```
public enum TokenizerError: LocalizedError, Equatable {
    /// A bundled resource (vocabulary or table) is absent from the bundle.
    case resourceMissing(name: String)
    /// A resource exists but cannot be parsed; `line` is 1-based where it applies.
    case resourceCorrupt(file: String, line: Int?, reason: String)
    /// `[SOT] + encode(text) + [EOT]` has more than `contextLength` tokens and truncation is off.
    case textTooLong(textPrefix: String, tokenCount: Int, contextLength: Int)
    /// The context length must hold at least the end-of-text token.
    case invalidContextLength(Int)
    /// `decode` was given an id outside `0..<vocabularySize`.
    case unknownTokenID(id: Int32, position: Int)
    /// A prompt file cannot be read, or one of its lines (1-based) is not UTF-8.
    case promptFile(path: String, line: Int?, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .resourceMissing(name):
            return "CLIPTokenizer resource '\(name)' is missing from the bundle"
        case let .resourceCorrupt(file, line, reason):
            return "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)"
        case let .textTooLong(prefix, count, context):
            return "Input \"\(prefix)\" is too long for context length \(context) (\(count) tokens with start/end; "
                + "pass truncate to cut it)"
        case let .invalidContextLength(n):
            return "context length \(n) is invalid: it must be at least 1"
        case let .promptFile(path, line, reason):
            return "\(path)\(line.map { ":\($0)" } ?? ""): \(reason)"
        case let .unknownTokenID(id, position):
            return "token id \(id) at position \(position) is not in the vocabulary (0..<\(CLIPVocabularyConstants.vocabularySize))"
        }
    }
}
