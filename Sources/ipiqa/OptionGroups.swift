import ArgumentParser
import CLIP
import Foundation
import IQAData
import Tensor

// Options shared by several subcommands, each defined once (`@OptionGroup var threads: ThreadOptions`).

/// `--threads N`: worker threads of the engine (train, evaluate, pretrain, bench, bench conv, bench-train).
struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Sets the engine's worker count where `--threads` was given.
    func apply() { if let threads { Threading.setThreads(threads) } }
}

/// `--precision auto|fp32|bf16|bf16x3`: arithmetic of the CLIP image encoder (score, embed, serve). `auto` (default)
/// calibrates at load (``CLIPModel/choosePrecision(_:resolution:calibration:upgrade:)``); the global `--verbose` (or
/// `IPIQA_VERBOSE=1`) prints the choice and its reason on stderr.
struct PrecisionOptions: ParsableArguments {
    @Option(help: "Image-encoder arithmetic: auto (the fastest path of this CPU that keeps cosine ≥ 0.9999 to fp32 on probe images, checked at the first load of a model on this machine and remembered in ~/.cache/ipiqa/precision; --verbose says which and why), fp32, bf16 (AVX-512 BF16) or bf16x3 (split bf16 operands, ≈ 16-bit mantissas). See docs/performance.md.")
    var precision: String = "auto"

    func validate() throws {
        guard PrecisionRequest(argument: precision) != nil else {
            throw ValidationError("--precision must be one of \(PrecisionRequest.allArguments.joined(separator: ", ")) (got \(precision))")
        }
    }

    var request: PrecisionRequest { PrecisionRequest(argument: precision) ?? .auto }

    /// Sets `clip`'s image-encoder precision for inputs of side `resolution` (eval mode), printing the decision under
    /// `--verbose`; a forced precision the CPU lacks is an error. `target`: `.trunk` for IP-IQA models (their pools read
    /// the layer4 map), `.embedding` for CLIP embeddings. `auto` reuses a decision made on this machine for the same
    /// weights (``PrecisionDecisionCache/standard``).
    @discardableResult
    func apply(to clip: CLIPModel, resolution: Int, target: CalibrationTarget = .embedding) throws -> PrecisionDecision {
        let decision = try clip.choosePrecision(request, resolution: resolution, calibration: PrecisionCalibration(target: target),
                                                cache: PrecisionDecisionCache.standard)
        if CLI.verbose { CLI.note(decision.summary) }
        return decision
    }
}

/// `--clip FILE`: a CLIP checkpoint to load (embed, clipscore, pretrain; `train --clip` is optional there, see
/// ``TrainCommand``).
struct CLIPCheckpointOptions: ParsableArguments {
    @Option(help: "CLIP checkpoint: OpenAI TorchScript (RN50.pt), torch.save state dict or safetensors.")
    var clip: String

    var url: URL { URL(fileURLWithPath: clip) }
}

/// `--model FILE [--clip RN50.pt]`: a trained IP-IQA model file, or a checkpoint of the official PyTorch code with the
/// CLIP checkpoint it was trained from (score, evaluate).
struct ModelFileOptions: ParsableArguments {
    @Option(help: ModelFileOptions.modelHelp) var model: String
    @Option(help: ModelFileOptions.clipHelp) var clip: String?

    // Also the help of `score`'s --model / --clip (optional there: `score --merge` needs no model).
    static let modelHelp: ArgumentHelp = "Trained IP-IQA model file (a run's model_best.safetensors, an `ipiqa import` output), or a checkpoint of the official PyTorch code (checkpoint_best.pth, with --clip)."
    static let clipHelp: ArgumentHelp = "With an official PyTorch checkpoint as --model: the CLIP checkpoint it was trained from (RN50.pt)."

    var url: URL { URL(fileURLWithPath: model) }
    var clipURL: URL? { clip.map { URL(fileURLWithPath: $0) } }
}

/// `--dataset KIND --labels FILE`: a labelled dataset (evaluate, splits; `train` takes them optionally, for --resume).
struct DatasetOptions: ParsableArguments {
    @Option(help: DatasetOptions.datasetHelp) var dataset: DatasetKind
    @Option(help: DatasetOptions.labelsHelp) var labels: String?

    // Also the help of `train`'s optional --dataset / --labels.
    static let datasetHelp = ArgumentHelp("Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    static let labelsHelp: ArgumentHelp = "Label file (default: the bundled one for agiqa-1k / agiqa-3k; needed for the others; aigciqa2023 also takes its published folder with DATA/MOS/mosz*.mat)."

    var labelsURL: URL? { labels.map { URL(fileURLWithPath: $0) } }

    /// The official split protocol exists for the AGIQA datasets only (train, splits).
    static func checkProtocol(_ splitProtocol: SplitProtocol?, for dataset: DatasetKind?) throws {
        if splitProtocol == .official, let dataset, !dataset.hasOfficialSplits {
            throw ValidationError("there is no official protocol for \(dataset.rawValue) (AGIQA-1k/3k only); use --protocol grouped")
        }
    }
}

/// `--image-column --prompt-column --score-columns`: the columns of a generic CSV dataset (train, evaluate, splits).
struct CSVColumnOptions: ParsableArguments {
    @Option(help: "CSV datasets: image column.") var imageColumn: String = CSVColumns().image
    @Option(help: "CSV datasets: prompt column.") var promptColumn: String = CSVColumns().prompt
    @Option(help: "CSV datasets: comma-separated score columns.") var scoreColumns: String = CSVColumns().scores.joined(separator: ",")

    @Option(help: "CSV datasets: a JSON file declaring the columns, {\"image\": …, \"prompt\": …, \"scores\": […], \"scoreNames\": […]} (instead of the three options above).")
    var columnsFile: String?

    /// The columns for a CSV dataset; nil for the declared datasets (their label files have fixed columns).
    func columns(for kind: DatasetKind) throws -> CSVColumns? {
        guard kind == .csv else { return nil }
        if let columnsFile { return try CSVColumns.read(from: URL(fileURLWithPath: columnsFile)) }
        return CSVColumns(image: imageColumn, prompt: promptColumn,
                          scores: scoreColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }
}

/// `--json --verbose` of the benchmarks (bench, bench conv). `--verbose` is read before parsing, by
/// ``IPIQACommand/main()``, which prints the OpenBLAS kernel choice.
struct BenchOutputOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON.") var json = false
    @Flag(help: "Print the OpenBLAS kernel choice on stderr.") var verbose = false
}
