import CLIP
import CLIPTokenizer
import Foundation
import Imaging
import IQAData
import Tensor

/// One mini-batch ready for the model: preprocessed images `[n, R, R, 3]`, token rows (empty when the model is
/// image-only) and targets `[n, k]` (raw MOS).
public struct TrainingBatch: Sendable {
    public let images: Tensor
    public let tokens: [[Int32]]
    public let targets: Tensor
    public let names: [String]

    public init(images: Tensor, tokens: [[Int32]], targets: Tensor, names: [String]) {
        self.images = images
        self.tokens = tokens
        self.targets = targets
        self.names = names
    }

    public var count: Int { names.count }

    /// Rows `range` of the batch (views, no copy): a micro-batch.
    public func slice(_ range: Range<Int>) -> TrainingBatch {
        TrainingBatch(images: images.slice(rows: range), tokens: tokens.isEmpty ? [] : Array(tokens[range]),
                      targets: targets.slice(rows: range), names: Array(names[range]))
    }
}

/// The labelled images of one split part: file URLs, prompts tokenized once (CLIP context 77, `truncate=True`),
/// and scores. ``batch(_:resolution:flips:)`` decodes, optionally mirrors, squash-resizes (PIL bicubic) and
/// CLIP-normalises the requested items (``ImageBatch``), in parallel.
///
/// ```swift
/// let part = try LabeledImages(samples: ds.samples(named: split.test), root: root, tokenizer: tokenizer)
/// let batch = try part.batch(Array(0..<8), resolution: 512, flips: nil)
/// ```
public struct LabeledImages: Sendable {
    public let names: [String]
    public let urls: [URL]
    /// One token row per item (empty when built without a tokenizer).
    public let tokens: [[Int32]]
    /// `scores[i]` has one value per output.
    public let scores: [[Double]]

    public init(samples: [Sample], root: URL, tokenizer: CLIPTokenizer?) throws {
        names = samples.map(\.image)
        urls = samples.map { root.appendingPathComponent($0.image) }
        scores = samples.map(\.scores)
        tokens = try tokenizer.map { try $0.tokenize(samples.map(\.prompt), contextLength: TrainingDefaults.contextLength, truncate: true) } ?? []
    }

    public var count: Int { names.count }
    public var outputs: Int { scores.first?.count ?? 0 }

    /// Items `indices` as a batch; `flips[j]` mirrors item `indices[j]` horizontally (the training augmentation).
    public func batch(_ indices: [Int], resolution: Int, flips: [Bool]?) throws -> TrainingBatch {
        let images = try ImageBatch.load(indices.map { urls[$0] }, size: resolution, mode: .squash, flips: flips)
        let k = outputs
        let targets = Tensor(uninitialized: [indices.count, k])
        for (j, i) in indices.enumerated() { for o in 0..<k { targets.pointer[j * k + o] = Float(scores[i][o]) } }
        return TrainingBatch(images: images, tokens: tokens.isEmpty ? [] : indices.map { tokens[$0] },
                             targets: targets, names: indices.map { names[$0] })
    }
}

/// Decodes every image once before training so that a corrupt file fails the run up front, naming it (and every
/// other bad file, up to a limit), instead of crashing an epoch hours later. Parallel over images; nothing is kept.
///
/// ```swift
/// try ImageVerifier.verify(names: ds.imageNames, root: root)
/// ```
public enum ImageVerifier {
    /// Files listed by name in the error (the count covers all).
    public static let maxListed = 20

    public static func verify(names: [String], root: URL, progress: ((Int, Int) -> Void)? = nil) throws {
        let failures = FailureList(names.count)
        let chunk = 64
        var done = 0
        while done < names.count {
            let range = done..<min(done + chunk, names.count)
            parallelFor(range.count, costPerItem: 1 << 20) { j in
                let i = range.lowerBound + j
                let url = root.appendingPathComponent(names[i])
                do { _ = try ImageCodec.decode(contentsOf: url) } catch {
                    let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
                    failures.set(i, message.contains(names[i]) ? message : "\(url.path): \(message)")
                }
            }
            done = range.upperBound
            progress?(done, names.count)
        }
        let all = failures.all
        if !all.isEmpty { throw TrainingError.undecodableImages(count: all.count, messages: Array(all.prefix(maxListed))) }
    }
}

/// Loads the next batch on a background thread while the current step runs (`wait()` blocks until it is ready).
/// Loading is deterministic per batch, so prefetching never changes the numbers.
///
/// ```swift
/// let pending = BatchPrefetcher { try part.batch(idx, resolution: 512, flips: flips) }
/// let batch = try pending.wait()
/// ```
public final class Prefetcher<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Value, Error>?

    public init(_ load: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            let r = Result { try load() }
            condition.lock()
            result = r
            condition.signal()
            condition.unlock()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// The loaded value (or the loading error), waiting until it is ready.
    public func wait() throws -> Value {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return try result!.get()
    }
}

/// Prefetches image batches (full fine-tuning).
public typealias BatchPrefetcher = Prefetcher<TrainingBatch>

/// One message slot per index, written from parallel workers (distinct indices).
private final class FailureList: @unchecked Sendable {
    private var slots: [String?]
    init(_ n: Int) { slots = Array(repeating: nil, count: n) }
    func set(_ i: Int, _ message: String) { slots.withUnsafeMutableBufferPointer { $0[i] = message } }
    var all: [String] { slots.compactMap { $0 } }
}
