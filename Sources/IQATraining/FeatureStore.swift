import Checkpoints
import CLIP
import DataParallel
import Foundation
import Imaging
import IQAModel
import NN
import Tensor

/// One image in one orientation, as the frozen trunk sees it.
///
/// ```swift
/// let item = StoreItem(image: URL(fileURLWithPath: "AGIQA-3K/a.png"), flipped: true)
/// ```
public struct StoreItem: Hashable, Sendable {
    public let image: URL
    public let flipped: Bool
    public init(image: URL, flipped: Bool) {
        self.image = image
        self.flipped = flipped
    }
}

/// Per-image cache, on disk, of what a frozen trunk (``TrainingConfiguration/freezeTrunk``) makes of an image —
/// its layer4 map (`content == .features`) or the frozen pools' projections of it (`.projections`,
/// ``TrainingConfiguration/freezeKV``, see ``ProjectedBatch``):
///
///     features     F = trunk(squash(image, R), BatchNorm in eval mode)                [g, g, C], g = R / 32
///                  and, for paper+similarity, u = CLIP's embedding at its native resolution   [E]
///     projections  mean(F), [mean F; F] W_kᵀ + b_k, … of both pools                  [C], [g² + 1, C] × 4
///
/// Layout: one safetensors file per image and orientation (written atomically, F16 or F32 per ``FeaturePrecision``):
///
///     <root>/trunk-<trunk hash>-r<R>-<precision>/<image hash>[-flip].safetensors
///     <root>/sim-<trunk hash>-<pool hash>-r<R>-<precision>/<image hash>[-flip].safetensors        (u)
///     <root>/kv-<trunk hash>-<projection hash>-r<R>-<precision>/<image hash>[-flip].safetensors
///
/// where the trunk hash covers every trunk weight and BatchNorm statistic (the checkpoint's content), the image hash
/// the file's bytes (a changed image never hits a stale entry), the pool hash the frozen `similarity_pool` that makes
/// `u` (``IPIQAModel/similarityEmbedding(images:)``), and the projection hash the four frozen `k_proj` /
/// `v_proj` weights and biases. Entries are shared by splits and runs; an interrupted extraction keeps what it
/// wrote. Values computed now are rounded to the storage precision before use, so a fresh entry and a cache hit give
/// identical numbers. RN50 at 512 px: 1 MiB (features) or 4.0 MiB (projections) per entry in F16.
///
/// ```swift
/// let store = try FeatureStore(root: cacheURL, model: model, content: .features, precision: .f16)
/// let files = try store.prepare([StoreItem(image: url, flipped: false)])    // computes what is missing
/// let input = try store.reader.input(files)                                 // ModelInput.features [1, 16, 16, 2048]
/// ```
public final class FeatureStore {
    public enum Content: String, Sendable { case features, projections }

    public let model: IPIQAModel
    public let content: Content
    public let precision: FeaturePrecision
    public let resolution: Int
    /// The folder of this store's entries.
    public let directory: URL
    /// Reads entries of this store into batches (a value: safe to use from a prefetching thread).
    public let reader: FeatureReader
    /// The arithmetic of the passes that compute missing entries (part of the directory names when 16-bit).
    public let pass: FeaturePass
    /// The arithmetic of the `u` passes (the trunk at CLIP's native side).
    public let similarityPass: FeaturePass
    /// Entries computed (not found on disk) by this object.
    public private(set) var computed = 0
    private let trunkStore: FeatureStore?
    private let imageKeys: ImageKeys

    /// Image content hashes by file, shared with the trunk store behind a projection store.
    final class ImageKeys {
        var keys: [URL: String] = [:]
    }

    /// `passPrecision`: the arithmetic of the trunk passes that fill missing entries (``FeaturePass``; `auto`
    /// calibrates on `model` here, once).
    public convenience init(root: URL, model: IPIQAModel, content: Content, precision: FeaturePrecision = .f16,
                            passPrecision: PrecisionRequest = .forced(.fp32)) throws {
        let pass = try FeaturePass(clip: model.clip, request: passPrecision, resolution: model.config.resolution)
        try self.init(root: root, model: model, content: content, precision: precision, pass: pass, imageKeys: ImageKeys())
    }

    init(root: URL, model: IPIQAModel, content: Content, precision: FeaturePrecision, pass: FeaturePass, imageKeys: ImageKeys) throws {
        self.imageKeys = imageKeys
        self.model = model
        self.content = content
        self.precision = precision
        self.pass = pass
        resolution = model.config.resolution
        var trunk = ContentHash.trunk(of: model.clip.visual)
        trunk.add("squash")
        let suffix = "r\(resolution)-\(precision.rawValue)\(pass.keySuffix)"
        var similarity: FeatureReader.SimilarityEntries?
        var similarityPass = pass
        switch content {
        case .features:
            directory = root.appendingPathComponent("trunk-\(trunk.hex)-\(suffix)")
            trunkStore = nil
            if model.similarityPool != nil && model.config.useText {
                var pool = ContentHash()
                pool.add(model) { keyIsUnder($0, prefix: "similarity_pool") }
                // u runs the trunk at CLIP's native side: its own calibration there.
                let native = try pass.at(resolution: model.clip.config.imageResolution)
                similarityPass = native
                let simSuffix = "r\(resolution)-\(precision.rawValue)\(native.keySuffix)"
                similarity = .init(directory: root.appendingPathComponent("sim-\(trunk.hex)-\(pool.hex)-\(simSuffix)"),
                                   width: model.clip.config.embedDim)
            }
        case .projections:
            var projections = ContentHash()
            for prefix in TrainingModes.frozenKVPrefixes { projections.add(model) { keyIsUnder($0, prefix: prefix) } }
            directory = root.appendingPathComponent("kv-\(trunk.hex)-\(projections.hex)-\(suffix)")
            trunkStore = try FeatureStore(root: root, model: model, content: .features, precision: precision, pass: pass,
                                          imageKeys: imageKeys)
        }
        self.similarityPass = similarityPass
        let g = resolution / 32, c = model.clip.config.featureChannels
        reader = FeatureReader(content: content, grid: g, channels: c, fusion: model.crossPool != nil, similarity: similarity)
        for folder in [directory] + (similarity.map { [$0.directory] } ?? []) {
            do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
                throw FeatureStoreError.unwritable(path: folder.path, reason: error.localizedDescription)
            }
        }
    }

    /// The entry file of an item (it may not exist yet). Hashes the image file once per object.
    public func file(for item: StoreItem) throws -> URL {
        let key: String
        if let known = imageKeys.keys[item.image] { key = known } else {
            guard let data = FileManager.default.contents(atPath: item.image.path) else {
                throw FeatureStoreError.unreadableImage(path: item.image.path)
            }
            var h = ContentHash()
            h.add(data)
            key = h.hex
            imageKeys.keys[item.image] = key
        }
        return directory.appendingPathComponent(key + (item.flipped ? "-flip" : "") + ".safetensors")
    }

    /// Entry files of `items` (in order), computing the missing ones in batches of `batchSize` images;
    /// `progress(done, missing)` follows the computation. With `share` (rank, ranks) only the missing entries of
    /// that rank's contiguous share of the distinct entries are computed (``BatchShares``): every rank of a job
    /// calls it with its own share, then a barrier, and every entry exists. Each entry is its own file, written atomically (write, then rename),
    /// so ranks never see half-written entries and disjoint shares never write the same file.
    public func prepare(_ items: [StoreItem], batchSize: Int = TrainingDefaults.featureExtractionBatch,
                        share: (rank: Int, ranks: Int) = (0, 1), progress: ((Int, Int) -> Void)? = nil) throws -> [URL] {
        let files = try items.map { try file(for: $0) }
        // The share is taken of all distinct entries, not of the missing ones: ranks check the disk at different
        // moments (another rank may already have written some), so only a list that does not depend on the disk
        // splits the same way on every rank.
        func missingOfShare(_ files: [URL]) -> [Int] {
            let all = Self.firstOccurrences(files)
            let mine = all[BatchShares.range(count: all.count, rank: share.rank, size: share.ranks)]
            return mine.filter { !FileManager.default.fileExists(atPath: files[$0].path) }
        }
        let missing = missingOfShare(files)
        let similarityFiles = reader.similarity.map { s in files.map { s.directory.appendingPathComponent($0.lastPathComponent) } }
        let missingSimilarity = similarityFiles.map(missingOfShare) ?? []
        var done = 0
        let total = missing.count + missingSimilarity.count, step = max(1, batchSize)
        for (isSimilarity, wanted, targets) in [(false, missing, files), (true, missingSimilarity, similarityFiles ?? [])] {
            for start in stride(from: 0, to: wanted.count, by: step) {
                let chunk = Array(wanted[start..<min(start + step, wanted.count)])
                let batch = chunk.map { items[$0] }
                let entries = isSimilarity ? try computeSimilarity(batch) : try compute(batch)
                for (k, i) in chunk.enumerated() { try write(entries[k], item: items[i], to: targets[i]) }
                computed += chunk.count
                done += chunk.count
                progress?(done, total)
            }
        }
        return files
    }

    /// Indices of the first occurrence of each file of `files`.
    private static func firstOccurrences(_ files: [URL]) -> [Int] {
        var seen = Set<URL>()
        return files.indices.filter { seen.insert(files[$0]).inserted }
    }

    /// `u` of each item (``IPIQAModel/similarityEmbedding(images:)``), rounded to the storage precision.
    private func computeSimilarity(_ items: [StoreItem]) throws -> [[(String, Tensor)]] {
        let pixels = try ImageBatch.load(items.map(\.image), size: resolution, mode: .squash, flips: items.map(\.flipped))
        guard let u = similarityPass.run({ model.similarityEmbedding(images: pixels) }) else { return [] }
        roundToPrecision(u)
        return items.indices.map { [("similarity", u.slice(rows: $0..<($0 + 1)))] }
    }

    /// Named tensors of each item, rounded to the storage precision.
    private func compute(_ items: [StoreItem]) throws -> [[(String, Tensor)]] {
        switch content {
        case .features:
            let pixels = try ImageBatch.load(items.map(\.image), size: resolution, mode: .squash, flips: items.map(\.flipped))
            let visual = model.clip.visual
            let modes = visual.namedModules().map { ($0.1, $0.1.isTraining) }
            visual.eval()
            defer { for (m, t) in modes { m.isTraining = t } }
            let maps = pass.run { withoutGradients { visual.trunk(Var(pixels)) }.value }
            roundToPrecision(maps)
            return items.indices.map { [("features", maps.slice(rows: $0..<($0 + 1)))] }
        case .projections:
            guard let trunkStore else { return [] }
            let files = try trunkStore.prepare(items, batchSize: items.count)
            guard case let .features(maps, _) = try trunkStore.reader.input(files) else { return [] }
            let p = FrozenProjections.project(model, features: maps)
            for t in [p.mean, p.visualKeys, p.visualValues] + [p.crossKeys, p.crossValues].compactMap({ $0 }) { roundToPrecision(t) }
            return items.indices.map { p.item($0) }
        }
    }

    private func roundToPrecision(_ t: Tensor) {
        guard precision == .f16 else { return }
        let p = t.pointer
        parallelChunks(t.count, costPerItem: 4) { r in
            for i in r { p[i] = FloatConversion.halfToFloat(FloatConversion.floatToHalf(p[i])) }
        }
    }

    private func write(_ tensors: [(String, Tensor)], item: StoreItem, to file: URL) throws {
        let records = tensors.map { (name, t) in (name, shape: Array(t.shape.dropFirst()), values: t.array) }
        let metadata = ["image": item.image.path, "flipped": String(item.flipped), "resolution": String(resolution),
                        "content": tensors.first?.0 == "similarity" ? "similarity" : content.rawValue]
        do {
            try SafetensorsWriter.write(records, dtype: precision == .f16 ? .f16 : .f32, metadata: metadata, to: file)
        } catch {
            throw FeatureStoreError.unwritable(path: file.path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }
}

/// Reads entries of a ``FeatureStore`` into a batch ``ModelInput``, checking every shape.
///
/// ```swift
/// let input = try store.reader.input(files)      // .features([n, g, g, C]) or .projected(ProjectedBatch)
/// ```
public struct FeatureReader: Sendable {
    public let content: FeatureStore.Content
    public let grid: Int, channels: Int
    /// Whether projection entries hold the fusion pool's keys/values.
    public let fusion: Bool
    /// Where the feature entries' `u` (width `E`) lies, beside each feature entry under the same file name
    /// (paper+similarity), else nil.
    public let similarity: SimilarityEntries?

    public struct SimilarityEntries: Sendable {
        public let directory: URL
        public let width: Int
    }

    public init(content: FeatureStore.Content, grid: Int, channels: Int, fusion: Bool, similarity: SimilarityEntries? = nil) {
        self.content = content
        self.grid = grid
        self.channels = channels
        self.fusion = fusion
        self.similarity = similarity
    }

    public func input(_ files: [URL]) throws -> ModelInput {
        let n = files.count, c = channels, t = grid * grid + 1
        switch content {
        case .features:
            let out = Tensor(uninitialized: [n, grid, grid, c])
            let u = similarity.map { Tensor(uninitialized: [n, $0.width]) }
            for (i, f) in files.enumerated() {
                try read(f, ["features": (out, [grid, grid, c])], row: i)
                if let u, let s = similarity {
                    try read(s.directory.appendingPathComponent(f.lastPathComponent), ["similarity": (u, [s.width])], row: i)
                }
            }
            return .features(out, similarity: u)
        case .projections:
            let mean = Tensor(uninitialized: [n, c])
            let vk = Tensor(uninitialized: [n, t, c]), vv = Tensor(uninitialized: [n, t, c])
            let ck = fusion ? Tensor(uninitialized: [n, t, c]) : nil, cv = fusion ? Tensor(uninitialized: [n, t, c]) : nil
            var wanted: [String: (Tensor, [Int])] = ["mean": (mean, [c]), "visual_keys": (vk, [t, c]), "visual_values": (vv, [t, c])]
            if let ck, let cv { wanted["cross_keys"] = (ck, [t, c]); wanted["cross_values"] = (cv, [t, c]) }
            for (i, f) in files.enumerated() { try read(f, wanted, row: i) }
            return .projected(ProjectedBatch(mean: mean, visualKeys: vk, visualValues: vv, crossKeys: ck, crossValues: cv))
        }
    }

    /// Copies each wanted tensor of `file` into row `row` of its batch tensor.
    private func read(_ file: URL, _ wanted: [String: (Tensor, [Int])], row: Int) throws {
        let dict: StateDict
        do { dict = try CheckpointLoader.load(file, normalization: .none) } catch {
            throw FeatureStoreError.badEntry(path: file.path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        for (name, (batch, shape)) in wanted {
            guard let t = dict[name] else { throw FeatureStoreError.badEntry(path: file.path, reason: "no tensor '\(name)'") }
            guard t.shape == shape else {
                throw FeatureStoreError.badEntry(path: file.path, reason: "tensor '\(name)' has shape \(t.shape), expected \(shape)")
            }
            let per = t.values.count
            t.values.withUnsafeBufferPointer { (batch.pointer + row * per).update(from: $0.baseAddress!, count: per) }
        }
    }
}

/// Errors of the feature cache; messages name the file and the problem.
///
/// ```swift
/// do { _ = try store.reader.input(files) } catch let e as FeatureStoreError { print(e.localizedDescription) }
/// ```
public enum FeatureStoreError: LocalizedError, Equatable {
    case unreadableImage(path: String)
    case unwritable(path: String, reason: String)
    case badEntry(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadableImage(path): return "\(path): cannot read the image to key the feature cache"
        case let .unwritable(path, reason): return "\(path): cannot write the feature cache (\(reason))"
        case let .badEntry(path, reason):
            return "\(path): unusable feature-cache entry: \(reason) (delete the file; it is recomputed on the next run)"
        }
    }
}
