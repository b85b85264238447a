import Archive
import Foundation

/// Loads a checkpoint, choosing the reader from the file's content (never its extension):
/// zip magic `PK\u{3}\u{4}` → PyTorch zip (TorchScript when it has `code/` or `constants.pkl`, else `torch.save`);
/// an 8-byte little-endian length followed by `{` → safetensors; pickle magic `0x80` → the pre-1.6 `torch.save`
/// format, which is refused with an explanation. No code in the file is ever executed.
///
/// ```swift
/// let sd = try CheckpointLoader.load(URL(fileURLWithPath: "RN50.pt"))
/// let w = sd.tensors["visual.conv1.weight"]!          // fp16 in the file, exact Float32 here
/// ```
public enum CheckpointLoader {
    public static func load(_ url: URL, normalization: KeyNormalization = .standard) throws -> StateDict {
        let file = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw CheckpointError(file: file, kind: .fileNotFound, message: "checkpoint file does not exist")
        }
        guard !isDirectory.boolValue else {
            throw CheckpointError(file: file, kind: .unreadable, message: "is a directory, not a checkpoint file")
        }
        if let problem = FileProblem.readProblem(url) {
            throw CheckpointError(file: file, kind: .unreadable, message: "cannot read checkpoint: \(problem)")
        }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw CheckpointError(file: file, kind: .unreadable, message: "cannot read checkpoint (\(FileProblem.describe(error)))")
        }
        let head = [UInt8](data.prefix(16))
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            let zip: ZipArchive
            do { zip = try ZipArchive(data: data, url: url) } catch { throw CheckpointError.archive(file, error) }
            return try TorchArchiveReader.load(zip, url: url, normalization: normalization)
        }
        if head.count >= 9, head[8] == UInt8(ascii: "{") {
            return try SafetensorsReader.load(data, url: url, normalization: normalization)
        }
        if head.first == 0x80 {
            throw CheckpointError(file: file, kind: .unsupported,
                                  message: "legacy (PyTorch < 1.6, non-zip) torch.save format is not supported; re-save it with a current PyTorch")
        }
        if head.starts(with: [0x1F, 0x8B]) {
            throw CheckpointError(file: file, kind: .unknownFormat, message: "is gzip-compressed; decompress it first")
        }
        let hex = head.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw CheckpointError(file: file, kind: .unknownFormat,
                              message: "unrecognised checkpoint format (first bytes \(hex.isEmpty ? "none: empty file" : hex)); expected a PyTorch zip, TorchScript archive or safetensors file")
    }
}
