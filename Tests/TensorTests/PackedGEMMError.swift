@testable import Tensor

/// Largest `|c − exact| / Σ_p |a_p · b_p|` over the elements of `C = A · Wᵀ` computed by the packed kernel of
/// `precision`, for random `A [m, k]`, `W [n, k]` (exact: the float64 dot product of the unrounded inputs).
/// Nil where the CPU lacks the kernels of `precision`.
///
/// Per element, rounding both inputs to bf16 (unit roundoff 2⁻⁸) bounds this by `2⁻⁷ + 2⁻¹⁶` plus fp32 accumulation
/// (`≲ k · 2⁻²⁴`); bf16x3's split operands by about `2⁻¹⁴`.
func packedGEMMWorstError(_ precision: Precision, m: Int, n: Int, k: Int, seed: UInt64) -> Double? {
    var rng = SeededGenerator(seed: seed)
    let a = Tensor.randn([m, k], using: &rng), w = Tensor.randn([n, k], using: &rng)
    guard let packed = PackedWeights(weight: w, precision: precision) else { return nil }
    let c = packed.matmul(a)
    var worst = 0.0
    for i in 0..<m {
        for j in 0..<n {
            var exact = 0.0, magnitude = 0.0
            for p in 0..<k {
                let t = Double(a.pointer[i * k + p]) * Double(w.pointer[j * k + p])
                exact += t; magnitude += abs(t)
            }
            worst = max(worst, abs(Double(c.pointer[i * n + j]) - exact) / max(magnitude, 1e-30))
        }
    }
    return worst
}
