import ArgumentParser
import DataParallel
import Foundation
import IQAData
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
        Sharded (docs/sharded-scoring.md): --shard INDEX/COUNT (0-based) or --shard auto (Open MPI, PMI or Slurm \
        variables) scores a contiguous block of whole batches of the CSV's rows into a part file (--output; \
        '{shard}' in it becomes the index); --merge PART… checks the parts and writes exactly the unsharded output.
        Under mpirun without --shard, `mpirun -np N ipiqa score --csv … --output scores.csv` splits the rows the same \
        way, rank 0 collects every rank's scores and writes exactly the output of one process (the other ranks print \
        and write nothing); a rank that fails ends the job with "error: rank R of N: …" and no output is written. \
        --image is one image for one process and is refused under mpirun with more than one process.
        """)

    @Option(help: ModelFileOptions.modelHelp) var model: String?
    @Option(help: ModelFileOptions.clipHelp) var clip: String?
    @OptionGroup var precision: PrecisionOptions
    @OptionGroup var threads: ThreadOptions

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

    @Option(help: "Batch mode output: \(ScoreOutputFormat.allCases.map(\.rawValue).joined(separator: ", ")) (default: csv; with --merge: the parts' format).")
    var format: String?

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

    @Option(help: "Batch mode: score only shard INDEX/COUNT of the CSV's rows (0-based: 0/4 … 3/4), or 'auto' (from Open MPI, PMI or Slurm array / srun variables), into the part file --output ('{shard}' in it becomes the index).")
    var shard: String?

    @Option(parsing: .upToNextOption, help: "Merge the part files of a `score --shard` run into the unsharded output (--output or stdout).")
    var merge: [String] = []

    func validate() throws {
        if let format, ScoreOutputFormat(rawValue: format) == nil {
            throw ValidationError("--format must be one of \(ScoreOutputFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
        }
        if !merge.isEmpty {
            let others: [(String, Bool)] = [("--model", model != nil), ("--clip", clip != nil), ("--image", image != nil),
                                            ("--csv", csv != nil), ("--shard", shard != nil), ("--attention-dir", attentionDir != nil),
                                            ("--attention-map", attentionMap != nil), ("--prompt", prompt != nil)]
            let given = others.filter(\.1).map(\.0)
            guard given.isEmpty else { throw ValidationError("--merge takes only --output and --format, not \(given.joined(separator: ", "))") }
            if let n = World.launchedSize(), n > 1 {
                throw ValidationError("--merge runs in one process: under mpirun its \(n) processes would all write the same output; run it once without mpirun")
            }
            return
        }
        guard model != nil else { throw ValidationError("--model is required (except with --merge)") }
        guard (image == nil) != (csv == nil) else { throw ValidationError("give either --image (one image) or --csv (batch)") }
        if let shard {
            guard csv != nil, output != nil else { throw ValidationError("--shard needs --csv and --output (the part file)") }
            if shard != "auto" {
                do { _ = try Shard(parsing: shard) } catch { throw ValidationError("--shard: " + error.localizedDescription) }
            }
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        if image != nil, let n = World.launchedSize(), n > 1 {
            throw ValidationError("--image scores one image in one process; under mpirun (\(n) processes) give --csv, or run --image without mpirun")
        }
        if image != nil, attentionDir != nil || output != nil { throw ValidationError("--attention-dir and --output are for --csv; use --attention-map") }
        if csv != nil, attentionMap != nil || json || prompt != nil {
            throw ValidationError("--attention-map, --json and --prompt are for --image; use --attention-dir, --format, the CSV's prompt column")
        }
    }

    func run() throws {
        try CLI.run {
            // Destinations first: a bad --output or --attention-map fails before any model is loaded or image scored.
            if !merge.isEmpty { return try mergeParts() }
            let part = try shard.map(resolveShard)
            // Batch mode without --shard: under mpirun every rank scores its share and rank 0 alone writes the output.
            let world: (any Communicator)? = try csv != nil && part == nil ? World.communicator() : nil
            let destination = world?.isRoot == false ? nil : part?.output ?? output
            for path in [destination, attentionMap].compactMap({ $0 }) { try ScoreLineWriter.checkDestination(URL(fileURLWithPath: path)) }
            threads.apply()
            let scorer = try Scorer(checkpoint: URL(fileURLWithPath: model ?? ""), officialCLIP: clip.map { URL(fileURLWithPath: $0) })
            try precision.apply(to: scorer.model.clip, resolution: scorer.resolution, target: .trunk)
            let heads: AttentionHeadSelection = head.map { .head($0) } ?? .mean
            if let image {
                try scoreOne(scorer, image: image, heads: heads)
            } else if let csv, let part {
                try scoreShard(scorer, csv: csv, shard: part.shard, output: part.output, heads: heads)
            } else if let csv, let world, world.size > 1 {
                try scoreGathered(scorer, csv: csv, world: world, heads: heads)
            } else if let csv {
                try scoreBatch(scorer, csv: csv, heads: heads)
            }
        }
    }

    private var outputFormat: ScoreOutputFormat { format.flatMap(ScoreOutputFormat.init) ?? .csv }

    /// The shard (given, or from the launcher's environment) and its part file ('{shard}' replaced by the index).
    private func resolveShard(_ text: String) throws -> (shard: Shard, output: String) {
        let path = output ?? ""
        guard text == "auto" else {
            let shard = try Shard(parsing: text)
            return (shard, path.replacingOccurrences(of: "{shard}", with: "\(shard.index)"))
        }
        let (shard, launcher) = try Shard.fromEnvironment(ProcessInfo.processInfo.environment)
        if shard.count > 1, !path.contains("{shard}") {
            throw ValidationError("--shard auto found \(shard.count) processes (\(launcher)): put '{shard}' in --output so each writes its own part, e.g. part-{shard}.jsonl")
        }
        CLI.note("shard \(shard) from \(launcher)")
        return (shard, path.replacingOccurrences(of: "{shard}", with: "\(shard.index)"))
    }

    private func readRequests(_ scorer: Scorer, csv: String) throws -> [ScoringRequest] {
        try BatchScorer.requests(csv: URL(fileURLWithPath: csv), columns: ScoringCSVColumns(image: imageColumn, prompt: promptColumn),
                                 root: root.map { URL(fileURLWithPath: $0) }, needPrompt: scorer.usesText)
    }

    private func scoreShard(_ scorer: Scorer, csv: String, shard: Shard, output: String, heads: AttentionHeadSelection) throws {
        let requests = try readRequests(scorer, csv: csv)
        let job = try scoreJob(scorer, csv: csv, rows: requests.count, shards: shard.count)
        let start = Date()
        let rows = try ShardedScoring.writePart(
            BatchScorer(scorer: scorer, batchSize: batchSize), requests: requests, shard: shard, job: job,
            to: URL(fileURLWithPath: output), attention: heads, attentionDirectory: attentionDir.map { URL(fileURLWithPath: $0, isDirectory: true) }
        ) { done, total in
            CLI.note("shard \(shard): " + String(format: "scored %d/%d images (%.1f s)", done, total, Date().timeIntervalSince(start)))
        }
        CLI.note("shard \(shard): rows \(rows.lowerBound + 1)…\(rows.upperBound) of \(requests.count) written to \(output)")
    }

    private func scoreJob(_ scorer: Scorer, csv: String, rows: Int, shards: Int) throws -> ScoreJob {
        try ScoreJob(model: URL(fileURLWithPath: model ?? ""), csv: URL(fileURLWithPath: csv), rows: rows, shards: shards,
                     batchSize: batchSize, precision: precision.precision, outputs: scorer.outputNames, format: outputFormat)
    }

    /// `mpirun -np N ipiqa score --csv …`: each rank scores the rows of `--shard rank/N`, rank 0 gathers and writes.
    private func scoreGathered(_ scorer: Scorer, csv: String, world: any Communicator, heads: AttentionHeadSelection) throws {
        let requests = try readRequests(scorer, csv: csv)
        let job = try scoreJob(scorer, csv: csv, rows: requests.count, shards: world.size)
        let start = Date()
        let text = try ShardedScoring.gathered(
            BatchScorer(scorer: scorer, batchSize: batchSize), requests: requests, job: job, communicator: world,
            attention: heads, attentionDirectory: attentionDir.map { URL(fileURLWithPath: $0, isDirectory: true) }
        ) { done, total in
            guard world.isRoot else { return }
            CLI.note(String(format: "rank 0 of %d: scored %d/%d images of its share (%.1f s)", world.size, done, total, Date().timeIntervalSince(start)))
        }
        if let text { try emit(text) }
    }

    private func mergeParts() throws {
        try emit(try ShardedScoring.merge(merge.map { URL(fileURLWithPath: $0) }, format: format.flatMap(ScoreOutputFormat.init)))
    }

    /// The batch output to --output (atomically) or stdout.
    private func emit(_ text: String) throws {
        if let output {
            try ScoreLineWriter.write(text, to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
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
        let requests = try readRequests(scorer, csv: csv)
        let start = Date()
        let text = try BatchScorer(scorer: scorer, batchSize: batchSize).run(
            requests, format: outputFormat, attention: heads,
            attentionDirectory: attentionDir.map { URL(fileURLWithPath: $0, isDirectory: true) }
        ) { done, total in
            CLI.note(String(format: "scored %d/%d images (%.1f s)", done, total, Date().timeIntervalSince(start)))
        }
        try emit(text)
    }
}
