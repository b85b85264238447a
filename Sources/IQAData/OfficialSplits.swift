import Foundation

/// The train/test splits of the official IP-IQA code (github.com/Coobiw/IP-IQA), reproduced bit for bit,
/// including their random streams. Both scripts seed once (`seed_everything(42)`) and then, for each of the
/// `--num_cv` repetitions in turn, call their split function again on the continuing stream. (This assumes
/// training between two splits draws nothing from Python's `random` or numpy's global stream, as in the
/// official code, whose randomness is torch's.)
///
/// - AGIQA-3k (`train_agiqa3k.py`, `agiqa3k_split_fn`): `np.random.seed(seed)`; per split
///   `indices = np.random.permutation(300)`; an image is in train iff the integer after the last `_` of its
///   name (extension cut) is in `indices[:240]`.
/// - AGIQA-1k (`train_agiqa1k.py`, `agiqa1k_split_fn`): `random.seed(seed)`; per split, with fresh sets, walk
///   the rows in file order; the row's code is ``AGIQA1kCode`` (`"code1_code2"`, the key is the pair); the
///   first row of a not-yet-seen code draws `random.random() < 0.8` → train, else test; later rows of a code
///   follow it. A duplicated row never draws (its code is already seen), so keeping or dropping the duplicate
///   gives the same splits.
///
/// Names appear once per part, in label-file order. Checked against the Python/numpy transcription in
/// `Scripts/fixtures_splits.py`.
///
/// ```swift
/// let ds = try DatasetLoader.load(.agiqa3k)
/// let splits = try OfficialSplits.agiqa3k(ds, count: 10, seed: 42)
/// splits[0].train.count   // 2383
/// ```
public enum OfficialSplits {
    /// The official AGIQA-3k protocol over `dataset`'s image names.
    public static func agiqa3k(_ dataset: Dataset, count: Int = AGIQAConstants.officialSplitCount,
                               seed: Int = AGIQAConstants.officialSeed) throws -> [Split] {
        try checkCount(count)
        let ids = try dataset.samples.map { s -> Int in
            let stem = ImageName.stem(s.image)
            guard let last = stem.split(separator: "_", omittingEmptySubsequences: false).last,
                  let id = ImageName.pythonInt(last) else {
                throw DataError.badImageName(file: dataset.labelFile, name: s.image,
                                             reason: "the official AGIQA-3k split needs an integer after the last '_'")
            }
            return id
        }
        var rs = try NumpyRandomState(checkedSeed: seed)
        var splits: [Split] = []
        for _ in 0..<count {
            let indices = rs.permutation(AGIQAConstants.agiqa3kPrompts)
            let trainIDs = Set(indices.prefix(AGIQAConstants.agiqa3kOfficialTrainPrompts))
            var train = OrderedNames(), test = OrderedNames()
            for (s, id) in zip(dataset.samples, ids) {
                if trainIDs.contains(id) { train.append(s.image) } else { test.append(s.image) }
            }
            splits.append(Split(train: train.names, test: test.names))
        }
        return splits
    }

    /// The official AGIQA-1k protocol over `dataset`'s rows in order.
    public static func agiqa1k(_ dataset: Dataset, count: Int = AGIQAConstants.officialSplitCount,
                               seed: Int = AGIQAConstants.officialSeed) throws -> [Split] {
        try checkCount(count)
        let codes = try dataset.samples.map { s -> String in
            do { return try AGIQA1kCode(imageName: s.image).key } catch DataError.badImageName(_, let name, let reason) {
                throw DataError.badImageName(file: dataset.labelFile, name: name, reason: reason)
            }
        }
        var rng = PythonRandom(seed: seed)
        var splits: [Split] = []
        for _ in 0..<count {
            var inTrain: [String: Bool] = [:]
            var train = OrderedNames(), test = OrderedNames()
            for (s, code) in zip(dataset.samples, codes) {
                let isTrain: Bool
                if let known = inTrain[code] {
                    isTrain = known
                } else {
                    isTrain = rng.random() < AGIQAConstants.officialTrainFraction
                    inTrain[code] = isTrain
                }
                if isTrain { train.append(s.image) } else { test.append(s.image) }
            }
            splits.append(Split(train: train.names, test: test.names))
        }
        return splits
    }

    static func checkCount(_ count: Int) throws {
        guard count >= 1 else { throw DataError.invalidArgument("split count must be at least 1 (got \(count))") }
    }
}

/// Names in first-appearance order without repeats (a `keepAll` dataset may list an image twice).
struct OrderedNames {
    private(set) var names: [String] = []
    private var seen = Set<String>()

    mutating func append(_ name: String) {
        if seen.insert(name).inserted { names.append(name) }
    }
}
