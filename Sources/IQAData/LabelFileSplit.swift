import Foundation

/// A database's own split given as separate label files (AIGIQA-20K: `info_train.csv` / `info_val.csv`, NTIRE 2024):
/// both files are read with the dataset's spec, checked (no image in both), and turned into ONE label table holding
/// every row (train rows first) and ONE split whose train part is the first file's images and whose test part is the
/// second's. Train with the combined file as `--labels` and the split as `--splits-file`.
///
/// ```swift
/// let own = try LabelFileSplit.make(spec: .aigiqa20k, train: trainCSV, test: valCSV)
/// try own.combinedCSV.write(to: URL(fileURLWithPath: "aigiqa20k_all.csv"))
/// try SplitSet(splits: [own.split]).write(to: URL(fileURLWithPath: "aigiqa20k_split.json"))
/// ```
public enum LabelFileSplit {
    public struct Result: Sendable {
        /// CSV with the spec's columns (image, prompt, score columns), every row of both files.
        public let combinedCSV: Data
        public let split: Split
        public let warnings: [DatasetWarning]

        /// Writes ``combinedCSV`` atomically (errors name the file).
        public func writeCombined(to url: URL) throws { try AtomicSplitFile.write(combinedCSV, to: url) }
    }

    public static func make(spec: DatasetSpec, train: URL, test: URL) throws -> Result {
        var s = spec
        s.expectedRows = nil   // each file holds part of the database
        let a = try DatasetLoader.load(spec: s, labels: train), b = try DatasetLoader.load(spec: s, labels: test)
        let both = Set(a.imageNames).intersection(b.imageNames).sorted()
        if !both.isEmpty {
            throw DataError.splitFile(file: test.path, reason: "\(both.count) image\(both.count == 1 ? "" : "s") also in \(train.path) (\(both.prefix(5).joined(separator: ", ")))")
        }
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var csv = ([spec.imageColumn, spec.promptColumn] + spec.scoreColumns).map(field).joined(separator: ",") + "\n"
        for sample in a.samples + b.samples {
            csv += ([field(sample.image), field(sample.prompt)] + sample.scores.map { String($0) }).joined(separator: ",") + "\n"
        }
        func names(_ d: Dataset) -> [String] {
            var seen = Set<String>()
            return d.imageNames.filter { seen.insert($0).inserted }
        }
        return Result(combinedCSV: Data(csv.utf8), split: Split(train: names(a), test: names(b)), warnings: a.warnings + b.warnings)
    }
}
