import ArgumentParser
import Foundation
import IQAModel

/// `ipiqa import`: a checkpoint of the official PyTorch IP-IQA code → an ipiqa model file (``OfficialCheckpoint``).
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Make an ipiqa model file from a checkpoint of the official PyTorch IP-IQA code (github Coobiw/IP-IQA).",
        discussion: """
        The trained parts come from --official (its trainer's checkpoint_best.pth / checkpoint_N.pth, DDP `module.` \
        prefixes allowed, or an `ipiqa export --format official-safetensors` file), the frozen text encoder from --clip \
        (the RN50.pt it was trained from), the architecture from the checkpoint's config (model section); the options \
        below override it and must agree with the weights. The official text semantics follow what the file holds: a \
        trained token table (qa_token: True) becomes --qa-token table, trained txt_pos/text_projection make \
        `train --init` continue with --text-extras official. Every missing, unexpected or mis-shaped tensor is listed; \
        nothing is written on error.
        """)

    @Option(help: "Checkpoint of the official code (.pth from its trainer, or official-safetensors).") var official: String
    @Option(help: "CLIP checkpoint the model was trained from (RN50.pt, .bin or .safetensors).") var clip: String
    @Option(help: "Output model file (safetensors, written atomically).") var out: String
    @Option(help: "Input side the model is for; must be the one it was trained at (default: the config's input_resolution).") var resolution: Int?
    @Option(help: "Comma-separated output names (default: quality,alignment for 2 outputs, score for 1).") var outputNames: String?
    @Option(help: "Text semantics: table (official qa_token: True) or none (default: the config's qa_token).") var qaToken: IPIQAConfiguration.QAToken?
    @Option(help: "Head: mlp or linear (default: the config's use_mlp_head).") var head: IPIQAConfiguration.Head?
    @Option(help: "Dropout of the MLP head for further training (default: the config's dropout_rate).") var dropout: Float?

    func validate() throws {
        if let resolution, resolution < 32 || resolution % 32 != 0 { throw ValidationError("--resolution must be a positive multiple of 32, got \(resolution)") }
        if qaToken == .token { throw ValidationError("--qa-token token has no official counterpart; use table or none") }
        if let dropout, !(dropout >= 0 && dropout < 1) { throw ValidationError("--dropout must lie in [0, 1), got \(dropout)") }
        if URL(fileURLWithPath: out).standardizedFileURL == URL(fileURLWithPath: official).standardizedFileURL {
            throw ValidationError("--out must differ from --official")
        }
    }

    func run() throws {
        try CLI.run {
            var options = OfficialImportOptions()
            options.resolution = resolution
            options.outputNames = outputNames.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            options.qaToken = qaToken
            options.head = head
            options.dropout = dropout
            let imported = try OfficialCheckpoint.load(URL(fileURLWithPath: official), clip: URL(fileURLWithPath: clip), options: options)
            var metadata = imported.metadata
            metadata["source_file"] = URL(fileURLWithPath: official).lastPathComponent
            try IPIQACheckpoint.save(imported.model, to: URL(fileURLWithPath: out), extraMetadata: metadata)
            let c = imported.model.config
            CLI.note("wrote \(out): \(c.resolution) px, \(c.head.rawValue) head, outputs \(c.outputNames.joined(separator: ",")), "
                + "qa-token \(c.qaToken.rawValue), text extras \(imported.trainedTextExtras ? "official (trained)" : "frozen")"
                + (imported.epoch.map { ", epoch \($0)" } ?? ""))
        }
    }
}
