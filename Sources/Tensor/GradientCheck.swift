import Foundation

/// Result of comparing analytic gradients with central finite differences.
public struct GradientCheckReport: CustomStringConvertible, Sendable {
    /// max over checked elements of |analytic − numeric| / max(1, |analytic|, |numeric|) … see ``gradientCheck``.
    public var maxRelativeError: Double
    public var worst: String
    public var description: String { "max relative error \(maxRelativeError) at \(worst)" }
}

/// Checks the gradients of `f` with respect to `inputs` against central differences of the scalar
/// `L = Σ r ⊙ f()` for a fixed random `r` (so that every output element matters).
///
/// Float32 central differences with step `h` have error ~ ε·|L|/h + h²·|f'''|; with h = 1e-2 and
/// inputs of unit scale the numeric gradient is good to ~1e-3 relative, so tests use tolerances of
/// 1e-2 on `maxRelativeError` (|a − n| / max(|a|, |n|, 1)). At most `maxElements` elements per input are
/// probed (spread evenly).
public func gradientCheck(inputs: [Var], step h: Float = 1e-2, maxElements: Int = 64, seed: UInt64 = 99,
                          _ f: () -> Var) -> GradientCheckReport {
    var rng = SeededGenerator(seed: seed)
    let out0 = f()
    let r = Tensor.randn(out0.shape, using: &rng)
    func lossValue() -> Double {
        let y = withoutGradients { f() }.value
        var s = 0.0
        for i in 0..<y.count { s += Double(y.pointer[i]) * Double(r.pointer[i]) }
        return s
    }
    for v in inputs { v.grad = nil }
    out0.backward(seed: r)
    var worst = 0.0, worstAt = "nowhere"
    for (k, v) in inputs.enumerated() {
        let n = v.value.count
        let stride = max(1, n / maxElements)
        for i in Swift.stride(from: 0, to: n, by: stride) {
            let p = v.value.pointer
            let old = p[i]
            // Raw writes: bump the parameter generation so that caches derived from parameters are rebuilt.
            p[i] = old + h; ParameterGeneration.bump(); let lp = lossValue()
            p[i] = old - h; ParameterGeneration.bump(); let lm = lossValue()
            p[i] = old; ParameterGeneration.bump()
            let numeric = (lp - lm) / (2 * Double(h))
            let analytic = Double(v.grad?.pointer[i] ?? 0)
            let err = abs(analytic - numeric) / max(1, abs(analytic), abs(numeric))
            if err > worst { worst = err; worstAt = "input \(k) element \(i): analytic \(analytic), numeric \(numeric)" }
        }
    }
    return GradientCheckReport(maxRelativeError: worst, worst: worstAt)
}
