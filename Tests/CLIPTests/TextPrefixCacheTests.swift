import Foundation
import Testing
@testable import CLIP
import IQATestSupport
import NN
import Tensor

/// A zero-padded token row: start id, `body`, end-of-text id (the highest id of the vocabulary).
private func row(_ body: [Int32], vocab: Int, context: Int = 77) -> [Int32] {
    let r = [Int32(vocab - 2)] + body + [Int32(vocab - 1)]
    return r + [Int32](repeating: 0, count: context - r.count)
}

/// Value and [QA] gradient of `sum(text ⊙ R)` for a fixed random `R`, through `encode`.
private func valueAndGradient(_ model: CLIPModel, qaInit: Tensor, seed: UInt64, encode: (Var) throws -> Var) throws -> (value: [Float], grad: [Float]) {
    let qa = Var(qaInit.copy(), requiresGrad: true)
    let text = try encode(qa)
    var rng = SeededGenerator(seed: seed)
    let r = Var(Tensor.randn(text.shape, using: &rng))
    sum(mul(text, r)).backward()
    return (text.value.array, try #require(qa.grad).array)
}

@Suite("TextPrefixCache: the [QA]-token fast path of the frozen text encoder")
struct TextPrefixCacheTests {
    static func randomCLIP(layers: Int, heads: Int) -> CLIPModel {
        CLIPModel(config: CLIPConfiguration(embedDim: 24, imageResolution: 32, visionLayers: [1, 1, 1, 1], visionWidth: 4,
                                            vocabSize: 300, transformerWidth: 48, transformerHeads: heads, transformerLayers: layers),
                  seed: 7)
    }

    /// Prompts of lengths 0 (start token only), 3, 11 and 30 in one batch, plus a repeated prompt.
    static func prompts(vocab: Int) -> [[Int32]] {
        var rng = SeededGenerator(seed: 3)
        func body(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(1 + Int(rng.nextDouble() * Double(vocab - 4))) } }
        let a = body(3), b = body(11), c = body(30)
        return [row(a, vocab: vocab), row([], vocab: vocab), row(c, vocab: vocab), row(b, vocab: vocab), row(a, vocab: vocab)]
    }

    func checkParity(_ model: CLIPModel) throws {
        let tokens = Self.prompts(vocab: model.config.vocabSize)
        var rng = SeededGenerator(seed: 11)
        let qaInit = Tensor.randn([model.config.transformerWidth], std: 0.5, using: &rng)
        let full = try valueAndGradient(model, qaInit: qaInit, seed: 5) { try model.encodeText(tokens, replacingEOTWith: $0) }
        let cache = TextPrefixCache(model: model)
        let fast = try valueAndGradient(model, qaInit: qaInit, seed: 5) { try cache.encodeWithQA(tokens: tokens, qa: $0) }
        #expect(maxRelativeError(fast.value, full.value) <= 1e-5)
        #expect(maxRelativeError(fast.grad, full.grad) <= 1e-5)
        // Warm cache: the same numbers again.
        let again = try valueAndGradient(model, qaInit: qaInit, seed: 5) { try cache.encodeWithQA(tokens: tokens, qa: $0) }
        #expect(again.value == fast.value && again.grad == fast.grad)
        #expect(cache.count == 4)
    }

    @Test("fast path equals encodeText(replacingEOTWith:) on the tiny CLIP fixture: value and [QA] gradient, max rel. error ≤ 1e-5")
    func tinyFixtureParity() throws {
        let model = try CLIPModel.load(fixtureURL("tiny_clip.safetensors"))
        model.freeze()
        try checkParity(model)
    }

    @Test("fast path equals the full pass on a random 3-layer, 4-head CLIP (prompts of 0–30 tokens), max rel. error ≤ 1e-5")
    func randomModelParity() throws {
        let model = Self.randomCLIP(layers: 3, heads: 4)
        model.freeze()
        try checkParity(model)
    }

    @Test("only the [QA] vector receives a gradient, even when the text weights have requiresGrad set")
    func gradientOnlyToQA() throws {
        let model = Self.randomCLIP(layers: 2, heads: 2)   // fresh model: every parameter requires a gradient
        let cache = TextPrefixCache(model: model)
        let qa = Var(Tensor(shape: [48], repeating: 0.1), requiresGrad: true)
        sum(try cache.encodeWithQA(tokens: Self.prompts(vocab: 300), qa: qa)).backward()
        #expect(qa.grad != nil)
        #expect(model.namedParameters().allSatisfy { $0.1.grad == nil })
    }

    @Test("the [QA] gradient passes a central-difference check (rel. error ≤ 1e-2)")
    func gradientCheckQA() throws {
        let model = Self.randomCLIP(layers: 2, heads: 2)
        let cache = TextPrefixCache(model: model)
        let tokens = Self.prompts(vocab: 300)
        var rng = SeededGenerator(seed: 1)
        let qa = Var(Tensor.randn([48], std: 0.5, using: &rng), requiresGrad: true)
        _ = try cache.prefixes(for: tokens)
        let report = gradientCheck(inputs: [qa]) { (try? cache.encodeWithQA(tokens: tokens, qa: qa)) ?? Var(Tensor(zeros: [1])) }
        #expect(report.maxRelativeError <= 1e-2)
    }

    @Test("prefixes are keyed by the tokens before end-of-text: padding and the EOT id do not matter; LRU capacity holds")
    func cacheKeysAndCapacity() throws {
        let model = Self.randomCLIP(layers: 2, heads: 2)
        let cache = TextPrefixCache(model: model, capacity: 2)
        let a = try cache.prefix(for: [298, 5, 6, 299, 0, 0])
        let a2 = try cache.prefix(for: [298, 5, 6, 299] + [Int32](repeating: 0, count: 73))
        #expect(a.length == 3 && cache.count == 1)
        #expect(a.keys[1].array == a2.keys[1].array && a.values[0].array == a2.values[0].array)
        #expect(a.keys.count == 2 && a.keys[0].shape == [2, 3, 24])
        _ = try cache.prefix(for: [298, 7, 299])
        _ = try cache.prefix(for: [298, 5, 6, 299])          // touch a
        _ = try cache.prefix(for: [298, 8, 9, 10, 299])      // evicts [298, 7]
        #expect(cache.count == 2)
        cache.removeAll()
        #expect(cache.count == 0)
    }

    @Test("bad input throws: empty or over-long token rows, ids outside the vocabulary, a [QA] vector of the wrong size")
    func badInput() throws {
        let model = Self.randomCLIP(layers: 2, heads: 2)
        let cache = TextPrefixCache(model: model)
        #expect(throws: CLIPError.self) { try cache.prefix(for: []) }
        #expect(throws: CLIPError.self) { try cache.prefix(for: [Int32](repeating: 1, count: 78)) }
        #expect(throws: EmbeddingError.self) { try cache.prefix(for: [298, 500, 1000]) }
        let prefixes = try cache.prefixes(for: [[298, 5, 299]])
        #expect(throws: CLIPError.self) { try cache.encodeWithQA(prefixes: prefixes, qa: Var(Tensor(zeros: [47]))) }
        #expect(throws: CLIPError.self) { try cache.encodeWithQA(prefixes: [], qa: Var(Tensor(zeros: [48]))) }
    }
}

/// Opt-in timing at RN50's text size (width 512, 12 layers, 8 heads), batch 32, prompts of ~20 tokens, random weights:
/// `IPIQA_BENCH_QA=1 swift test -c release -Xswiftc -enable-testing --filter TextPrefixCacheBenchmark`.
@Suite("TextPrefixCache benchmark (opt-in)")
struct TextPrefixCacheBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["IPIQA_BENCH_QA"] != nil

    @Test("full text pass vs [QA] fast path, forward + backward per training step", .enabled(if: enabled))
    func speedUp() throws {
        let model = CLIPModel(config: .rn50, seed: 1)
        model.freeze()
        var rng = SeededGenerator(seed: 2)
        let tokens: [[Int32]] = (0..<32).map { i in
            let n = 16 + i % 9   // 18–26 tokens with start and end
            return [49406] + (0..<n).map { _ in Int32(1 + Int(rng.nextDouble() * 49000)) } + [49407]
                + [Int32](repeating: 0, count: 77 - n - 2)
        }
        let qaInit = Tensor.randn([512], std: 0.02, using: &rng)
        let r = Tensor.randn([32, 1024], using: &rng)
        func step(_ encode: (Var) throws -> Var) throws -> (seconds: Double, grad: [Float], value: [Float]) {
            let qa = Var(qaInit.copy(), requiresGrad: true)
            let start = DispatchTime.now().uptimeNanoseconds
            let text = try encode(qa)
            sum(mul(text, Var(r))).backward()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return (seconds, try #require(qa.grad).array, text.value.array)
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        let cache = TextPrefixCache(model: model)
        let fill = DispatchTime.now().uptimeNanoseconds
        _ = try cache.prefixes(for: tokens)
        let fillSeconds = Double(DispatchTime.now().uptimeNanoseconds - fill) / 1e9
        var full: [Double] = [], fast: [Double] = []
        var fullRun = try step { try model.encodeText(tokens, replacingEOTWith: $0) }
        var fastRun = try step { try cache.encodeWithQA(tokens: tokens, qa: $0) }
        for _ in 0..<5 {
            fullRun = try step { try model.encodeText(tokens, replacingEOTWith: $0) }; full.append(fullRun.seconds)
            fastRun = try step { try cache.encodeWithQA(tokens: tokens, qa: $0) }; fast.append(fastRun.seconds)
        }
        let valueError = maxRelativeError(fastRun.value, fullRun.value), gradError = maxRelativeError(fastRun.grad, fullRun.grad)
        print(String(format: "text fwd+bwd, batch 32, RN50 text: full %.1f ms, fast %.2f ms (speed-up %.0f×); cache fill %.1f ms; "
                     + "rel. error value %.1e, grad %.1e; %d threads",
                     1000 * median(full), 1000 * median(fast), median(full) / median(fast), 1000 * fillSeconds,
                     valueError, gradError, Threading.workers))
        #expect(valueError <= 1e-5 && gradError <= 1e-5)
    }
}
