import ArgumentParser
import Foundation
import IQAModel
import IQAScoring

/// `ipiqa score`: quality / alignment of images with their prompts from a trained IP-IQA model file
/// (``Scorer``, ``BatchScorer``).
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score images with a trained IP-IQA model: one image (--image, --prompt) or a CSV (--csv).",
        discussion: """
        Single image: prints "<name> <value>" lines, or with --json an object keyed by the model's output names \
        ({"quality": x, "alignment": y} or {"score": x}). Batch: a CSV with columns image,prompt (relative paths \
        resolved against --root or the CSV's folder) gives one output row per image, as CSV or JSON Lines, on stdout \
        or --output (written atomically). Images are squashed to the model's resolution (IP-IQA's eval transform). \
        --attention-map / --attention-dir draw the cross-modality attention (mean over heads, or --head N) over the image.
        """)

    @OptionGroup var model: ModelFileOptions
    @OptionGroup var precision: PrecisionOptions

    @Option(help: "Image file to score.")
    var image: String?

    @Option(help: "The image's prompt (not needed by image-only models).")
    var prompt: String?

    @Flag(help: "Single image: print JSON instead of text.")
    var json = false

    @Option(help: "Batch mode: CSV file with a header row.")
    var csv: String?

    @Option(help: "Batch mode: image column.")
    var imageColumn: String = ScoringCSVColumns().image

    @Option(help: "Batch mode: prompt column.")
    var promptColumn: String = ScoringCSVColumns().prompt

    @Option(help: "Batch mode: folder that relative image paths start from (default: the CSV's folder).")
    var root: String?

    @Option(help: "Batch mode output: \(ScoreOutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: String = ScoreOutputFormat.csv.rawValue

    @Option(help: "Batch mode: write the output to this file (atomically) instead of stdout.")
    var output: String?

    @Option(help: "Batch mode: images per forward pass.")
    var batchSize: Int = BatchScorer.defaultBatchSize

    @Option(help: "Single image: write the cross-modality attention overlay to this PNG.")
    var attentionMap: String?

    @Option(help: "Batch mode: write one attention overlay PNG per image into this folder.")
    var attentionDir: String?

    @Option(help: "Attention head to draw (0-based; default: the mean over heads).")
    var head: Int?

    func validate() throws {
        guard (image == nil) != (csv == nil) else { throw ValidationError("give either --image (one image) or --csv (batch)") }
        guard ScoreOutputFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(ScoreOutputFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        if image != nil, attentionDir != nil || output != nil { throw ValidationError("--attention-dir and --output are for --csv; use --attention-map") }
        if csv != nil, attentionMap != nil || json || prompt != nil {
            throw ValidationError("--attention-map, --json and --prompt are for --image; use --attention-dir, --format, the CSV's prompt column")
        }
    }

    func run() throws {
        try CLI.run {
            // Destinations first: a bad --output or --attention-map fails before any model is loaded or image scored.
            for path in [output, attentionMap].compactMap({ $0 }) { try ScoreLineWriter.checkDestination(URL(fileURLWithPath: path)) }
            let scorer = try Scorer(checkpoint: model.url, officialCLIP: model.clipURL)
            try precision.apply(to: scorer.model.clip, resolution: scorer.resolution)
            let heads: AttentionHeadSelection = head.map { .head($0) } ?? .mean
            if let image { try scoreOne(scorer, image: image, heads: heads) } else if let csv { try scoreBatch(scorer, csv: csv, heads: heads) }
        }
    }

    private func scoreOne(_ scorer: Scorer, image: String, heads: AttentionHeadSelection) throws {
        // Whether a prompt is needed depends on the model, so these flag checks come after loading it.
        if scorer.usesText, prompt == nil { throw ValidationError("this model reads prompts: give --prompt") }
        if !scorer.usesText, prompt != nil { CLI.note("note: image-only model; --prompt is ignored") }
        let values = try scorer.score(file: URL(fileURLWithPath: image), prompt: prompt,
                                      overlay: attentionMap.map { URL(fileURLWithPath: $0) }, heads: heads)
        if json {
            print(ScoreLineWriter.jsonObject(names: scorer.outputNames, values: values))
        } else {
            for (name, value) in zip(scorer.outputNames, values) { print("\(name) \(value)") }
        }
    }

    private func scoreBatch(_ scorer: Scorer, csv: String, heads: AttentionHeadSelection) throws {
        let requests = try BatchScorer.requests(csv: URL(fileURLWithPath: csv),
                                                columns: ScoringCSVColumns(image: imageColumn, prompt: promptColumn),
                                                root: root.map { URL(fileURLWithPath: $0) }, needPrompt: scorer.usesText)
        let start = Date()
        let text = try BatchScorer(scorer: scorer, batchSize: batchSize).run(
            requests, format: ScoreOutputFormat(rawValue: format) ?? .csv, attention: heads,
            attentionDirectory: attentionDir.map { URL(fileURLWithPath: $0, isDirectory: true) }
        ) { done, total in
            CLI.note(String(format: "scored %d/%d images (%.1f s)", done, total, Date().timeIntervalSince(start)))
        }
        if let output {
            try ScoreLineWriter.write(text, to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
