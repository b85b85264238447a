import ArgumentParser
import CLIP
import CLIPTokenizer
import Foundation

/// `ipiqa tokenize`: CLIP token ids of prompts, one JSON array (the full padded row) per line on stdout.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize prompts exactly like clip.tokenize; prints one JSON array of ids per prompt.",
        discussion: "Prompts come from --file (one per line) followed by the TEXT arguments."
    )

    @Option(name: .long, help: "Row length (CLIP uses 77).")
    var contextLength: Int = 77

    @Flag(name: .long, help: "Cut over-long prompts to the context length, ending with <|endoftext|>.")
    var truncate = false

    @Option(name: .long, help: "UTF-8 text file with one prompt per line.")
    var file: String?

    @Argument(help: "Prompts to tokenize.")
    var texts: [String] = []

    func validate() throws {
        let limit = CLIPConfiguration.Limits.contextLength
        guard limit.contains(contextLength) else {
            throw ValidationError("--context-length must be in \(limit.lowerBound)…\(limit.upperBound), got \(contextLength)")
        }
        guard file != nil || !texts.isEmpty else { throw ValidationError("give prompts as arguments or with --file") }
    }

    func run() throws {
        do {
            var prompts: [String] = []
            if let file { prompts = try PromptFile.lines(of: URL(fileURLWithPath: file)) }
            prompts += texts
            let tokenizer = try CLIPTokenizer()
            let rows = try tokenizer.tokenize(prompts, contextLength: contextLength, truncate: truncate)
            var out: [UInt8] = []
            out.reserveCapacity(rows.count * (contextLength * 4 + 2))
            for row in rows { PromptFile.appendJSONLine(row, to: &out) }
            FileHandle.standardOutput.write(Data(out))
        } catch let error as TokenizerError {
            FileHandle.standardError.write(Data("ipiqa tokenize: \(error.localizedDescription)\n".utf8))
            throw ExitCode.failure
        }
    }
}
