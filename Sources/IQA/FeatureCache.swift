import CLIP
import Checkpoints
import Foundation
import Imaging
import NN
import Tensor

/// Layer4 feature maps of a frozen CLIP image trunk, computed once per image and reused: in memory, and optionally
/// on disk. When the trunk is frozen (IP-IQA with `--freeze-trunk`, the demo), everything after it — attention pools,
/// fusion, head, [QA] — trains on these maps, so each image passes the trunk only once.
///
///     F(image) = trunk(preprocess(image, resolution, mode))      [g, g, C], g = resolution / 32, batch norm in eval mode
///
/// An entry is keyed by the **model fingerprint** (``fingerprint(_:)``: a hash of every parameter and buffer), the
/// **image content** (``imageKey(_:)``: a hash of the file's bytes), the **resolution** and the **preprocessing**.
/// On disk, one safetensors file per requested image set lives in `<directory>/<fingerprint>-r<res>-<mode>/`,
/// holding `features` `[N, g, g, C]` and, in its metadata, the image keys in order; it is written atomically.
/// With `halfPrecision` values are stored as F16 and — so that a fresh computation and a cache hit give identical
/// numbers — the in-memory copies are rounded to F16 as well.
///
/// ```swift
/// let cache = FeatureCache(directory: URL(fileURLWithPath: "cache/features"))
/// let maps = try cache.features(model: clip, images: urls, resolution: 128)   // [N, 4, 4, 256]
/// ```
public final class FeatureCache {
    public let directory: URL?
    public let halfPrecision: Bool
    /// Images passed through the trunk by this cache object (the rest came from memory or disk).
    public private(set) var computedImages = 0
    /// Image sets read back from disk.
    public private(set) var diskHits = 0
    private var memory: [String: [Float]] = [:]
    private var shapes: [String: [Int]] = [:]

    public init(directory: URL?, halfPrecision: Bool = true) {
        self.directory = directory
        self.halfPrecision = halfPrecision
    }

    /// The layer4 maps `[N, g, g, C]` of `images` under `model`'s trunk. `fingerprint` defaults to
    /// ``fingerprint(_:)`` of the model; `progress(done, total)` follows the images that had to be computed.
    public func features(model: CLIPModel, fingerprint: String? = nil, images: [URL], resolution: Int,
                         mode: PreprocessMode = .squash, batchSize: Int = 64,
                         progress: ((Int, Int) -> Void)? = nil) throws -> Tensor {
        guard !images.isEmpty else { throw FeatureCacheError.invalid("no images requested") }
        guard resolution > 0, resolution % 32 == 0 else {
            throw FeatureCacheError.invalid("resolution must be a positive multiple of 32, got \(resolution)")
        }
        let print = fingerprint ?? Self.fingerprint(model)
        let space = "\(print)-r\(resolution)-\(mode.rawValue)"
        let keys = try images.map { space + "/" + (try Self.imageKey($0)) }
        let g = resolution / 32, c = model.config.featureChannels
        let shape = [g, g, c]

        if keys.contains(where: { memory[$0] == nil }), let directory {
            let file = directory.appendingPathComponent(space).appendingPathComponent(Self.setKey(keys) + ".safetensors")
            if FileManager.default.fileExists(atPath: file.path) { try readSet(file, keys: keys, shape: shape) }
        }
        let missing = images.indices.filter { memory[keys[$0]] == nil }
        if !missing.isEmpty {
            model.visual.eval()
            var done = 0
            for start in stride(from: 0, to: missing.count, by: max(1, batchSize)) {
                let chunk = Array(missing[start..<min(start + max(1, batchSize), missing.count)])
                let pixels = try ImageBatch.load(chunk.map { images[$0] }, size: resolution, mode: mode)
                let maps = withoutGradients { model.visual.trunk(Var(pixels)) }.value
                let per = maps.count / chunk.count
                for (k, i) in chunk.enumerated() {
                    var row = Array(UnsafeBufferPointer(start: maps.pointer + k * per, count: per))
                    if halfPrecision { Self.roundToHalf(&row) }
                    memory[keys[i]] = row
                }
                computedImages += chunk.count
                done += chunk.count
                progress?(done, missing.count)
            }
            if let directory { try writeSet(directory.appendingPathComponent(space), keys: keys, shape: shape) }
        }
        let per = shape.reduce(1, *)
        let out = Tensor(uninitialized: [images.count] + shape)
        for (i, key) in keys.enumerated() {
            guard let row = memory[key], row.count == per else {
                throw FeatureCacheError.invalid("feature map of \(images[i].path) has the wrong size")
            }
            row.withUnsafeBufferPointer { (out.pointer + i * per).update(from: $0.baseAddress!, count: per) }
        }
        return out
    }

    /// Drops the in-memory entries (disk files stay).
    public func removeAllFromMemory() { memory.removeAll() }

    private func readSet(_ file: URL, keys: [String], shape: [Int]) throws {
        let dict = try CheckpointLoader.load(file)
        guard let stored = dict.metadata["images"]?.split(separator: "\n").map(String.init), stored == keys,
              let t = dict["features"], t.shape == [keys.count] + shape else {
            return   // a different set under the same name (hash collision) or an old layout: recompute
        }
        let per = shape.reduce(1, *)
        for (i, key) in keys.enumerated() { memory[key] = Array(t.values[(i * per)..<((i + 1) * per)]) }
        diskHits += 1
    }

    private func writeSet(_ folder: URL, keys: [String], shape: [Int]) throws {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw FeatureCacheError.writeFailed(path: folder.path, reason: error.localizedDescription)
        }
        var values: [Float] = []
        values.reserveCapacity(keys.count * shape.reduce(1, *))
        for key in keys { values += memory[key] ?? [] }
        try SafetensorsWriter.write([("features", shape: [keys.count] + shape, values: values)],
                                    dtype: halfPrecision ? .f16 : .f32,
                                    metadata: ["images": keys.joined(separator: "\n")],
                                    to: folder.appendingPathComponent(Self.setKey(keys) + ".safetensors"))
    }

    /// Rounds each value to the nearest F16 (what the disk copy holds).
    static func roundToHalf(_ values: inout [Float]) {
        for i in values.indices { values[i] = FloatConversion.halfToFloat(FloatConversion.floatToHalf(values[i])) }
    }

    /// A 16-hex-digit hash of a model's parameter and buffer names, shapes and values (FNV-1a 64).
    public static func fingerprint(_ model: any Module) -> String {
        var h = FNV1a()
        for (name, v) in model.namedParameters() { h.add(name); h.add(v.value) }
        for (name, t) in model.namedBuffers() { h.add(name); h.add(t) }
        return h.hex
    }

    /// A hash of an image file's bytes (16 hex digits), so a changed file never hits a stale entry.
    public static func imageKey(_ url: URL) throws -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FeatureCacheError.unreadable(path: url.path)
        }
        var h = FNV1a()
        h.add(data)
        return h.hex
    }

    static func setKey(_ keys: [String]) -> String {
        var h = FNV1a()
        for k in keys { h.add(k) }
        return h.hex
    }
}

/// FNV-1a, 64 bit.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add<C: Collection>(bytes: C) where C.Element == UInt8 {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    }
    mutating func add(_ s: String) { add(bytes: Array(s.utf8) + [0]) }
    mutating func add(_ d: Data) { add(bytes: d) }
    mutating func add(_ t: Tensor) {
        add(t.shape.map(String.init).joined(separator: "x"))
        let raw = UnsafeRawBufferPointer(start: t.pointer, count: t.count * MemoryLayout<Float>.size)
        add(bytes: raw)
    }
    var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Errors of the feature cache; messages name the file or the problem.
public enum FeatureCacheError: LocalizedError, Equatable {
    case invalid(String)
    case unreadable(path: String)
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .invalid(m): return "feature cache: " + m
        case let .unreadable(path): return "feature cache: cannot read image \(path)"
        case let .writeFailed(path, reason): return "feature cache: cannot write \(path) (\(reason))"
        }
    }
}
