import ArgumentParser
import CLIP
import Foundation
import Imaging

/// `ipiqa embed`: raw CLIP image and text projections (what OpenAI's `encode_image` / `encode_text` return) as JSON
/// (``CLIPEmbedder``).
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "CLIP embeddings of images and prompts as JSON {\"image_embeddings\": [[...]], \"text_embeddings\": [[...]]}.",
        discussion: """
        Embeddings are the raw projections (not normalised). Images: decoded, preprocessed (clip: resize shorter side \
        + centre crop; squash: resize to N×N; none: the image must already be N×N), normalised with CLIP's mean/std. \
        A resolution other than the checkpoint's native one interpolates the attention pool's positional embedding. \
        Prompts are tokenized like clip.tokenize: an over-long prompt is an error unless --truncate.
        """)

    @OptionGroup var clip: CLIPCheckpointOptions

    @Option(name: .customLong("image"), help: "Image file (JPEG/PNG/WebP); repeat for several.")
    var images: [String] = []

    @Option(name: .customLong("prompt"), help: "Prompt text; repeat for several.")
    var prompts: [String] = []

    @Option(help: "Input side in pixels, a multiple of 32 (default: the checkpoint's native resolution).")
    var resolution: Int?

    @Option(help: "Image preprocessing: \(PreprocessMode.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preprocess: String = PreprocessMode.clip.rawValue

    @Flag(help: "Cut over-long prompts to the context length instead of failing.")
    var truncate = false

    @Option(help: "Images / prompts per forward pass.")
    var batchSize: Int = CLIPEmbedConfiguration.defaultBatchSize

    @Flag(help: "Print load and encode times to stderr.")
    var timings = false

    @OptionGroup var precision: PrecisionOptions

    func validate() throws {
        guard !images.isEmpty || !prompts.isEmpty else { throw ValidationError("give at least one --image or --prompt") }
        guard PreprocessMode(rawValue: preprocess) != nil else {
            throw ValidationError("--preprocess must be one of \(PreprocessMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(preprocess)'")
        }
        if let resolution, let problem = CLIPConfiguration.resolutionProblem(resolution) { throw ValidationError("--" + problem) }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        try CLI.run {
            let start = Date()
            let model = try CLIPModel.load(clip.url)
            try precision.apply(to: model, resolution: resolution ?? model.config.imageResolution)
            let loaded = Date()
            let config = CLIPEmbedConfiguration(resolution: resolution, preprocess: PreprocessMode(rawValue: preprocess) ?? .clip,
                                         truncate: truncate, batchSize: batchSize)
            let embedder = try CLIPEmbedder(model: model, config: config)
            let result = try embedder.embed(images: images.map { URL(fileURLWithPath: $0) }, prompts: prompts)
            if timings {
                CLI.note(String(format: "loaded %@ in %.2f s; encoded %d image(s) at %d px and %d prompt(s) in %.2f s",
                                clip.clip, loaded.timeIntervalSince(start), images.count, embedder.resolution, prompts.count,
                                Date().timeIntervalSince(loaded)))
            }
            try CLI.printJSON(result)
        }
    }
}
