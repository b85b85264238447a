import ArgumentParser
import CLIP
import Foundation

/// `ipiqa clipscore`: CLIPScore = 2.5 · max(cos(image, prompt), 0) (Hessel et al. 2021), a baseline of IP-IQA's Table 2.
struct ClipScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clipscore",
        abstract: "CLIPScore of an image and a prompt: 2.5 · max(cos(E_I, E_T), 0).",
        discussion: """
        CLIP preprocessing (resize + centre crop) at the checkpoint's native resolution. Hessel et al.'s code puts \
        "A photo depicts " before captions; pass --prefix "A photo depicts " to do the same.
        """)

    @OptionGroup var clip: CLIPCheckpointOptions

    @Option(help: "Image file (JPEG/PNG/WebP).")
    var image: String

    @Option(help: "Prompt text.")
    var prompt: String

    @Option(help: "Text put before the prompt.")
    var prefix: String = ""

    @Flag(help: "Cut an over-long prompt to the context length instead of failing.")
    var truncate = false

    @Flag(help: "Print {\"clipscore\": x, \"cosine\": c} instead of text.")
    var json = false

    func run() throws {
        try CLI.run {
            let model = try CLIPModel.load(clip.url)
            let scorer = try CLIPScorer(model: model, config: CLIPScoreConfiguration(promptPrefix: prefix, truncate: truncate))
            let r = try scorer.score(files: [URL(fileURLWithPath: image)], prompts: [prompt])[0]
            if json {
                print("{\"clipscore\": \(r.score), \"cosine\": \(r.cosine)}")
            } else {
                print(String(format: "CLIPScore %.4f (cosine %.4f)", r.score, r.cosine))
            }
        }
    }
}
