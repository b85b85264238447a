import Foundation

/// The 4-parameter logistic of the IQA literature (VQEG), mapping objective scores x onto the
/// subjective scale before PLCC / RMSE are reported:
///
///     f(x) = (β1 − β2) / (1 + exp(−(x − β3) / |β4|)) + β2
///
/// `fit` minimises Σ (f(xᵢ) − yᵢ)² by Levenberg–Marquardt (analytic Jacobian) from the standard start
/// β1 = max(y), β2 = min(y), β3 = mean(x), β4 = std(x)/4 (numpy std, ddof = 0) — the same problem
/// `scipy.optimize.curve_fit(f, x, y, p0=start)` solves; tests compare the two on a fixture.
/// f is monotone, so SRCC / KRCC are unchanged by it (up to ties created by saturation).
///
/// ```swift
/// let mapping = try LogisticMapping.fit(x: predictions, y: mos)
/// let plcc = try Correlation.plcc(mapping.apply(predictions), mos)
/// print(mapping.parameters)          // [β1, β2, β3, β4]
/// ```
public struct LogisticMapping: Codable, Sendable, Equatable {
    public var beta1: Double
    public var beta2: Double
    public var beta3: Double
    public var beta4: Double
    /// Σ (f(xᵢ) − yᵢ)² at the fitted parameters (0 for a hand-made mapping).
    public var sumOfSquares: Double = 0
    /// Levenberg–Marquardt iterations used (0 for a hand-made mapping).
    public var iterations: Int = 0
    /// False when `fit` stopped at `maxIterations` before meeting a tolerance. This happens when the
    /// optimum lies at infinity (e.g. exactly linear data: β1 − β2 and β4 grow without bound); the
    /// mapping returned is still the best point found, monotone, with a lower SSE than the start.
    public var converged: Bool = true

    /// Fewest samples `fit` accepts (one per parameter).
    public static let minimumSamples = 4

    public init(beta1: Double, beta2: Double, beta3: Double, beta4: Double) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.beta3 = beta3
        self.beta4 = beta4
    }

    /// [β1, β2, β3, β4].
    public var parameters: [Double] { [beta1, beta2, beta3, beta4] }

    /// The standard starting point: β1 = max(y), β2 = min(y), β3 = mean(x), β4 = std(x)/4 (ddof = 0).
    public static func standardStart(x: [Double], y: [Double]) -> LogisticMapping {
        let n = Double(max(x.count, 1))
        let mean = x.reduce(0, +) / n
        let std = (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        return LogisticMapping(beta1: y.max() ?? 0, beta2: y.min() ?? 0, beta3: mean, beta4: std / 4)
    }

    /// Fits the logistic to (x, y) from `start` (default: `standardStart`).
    /// Throws on a length mismatch, fewer than 4 samples, non-finite values, constant x or y, or a
    /// fit that ends with non-finite parameters or β4 = 0. Not converging within
    /// `options.maxIterations` does not throw: see `converged`. β4 is returned as |β4|.
    public static func fit(
        x: [Double], y: [Double], start: LogisticMapping? = nil, options: LevenbergMarquardtOptions = .init()
    ) throws(MetricsError) -> LogisticMapping {
        try Correlation.validatePair(
            x, y, metric: "logistic mapping", names: .init(lhs: "x", rhs: "y"), minimum: minimumSamples,
            requireVariation: true)
        let initial = start ?? standardStart(x: x, y: y)
        let result = levenbergMarquardt(start: initial.parameters, residualCount: x.count, options: options) {
            beta, residual, jacobian in
            residualsAndJacobian(beta: beta, x: x, y: y, residual: &residual, jacobian: &jacobian)
        }
        guard result.parameters.allSatisfy({ $0.isFinite }), result.sumOfSquares.isFinite else {
            throw .logisticFitFailed(reason: "parameters became non-finite (start \(initial.parameters))")
        }
        var mapping = LogisticMapping(
            beta1: result.parameters[0], beta2: result.parameters[1], beta3: result.parameters[2],
            beta4: abs(result.parameters[3]))
        mapping.sumOfSquares = result.sumOfSquares
        mapping.iterations = result.iterations
        mapping.converged = result.converged
        return mapping
    }

    /// f(x).
    public func apply(_ x: Double) -> Double {
        (beta1 - beta2) * Self.sigmoid((x - beta3) / abs(beta4)) + beta2
    }

    /// f applied to every element.
    public func apply(_ xs: [Double]) -> [Double] { xs.map { apply($0) } }

    /// rᵢ = f(xᵢ; β) − yᵢ and the row-major n × 4 Jacobian ∂rᵢ/∂βⱼ (analytic; with u = (x − β3)/|β4|,
    /// s = σ(u): ∂f/∂β1 = s, ∂f/∂β2 = 1 − s, ∂f/∂β3 = −(β1 − β2)s(1 − s)/|β4|,
    /// ∂f/∂β4 = −(β1 − β2)s(1 − s)·u/|β4|·sign(β4)).
    static func residualsAndJacobian(
        beta: [Double], x: [Double], y: [Double], residual: inout [Double], jacobian: inout [Double]
    ) {
        let scale = abs(beta[3])
        let sign: Double = beta[3] < 0 ? -1 : 1
        let height = beta[0] - beta[1]
        for i in x.indices {
            let u = (x[i] - beta[2]) / scale
            let s = sigmoid(u)
            let slope = height * s * (1 - s)  // ∂f/∂u
            residual[i] = height * s + beta[1] - y[i]
            jacobian[i * 4 + 0] = s
            jacobian[i * 4 + 1] = 1 - s
            jacobian[i * 4 + 2] = -slope / scale
            jacobian[i * 4 + 3] = -slope * u / scale * sign
        }
    }

    /// 1 / (1 + e^(−u)) without overflow for large |u|.
    static func sigmoid(_ u: Double) -> Double {
        if u >= 0 { return 1 / (1 + exp(-u)) }
        let e = exp(u)
        return e / (1 + e)
    }
}
