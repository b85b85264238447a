import Foundation

/// Fractions of groups in train / validation / test for ``GroupedSplits``. Defaults 70 / 10 / 20.
public struct GroupedSplitConfiguration: Codable, Sendable, Equatable {
    public var trainFraction: Double = 0.7
    public var validationFraction: Double = 0.1
    public var testFraction: Double = 0.2

    public init(trainFraction: Double = 0.7, validationFraction: Double = 0.1, testFraction: Double = 0.2) {
        self.trainFraction = trainFraction
        self.validationFraction = validationFraction
        self.testFraction = testFraction
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GroupedSplitConfiguration()
        trainFraction = try c.decodeIfPresent(Double.self, forKey: .trainFraction) ?? d.trainFraction
        validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? d.validationFraction
        testFraction = try c.decodeIfPresent(Double.self, forKey: .testFraction) ?? d.testFraction
    }

    func validate() throws {
        let parts = [trainFraction, validationFraction, testFraction]
        guard parts.allSatisfy({ $0.isFinite && $0 >= 0 }), abs(parts.reduce(0, +) - 1) < 1e-9,
              trainFraction > 0, testFraction > 0 else {
            throw DataError.invalidArgument("grouped split fractions must be ≥ 0, sum to 1, with train and test > 0 "
                + "(got train \(trainFraction), validation \(validationFraction), test \(testFraction))")
        }
    }
}

/// Train / validation / test splits by group (``Sample/group``): no group is cut across parts, so no prompt
/// (AGIQA-3k, generic tables) or object code (AGIQA-1k) seen in training appears in validation or test.
///
/// Procedure, reproducible in numpy: the distinct groups are sorted (by Unicode scalars, = Python's `sorted`
/// for these names); `rs = np.random.RandomState(seed)`; for each split in turn `perm = rs.permutation(G)`;
/// the first `round(test·G)` permuted groups are test, the next `round(validation·G)` validation, the rest
/// train (Swift's `.rounded()`, half away from zero). Images keep label-file order within each part.
///
/// ```swift
/// let splits = try GroupedSplits.make(ds, count: 10, seed: 42)        // 70/10/20 by group
/// splits[0].validation!.count
/// ```
public enum GroupedSplits {
    public static func make(_ dataset: Dataset, count: Int = AGIQAConstants.officialSplitCount, seed: Int = AGIQAConstants.officialSeed,
                            config: GroupedSplitConfiguration = GroupedSplitConfiguration()) throws -> [Split] {
        try OfficialSplits.checkCount(count)
        try config.validate()
        let groups = Array(Set(dataset.samples.map(\.group))).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        let g = groups.count
        let nTest = Int((config.testFraction * Double(g)).rounded())
        let nValidation = Int((config.validationFraction * Double(g)).rounded())
        guard nTest >= 1, g - nTest - nValidation >= 1 else {
            throw DataError.invalidArgument("\(dataset.name): \(g) group\(g == 1 ? "" : "s") are too few for train \(config.trainFraction) / validation \(config.validationFraction) / test \(config.testFraction)")
        }
        let index = Dictionary(uniqueKeysWithValues: groups.enumerated().map { ($1, $0) })
        let sampleGroup = dataset.samples.map { index[$0.group] ?? 0 }   // every group is in `index` by construction
        var rs = try NumpyRandomState(checkedSeed: seed)
        var splits: [Split] = []
        for _ in 0..<count {
            let perm = rs.permutation(g)
            // part[group] = 0 train, 1 validation, 2 test
            var part = [UInt8](repeating: 0, count: g)
            for (k, grp) in perm.enumerated() {
                part[grp] = k < nTest ? 2 : (k < nTest + nValidation ? 1 : 0)
            }
            var lists = [OrderedNames(), OrderedNames(), OrderedNames()]
            for (s, grp) in zip(dataset.samples, sampleGroup) { lists[Int(part[grp])].append(s.image) }
            splits.append(Split(train: lists[0].names, validation: config.validationFraction > 0 ? lists[1].names : nil,
                                test: lists[2].names))
        }
        return splits
    }
}

/// The split protocols `ipiqa splits --protocol` offers.
public enum SplitProtocol: String, Codable, CaseIterable, Sendable {
    /// The official IP-IQA train/test splits (``OfficialSplits``); AGIQA-1k and AGIQA-3k only.
    case official
    /// Seeded train/validation/test by group (``GroupedSplits``).
    case grouped
}

/// Chooses the protocol implementation.
///
/// ```swift
/// let set = SplitSet(splits: try SplitMaker.make(.official, dataset: ds, kind: .agiqa1k))
/// ```
public enum SplitMaker {
    public static func make(_ proto: SplitProtocol, dataset: Dataset, kind: DatasetKind,
                            count: Int = AGIQAConstants.officialSplitCount, seed: Int = AGIQAConstants.officialSeed,
                            grouped: GroupedSplitConfiguration = GroupedSplitConfiguration()) throws -> [Split] {
        switch (proto, kind) {
        case (.official, .agiqa1k): return try OfficialSplits.agiqa1k(dataset, count: count, seed: seed)
        case (.official, .agiqa3k): return try OfficialSplits.agiqa3k(dataset, count: count, seed: seed)
        case (.official, _):
            throw DataError.invalidArgument("no official split protocol for \(kind.rawValue) (AGIQA-1k/3k only); use --protocol grouped")
        case (.grouped, _): return try GroupedSplits.make(dataset, count: count, seed: seed, config: grouped)
        }
    }
}
