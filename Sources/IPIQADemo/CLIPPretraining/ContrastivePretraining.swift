import CLIP
import Foundation
import NN
import Tensor

/// Settings of the tiny CLIP's contrastive pre-training (defaults: settings that give a usable tiny CLIP on the synthetic world).
///
/// ```swift
/// var config = ContrastiveConfiguration()
/// config.steps = 150; config.batchSize = 128           // the quick demo
/// ```
public struct ContrastiveConfiguration: Codable, Sendable, Equatable {
    public var steps = 400
    public var batchSize = 256
    /// Peak AdamW learning rate (cosine schedule after `warmupSteps` linear warm-up steps).
    public var learningRate = 1e-3
    public var warmupSteps = 20
    /// Decoupled weight decay of matrices and convolution kernels (biases, norms, embeddings and the logit scale: 0).
    public var weightDecay = 0.05
    /// The learnable temperature is clamped to `exp(logitScale) ≤ maxLogitScale` after each step (CLIP: 100).
    public var maxLogitScale = 100.0
    /// Seed of the model initialisation and the epoch shuffles.
    public var seed: UInt64 = 0

    public init() {}

    /// Decodes JSON; missing keys keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ContrastiveConfiguration()
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? d.steps
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? d.warmupSteps
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        maxLogitScale = try c.decodeIfPresent(Double.self, forKey: .maxLogitScale) ?? d.maxLogitScale
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
    }

    public func validate() throws {
        func bad(_ m: String) -> DemoError { .invalidSetting("contrastive pre-training: " + m) }
        guard steps >= 0 else { throw bad("steps must be ≥ 0, got \(steps)") }
        guard batchSize >= 2 else { throw bad("batch size must be ≥ 2, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("learning rate must be positive") }
        guard weightDecay >= 0, maxLogitScale >= 1 else { throw bad("weight decay must be ≥ 0 and max logit scale ≥ 1") }
    }
}

/// Progress of one contrastive step.
public struct ContrastiveProgress: Sendable {
    public let step: Int, steps: Int
    public let loss: Float
    public let learningRate: Double
    public let logitScale: Float
    public let seconds: Double
}

/// CLIP's contrastive pre-training (Radford et al. 2021) of a CLIP model on in-memory (image, token row) pairs:
///
///     I = encodeImage(x), T = encodeText(tokens)       (token rows cut to the batch's longest prompt)
///     L = ½ (CE(s · Î Tᵀ̂, diag) + CE(s · T̂ Îᵀ, diag)),  s = exp(logit_scale) (learnable, clamped to ≤ 100)
///
/// AdamW with a cosine schedule (``CosineSchedule``), batch norm in training mode, seeded epoch shuffles: the same
/// data, config and thread count give the same weights.
///
/// ```swift
/// let trainer = ContrastivePretrainer(clip: CLIPModel(config: arch.configuration, seed: 1), config: config)
/// try trainer.train(images: pixels, tokens: rows) { print($0.step, $0.loss) }
/// ```
public final class ContrastivePretrainer {
    public let clip: CLIPModel
    public let config: ContrastiveConfiguration
    public let optimizer: AdamW
    private var rng: SeededGenerator

    public init(clip: CLIPModel, config: ContrastiveConfiguration) throws {
        try config.validate()
        self.clip = clip
        self.config = config
        rng = SeededGenerator(seed: config.seed ^ 0x5EED_C11F)
        clip.unfreeze()
        let params = clip.namedParameters()
        let decayed = params.filter { $0.1.value.rank >= 2 && !$0.0.hasPrefix("token_embedding") && $0.0 != "positional_embedding" }
        let names = Set(decayed.map(\.0))
        optimizer = AdamW([ParamGroup(decayed, learningRate: config.learningRate, weightDecay: config.weightDecay),
                           ParamGroup(params.filter { !names.contains($0.0) }, learningRate: config.learningRate, weightDecay: 0)])
    }

    /// One step on a preprocessed batch `[B, R, R, 3]` and its token rows; returns the loss before the step.
    @discardableResult
    public func step(images: Tensor, tokens: [[Int32]], learningRate: Double) throws -> Float {
        for g in optimizer.groups.indices { optimizer.groups[g].learningRate = learningRate }
        clip.train()
        let image = clip.encodeImage(Var(images))
        let text = try clip.encodeText(tokens)
        let loss = clipContrastiveLoss(image: image, text: text, logitScale: clip.logitScale)
        let value = loss.value.item
        guard value.isFinite else { throw DemoError.diverged(stage: "contrastive pre-training", loss: value) }
        loss.backward()
        optimizer.step()
        optimizer.zeroGrad()
        let cap = Float(Foundation.log(config.maxLogitScale))
        let p = clip.logitScale.value.pointer
        p[0] = min(max(p[0], 0), cap)
        return value
    }

    /// `config.steps` steps over `count` pairs, reshuffled every epoch; `batch(indices)` supplies the pixels
    /// `[B, R, R, 3]` and token rows of those pair indices.
    public func train(count: Int, batch: ([Int]) throws -> (Tensor, [[Int32]]),
                      progress: ((ContrastiveProgress) -> Void)? = nil) throws {
        guard count >= config.batchSize else {
            throw DemoError.invalidSetting("contrastive pre-training: \(count) pairs are fewer than one batch of \(config.batchSize)")
        }
        let schedule = CosineSchedule(base: config.learningRate, warmup: config.warmupSteps, total: config.steps)
        var order: [Int] = [], cursor = count
        for s in 0..<config.steps {
            let start = Date()
            if cursor + config.batchSize > count { order = shuffled(count); cursor = 0 }
            let indices = Array(order[cursor..<(cursor + config.batchSize)])
            cursor += config.batchSize
            let (images, tokens) = try batch(indices)
            let lr = schedule(s)
            let loss = try step(images: images, tokens: tokens, learningRate: lr)
            progress?(ContrastiveProgress(step: s + 1, steps: config.steps, loss: loss, learningRate: lr,
                                          logitScale: Foundation.exp(clip.logitScale.value.item),
                                          seconds: Date().timeIntervalSince(start)))
        }
        clip.eval()
    }

    /// Fisher–Yates with the trainer's seeded generator.
    private func shuffled(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) } }
        return a
    }
}

/// Zero-shot retrieval of a CLIP model on pairs it did not train on: the fraction of images whose own prompt is the
/// most similar of the batch's prompts (image → text top-1), and the reverse.
///
/// ```swift
/// let r = try RetrievalCheck.topOne(clip: clip, images: pixels, tokens: rows)   // (0.41, 0.38)
/// ```
public enum RetrievalCheck {
    public static func topOne(clip: CLIPModel, images: Tensor, tokens: [[Int32]]) throws -> (imageToText: Double, textToImage: Double) {
        clip.eval()
        let (img, txt) = try withoutGradients { (l2Normalize(clip.encodeImage(Var(images))).value, l2Normalize(try clip.encodeText(tokens)).value) }
        let n = img.shape[0], e = img.shape[1]
        let sim = Tensor(uninitialized: [n, n])
        sgemm(transB: true, m: n, n: n, k: e, alpha: 1, a: img.pointer, b: txt.pointer, c: sim.pointer)
        var i2t = 0, t2i = 0
        for i in 0..<n {
            var best = 0, bestCol = 0
            for j in 0..<n {
                if sim.pointer[i * n + j] > sim.pointer[i * n + best] { best = j }
                if sim.pointer[j * n + i] > sim.pointer[bestCol * n + i] { bestCol = j }
            }
            if best == i { i2t += 1 }
            if bestCol == i { t2i += 1 }
        }
        return (Double(i2t) / Double(max(n, 1)), Double(t2i) / Double(max(n, 1)))
    }
}
