import Archive
import Checkpoints
import CLIP
import CLIPTokenizer
import Foundation
import Imaging
import IQAData
import IQAModel
import IQATraining

/// One entry point per parser of untrusted input, each taking arbitrary bytes: the libFuzzer targets in `Fuzz/` call
/// them (`make fuzz`), and `ParserFuzzingTests` replays every committed corpus and crash-regression input through
/// them in the test suite. An entry may throw (bad input is expected to be refused); it must never crash, hang or
/// exhaust memory, and it checks the invariants a refused or accepted input must keep.
///
/// ```swift
/// FuzzEntry.run(.zip, Data([0x50, 0x4B, 0x05, 0x06]))
/// ```
public enum FuzzEntry: String, CaseIterable, Sendable {
    /// Checkpoint files by content: PyTorch zip / TorchScript (pickle machine), safetensors, legacy pickle refusal.
    case checkpoint
    /// IP-IQA model files: safetensors plus the model and CLIP configurations in the metadata, checked against the
    /// tensors and loaded.
    case modelFile
    /// Zip archives (every member, whole and as a prefix) and gzip streams.
    case zip
    /// `.xlsx` label workbooks.
    case xlsx
    /// CSV label files.
    case csv
    /// JSON configurations: training configuration files, split files, and the two model configurations.
    case jsonConfig
    /// JPEG / PNG / WebP through the C codec shim.
    case image
    /// The tokenizer's text cleaning (ftfy, html.unescape) and BPE.
    case tokenizer
    /// MATLAB level-5 MAT-files (AIGCIQA2023's published MOS files), compressed elements included.
    case mat

    /// The libFuzzer target's name (`Fuzz/Sources/<name>`) and corpus folder (`Fuzz/Corpus/<name>`).
    public var targetName: String { "Fuzz" + rawValue.prefix(1).uppercased() + rawValue.dropFirst() }

    /// Feeds `data` to the parser; errors are the parser refusing the input and are ignored.
    public func run(_ data: Data) {
        switch self {
        case .checkpoint: Self.withFile(data, ext: "pt") { _ = try? CheckpointLoader.load($0) }
        case .modelFile: Self.withFile(data, ext: "safetensors") { url in
            if let (model, _) = try? IPIQACheckpoint.load(url) { precondition(model.config.crossHeads >= 1) }
        }
        case .zip: Self.zip(data)
        case .xlsx: Self.withFile(data, ext: "xlsx") { _ = try? XLSXReader.read($0) }
        case .csv: _ = try? CSVParser.parse(data, file: "fuzz.csv")
        case .jsonConfig: Self.json(data)
        case .image: Self.image(data)
        case .tokenizer: Self.tokenize(data)
        case .mat: Self.mat(data)
        }
    }

    private static func zip(_ data: Data) {
        if let archive = try? ZipArchive(data: data, url: URL(fileURLWithPath: "fuzz.zip")) {
            for entry in archive.entries.prefix(64) {
                if let whole = try? archive.data(for: entry) { precondition(whole.count == entry.uncompressedSize) }
                if let head = try? archive.data(for: entry, prefix: 16) { precondition(head.count <= max(16, entry.uncompressedSize)) }
            }
        }
        if let out = try? Inflate.gunzip(data, file: "fuzz.gz") { precondition(out.count <= Inflate.maxGzipOutput) }
    }

    private static func json(_ data: Data) {
        _ = JSONText.duplicateKey(in: data)
        withFile(data, ext: "json") { url in
            if let c = try? TrainingConfiguration.read(from: url) { _ = try? c.validate() }
            _ = try? SplitSet.read(from: url)
        }
        let decoder = JSONDecoder()
        if let c = try? decoder.decode(IPIQAConfiguration.self, from: data) { _ = try? c.validate(featureChannels: 2048, source: "fuzz") }
        if let c = try? decoder.decode(CLIPConfiguration.self, from: data) {
            if (try? c.validate(source: "fuzz")) != nil { precondition(c.featureChannels % c.visionHeads == 0 && c.transformerWidth % c.transformerHeads == 0) }
        }
    }

    private static func image(_ data: Data) {
        guard let image = try? ImageCodec.decode(data, name: "fuzz.img") else { return }
        precondition(image.pixels.count == image.width * image.height * 3)
    }

    private static func mat(_ data: Data) {
        guard let variables = try? MATFile.parse(data, file: "fuzz.mat") else { return }
        precondition(variables.count <= MATFile.maxVariables)
        for case let .numeric(m) in variables {
            precondition(m.values.count == m.dimensions.reduce(1, *) && m.values.count <= MATFile.maxValues)
        }
    }

    private static let sharedTokenizer = try? CLIPTokenizer()

    private static func tokenize(_ data: Data) {
        guard let tokenizer = sharedTokenizer else { return }
        let text = String(decoding: data, as: UTF8.self)
        _ = tokenizer.clean(text)
        if let rows = try? tokenizer.tokenize([text], contextLength: 77, truncate: true) { precondition(rows[0].count == 77) }
    }

    /// Runs `body` on `data` written to a scratch file of this process (parsers that take a path).
    private static func withFile(_ data: Data, ext: String, _ body: (URL) -> Void) {
        let url = scratch.appendingPathComponent("input.\(ext)")
        guard (try? data.write(to: url)) != nil else { return }
        body(url)
    }

    private static let scratch: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
        let url = base.appendingPathComponent("ipiqa-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()
}
