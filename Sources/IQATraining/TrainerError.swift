import Foundation

/// Errors of training and evaluation. Messages name the file, split or value involved.
///
/// ```swift
/// do { try trainer.run() } catch let e as TrainingError { print(e.localizedDescription) }
/// ```
public enum TrainingError: LocalizedError, Equatable {
    /// Bad configuration values, all listed.
    case invalidConfiguration([String])
    /// A JSON configuration file that cannot be used.
    case badConfigFile(file: String, reason: String)
    /// Images that exist but cannot be decoded (checked before any training step); at most a few are listed.
    case undecodableImages(count: Int, messages: [String])
    /// A split part too small to train or evaluate on.
    case emptySplit(split: Int, part: String, reason: String)
    /// A resume directory that does not hold a usable run.
    case badResume(directory: String, reason: String)
    /// A training checkpoint that does not fit the run.
    case badCheckpoint(file: String, reason: String)
    /// A step's batch whose inputs, names and targets do not fit together or the model.
    case badBatch(String)
    /// The loss became NaN or infinite.
    case diverged(split: Int, epoch: Int, step: Int)
    /// Training was stopped by a hook (tests simulate a kill with it).
    case interrupted(split: Int, epoch: Int, step: Int)
    /// A model file whose outputs do not match the dataset's score columns.
    case outputMismatch(model: String, outputNames: [String], datasetScores: Int)
    /// Another process is writing this run folder (`pid`: its process id, when known).
    case runLocked(directory: String, pid: Int32?)
    /// The run folder cannot be created or locked.
    case runFolderUnusable(directory: String, reason: String)
    /// SIGINT or SIGTERM stopped training; everything written before stays valid.
    case stopped(directory: String, signal: String, completedEpochs: String)
    /// A split index past the end of a split file.
    case splitIndexOutOfRange(file: String, splits: Int, index: Int)
    /// The validation part was asked for, but the split has none (e.g. the official protocol).
    case noValidationPart(file: String, split: Int)

    public var errorDescription: String? {
        switch self {
        case let .invalidConfiguration(problems):
            return "invalid training configuration: " + problems.joined(separator: "; ")
        case let .badConfigFile(file, reason):
            return "\(file): unusable training configuration: \(reason)"
        case let .undecodableImages(count, messages):
            let more = count > messages.count ? "\n  … and \(count - messages.count) more" : ""
            return "\(count) image\(count == 1 ? "" : "s") cannot be decoded:\n" + messages.map { "  " + $0 }.joined(separator: "\n") + more
        case let .emptySplit(split, part, reason):
            return "split \(split): \(part) part: \(reason)"
        case let .badResume(directory, reason):
            return "\(directory): cannot resume: \(reason)"
        case let .badCheckpoint(file, reason):
            return "\(file): unusable training checkpoint: \(reason)"
        case let .badBatch(m):
            return "training step: " + m
        case let .diverged(split, epoch, step):
            return "split \(split), epoch \(epoch), step \(step): the loss is not finite (diverged); try a lower --lr or --max-grad-norm"
        case let .interrupted(split, epoch, step):
            return "training interrupted at split \(split), epoch \(epoch), step \(step)"
        case let .outputMismatch(model, outputNames, datasetScores):
            return "\(model): the model predicts \(outputNames.count) score(s) (\(outputNames.joined(separator: ", "))), "
                + "the dataset has \(datasetScores)"
        case let .runLocked(directory, pid):
            return "\(directory): another ipiqa process\(pid.map { " (pid \($0))" } ?? "") is writing this run folder; "
                + "wait for it to finish or choose another --out"
        case let .runFolderUnusable(directory, reason):
            return "\(directory): cannot use this run folder: \(reason)"
        case let .stopped(directory, signal, completed):
            return "stopped by \(signal) (\(completed)); nothing partial was written. Continue with: ipiqa train --resume \(directory)"
        case let .splitIndexOutOfRange(file, splits, index):
            return "\(file) has \(splits) split(s); --split-index \(index) is out of range"
        case let .noValidationPart(file, split):
            return "split \(split) of \(file) has no validation part"
        }
    }
}
