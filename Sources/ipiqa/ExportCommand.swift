import ArgumentParser
import Foundation
import IQAModel

/// `ipiqa export`: an ipiqa model file → the official PyTorch IP-IQA code's formats (``OfficialExport``).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an ipiqa model in the official PyTorch IP-IQA code's format.",
        discussion: """
        --format official writes what the official trainer saves (a torch.save checkpoint_best.pth: the trained \
        parameters and buffers under the official names, config.model, epoch; no optimizer state), which its \
        _reload_best_model / load_finetuned paths and torch.load(weights_only=True) accept. --format \
        official-safetensors writes the whole official state dict as safetensors. The paper's separate [QA] vector is \
        folded into the token table's end-of-text row (qa_token: True), which scores identically. Image-only models, the \
        paper+similarity fusion and cross-attention head counts other than 32 have no official counterpart.
        """)

    @Option(help: "ipiqa model file to export.") var model: String
    @Option(help: "official (torch.save .pth) or official-safetensors.") var format: String = OfficialExport.Format.official.rawValue
    @Option(help: "Output file (written atomically).") var out: String
    @Option(help: "Epoch number stored in the checkpoint (default: the model file's, else 0).") var epoch: Int?

    func validate() throws {
        guard OfficialExport.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(OfficialExport.Format.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
        }
        if URL(fileURLWithPath: out).standardizedFileURL == URL(fileURLWithPath: model).standardizedFileURL {
            throw ValidationError("--out must differ from --model")
        }
    }

    func run() throws {
        try CLI.run {
            let (loaded, metadata) = try IPIQACheckpoint.load(URL(fileURLWithPath: model))
            let n = epoch ?? metadata["epoch"].flatMap(Int.init) ?? 0
            try OfficialExport.write(loaded, format: OfficialExport.Format(rawValue: format) ?? .official, epoch: n,
                                     to: URL(fileURLWithPath: out))
            CLI.note("wrote \(out) (\(format), epoch \(n))")
        }
    }
}
