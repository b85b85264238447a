import Foundation

/// One labelled image: its file name (relative to the image root), the prompt it was generated from, its
/// scores (in the order of ``Dataset/scoreNames``) and its group — the unit that split protocols keep
/// together (see ``GroupRule``).
///
/// ```swift
/// let s = Sample(image: "AttnGAN_normal_000.jpg", prompt: "statue of a man",
///                scores: [0.9656, 0.4089], group: "000")
/// ```
public struct Sample: Codable, Sendable, Equatable {
    public let image: String
    public let prompt: String
    public let scores: [Double]
    public let group: String

    public init(image: String, prompt: String, scores: [Double], group: String) {
        self.image = image
        self.prompt = prompt
        self.scores = scores
        self.group = group
    }
}

/// Something about the labels that is not an error but should be known (a duplicated row, an image without a
/// label, a score outside the declared range). `line` is the row/line of the label file, when there is one.
public struct DatasetWarning: Codable, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let message: String

    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { file + (line.map { ":\($0)" } ?? "") + ": warning: " + message }
}

/// A loaded dataset: typed samples in label-file order, the names of their score columns, where the images
/// live (if known) and the warnings raised while loading.
///
/// ```swift
/// let ds = try DatasetLoader.load(.agiqa3k)
/// ds.samples.count        // 2982
/// ds.scoreNames           // ["quality", "alignment"]
/// ds.samples[0].scores    // [0.965602553, 0.40889324]
/// ```
public struct Dataset: Sendable {
    public let name: String
    public let scoreNames: [String]
    public var samples: [Sample]
    /// Folder holding the images (``Sample/image`` is relative to it); nil when not given.
    public let root: URL?
    public let warnings: [DatasetWarning]
    /// The label file the samples came from.
    public let labelFile: String

    public init(name: String, scoreNames: [String], samples: [Sample], root: URL?, warnings: [DatasetWarning] = [], labelFile: String = "") {
        self.name = name
        self.scoreNames = scoreNames
        self.samples = samples
        self.root = root
        self.warnings = warnings
        self.labelFile = labelFile
    }

    /// Image names in sample order.
    public var imageNames: [String] { samples.map(\.image) }

    /// The samples whose images are listed in `names`, in the order of `names` (unknown names are skipped;
    /// ``SplitSet/validate(against:)`` reports them). A name with several rows (a ``DuplicatePolicy/keepAll`` dataset:
    /// AGIQA-1k's 1,080 rows as the official code reads them) gives all of them, in label-file order, so both labels of
    /// the image train (or are tested) together, as in the official code.
    public func samples(named names: [String]) -> [Sample] {
        var byName: [String: [Sample]] = [:]
        for s in samples { byName[s.image, default: []].append(s) }
        return names.flatMap { byName[$0] ?? [] }
    }
}

/// Checks that every image of `dataset` exists under `root`; throws ONE ``DataError/missingImages(root:names:)``
/// listing all missing files (the message shows the count and the first names).
///
/// ```swift
/// try checkImagesExist(ds, root: URL(fileURLWithPath: "AGIQA-3K"))
/// ```
public func checkImagesExist(_ dataset: Dataset, root: URL) throws {
    let fm = FileManager.default
    var missing: [String] = []
    var seen = Set<String>()
    for s in dataset.samples where seen.insert(s.image).inserted {
        var isDirectory: ObjCBool = false
        let path = root.appendingPathComponent(s.image).path
        if !fm.fileExists(atPath: path, isDirectory: &isDirectory) || isDirectory.boolValue { missing.append(s.image) }
    }
    if !missing.isEmpty { throw DataError.missingImages(root: root.path, names: missing) }
}
