import CKernels
import Foundation
import TensorTestSupport
import Testing
@testable import Tensor

/// bf16 training GEMMs and the convolution / linear ops routed through them (``TrainingPrecision/bf16``). Skipped, with
/// the reason printed, on CPUs without AVX-512 BF16.
@Suite("Mixed-precision training products")
struct TrainingPrecisionTests {
    static let hasBF16 = TrainingPrecision.hasBF16Kernels

    static func skipNote(_ test: String) -> Bool {
        if hasBF16 { return false }
        print("skipped \(test): this CPU lacks AVX-512 BF16 (vdpbf16ps)")
        return true
    }

    /// The tensor with every value rounded to bf16 (nearest even), as fp32.
    static func rounded(_ t: Tensor) -> Tensor {
        let out = Tensor(uninitialized: t.shape)
        ipiqa_round_bf16_f32(t.pointer, t.count, out.pointer)
        return out
    }

    @Test("bf16 GEMM (all transposes, serial and split over workers) equals the fp64 product of bf16-rounded inputs within 1e-5 of Σ|aᵢbᵢ|")
    func gemmAgainstRoundedReference() {
        if Self.skipNote("gemmAgainstRoundedReference") { return }
        var rng = SeededGenerator(seed: 11)
        // Small (one call), rows-split, columns-split and k-split (dominant inner dimension) shapes.
        for (m, n, k) in [(7, 5, 3), (37, 45, 71), (300, 40, 200), (40, 300, 200), (24, 40, 4000)] {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let a = Tensor.randn(ta ? [k, m] : [m, k], using: &rng), b = Tensor.randn(tb ? [n, k] : [k, n], using: &rng)
                let c0 = Tensor.randn([m, n], using: &rng)
                let c = c0.copy()
                trainingGEMM(.bf16, transA: ta, transB: tb, m: m, n: n, k: k, a: a.pointer, b: b.pointer, accumulate: true, c: c.pointer)
                let ar = Self.rounded(a), br = Self.rounded(b)
                let exact = Tensor(uninitialized: [m, n])
                trainingGEMM(.fp32, transA: ta, transB: tb, m: m, n: n, k: k, a: a.pointer, b: b.pointer, c: exact.pointer)
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var s = Double(c0.pointer[i * n + j]), bound = abs(s)
                        for q in 0..<k {
                            let x = Double(ta ? ar.pointer[q * m + i] : ar.pointer[i * k + q])
                            let y = Double(tb ? br.pointer[j * k + q] : br.pointer[q * n + j])
                            s += x * y
                            bound += abs(x * y)
                        }
                        worst = max(worst, abs(Double(c.pointer[i * n + j]) - s) / bound)
                    }
                }
                #expect(worst < 1e-5, "m \(m) n \(n) k \(k) ta \(ta) tb \(tb): \(worst)")
                // Against the fp32 product of the unrounded inputs: the bf16 rounding error (≈ 2⁻⁹ per input).
                let product = Tensor(uninitialized: [m, n])
                for i in 0..<(m * n) { product.pointer[i] = c.pointer[i] - c0.pointer[i] }
                #expect(relativeL2(product, exact) < 1e-2, "m \(m) n \(n) k \(k) ta \(ta) tb \(tb)")
            }
        }
    }

    /// `(y, dx, dw)` of `conv2d` with upstream gradient `r` in `precision`.
    static func conv(_ p: TrainingPrecision, x: Tensor, w: Tensor, b: Tensor, r: Tensor, stride: Int, padding: Int) -> [Tensor] {
        let xv = Var(x.copy(), requiresGrad: true), wv = Var(w.copy(), requiresGrad: true), bv = Var(b.copy(), requiresGrad: true)
        let y = withTrainingPrecision(p) { conv2d(xv, wv, bias: bv, stride: stride, padding: padding) }
        sum(mul(y, Var(r))).backward()
        return [y.value, xv.grad!, wv.grad!, bv.grad!]
    }

    @Test("bf16 conv2d: y, dX, dW equal fp32 on bf16-rounded x, W, dY (rel. L2 ≤ 1e-5) and fp32 on the raw inputs within 1e-2")
    func convMatchesRoundedFP32() {
        if Self.skipNote("convMatchesRoundedFP32") { return }
        var rng = SeededGenerator(seed: 12)
        // Pointwise; 3×3 stride 1 (transposed-conv data gradient); 3×3 stride 2 and 7×7 stride 2 (col2im).
        for (cin, cout, kernel, stride, padding, side) in [(16, 24, 1, 1, 0, 24), (16, 40, 3, 1, 1, 24), (24, 16, 3, 2, 1, 17), (3, 32, 7, 2, 3, 30)] {
            let x = Tensor.randn([2, side, side, cin], using: &rng)
            let w = Tensor.randn([cout, kernel, kernel, cin], using: &rng)
            let b = Tensor.randn([cout], using: &rng)
            let out = (side + 2 * padding - kernel) / stride + 1
            let r = Self.rounded(Tensor.randn([2, out, out, cout], using: &rng))
            let half = Self.conv(.bf16, x: x, w: w, b: b, r: r, stride: stride, padding: padding)
            let reference = Self.conv(.fp32, x: Self.rounded(x), w: Self.rounded(w), b: b, r: r, stride: stride, padding: padding)
            let full = Self.conv(.fp32, x: x, w: w, b: b, r: r, stride: stride, padding: padding)
            for (i, name) in ["y", "dX", "dW", "db"].enumerated() {
                #expect(relativeL2(half[i], reference[i]) < 1e-5, "\(kernel)×\(kernel)/\(stride) \(name): \(relativeL2(half[i], reference[i]))")
                #expect(relativeL2(half[i], full[i]) < 1e-2, "\(kernel)×\(kernel)/\(stride) \(name) vs fp32: \(relativeL2(half[i], full[i]))")
            }
        }
    }

    @Test("bf16 linear: y, dx, dW equal fp32 on bf16-rounded inputs (rel. L2 ≤ 1e-5) and fp32 within 1e-2")
    func linearMatchesRoundedFP32() {
        if Self.skipNote("linearMatchesRoundedFP32") { return }
        var rng = SeededGenerator(seed: 13)
        let x = Tensor.randn([300, 70], using: &rng), w = Tensor.randn([90, 70], using: &rng), b = Tensor.randn([90], using: &rng)
        let r = Self.rounded(Tensor.randn([300, 90], using: &rng))
        func run(_ p: TrainingPrecision, _ x: Tensor, _ w: Tensor) -> [Tensor] {
            let xv = Var(x.copy(), requiresGrad: true), wv = Var(w.copy(), requiresGrad: true), bv = Var(b.copy(), requiresGrad: true)
            let y = withTrainingPrecision(p) { linear(xv, wv, bias: bv) }
            sum(mul(y, Var(r))).backward()
            return [y.value, xv.grad!, wv.grad!, bv.grad!]
        }
        let half = run(.bf16, x, w), reference = run(.fp32, Self.rounded(x), Self.rounded(w)), full = run(.fp32, x, w)
        for (i, name) in ["y", "dx", "dW", "db"].enumerated() {
            #expect(relativeL2(half[i], reference[i]) < 1e-5, "\(name): \(relativeL2(half[i], reference[i]))")
            #expect(relativeL2(half[i], full[i]) < 1e-2, "\(name) vs fp32: \(relativeL2(half[i], full[i]))")
        }
    }

    @Test("auto resolves by CPU feature; fp16 and (without AVX-512 BF16) bf16 are refused with a reason")
    func resolution() throws {
        #expect(try TrainingPrecision.auto.resolved() == (Self.hasBF16 ? .bf16 : .fp32))
        #expect(try TrainingPrecision.fp32.resolved() == .fp32)
        #expect(throws: TrainingPrecisionError.self) { try TrainingPrecision.fp16.resolved() }
        if Self.hasBF16 { #expect(try TrainingPrecision.bf16.resolved() == .bf16) }
        else { #expect(throws: TrainingPrecisionError.missingBF16) { try TrainingPrecision.bf16.resolved() } }
        do { _ = try TrainingPrecision.fp16.resolved() } catch {
            #expect(error.localizedDescription.contains("AVX-512 FP16"))
        }
    }
}
