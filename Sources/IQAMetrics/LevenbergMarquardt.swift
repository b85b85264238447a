import Foundation

/// Options of the Levenberg–Marquardt least-squares solver used by `LogisticMapping.fit`.
/// Codable with explicit defaults; all tolerances are relative.
public struct LevenbergMarquardtOptions: Codable, Sendable, Equatable {
    /// Maximum number of accepted or rejected steps.
    public var maxIterations: Int = 1000
    /// Stop when an accepted step lowers the sum of squares by less than this fraction.
    public var relativeCostTolerance: Double = 1e-12
    /// Stop when ‖δ‖ ≤ tol · (‖β‖ + tol).
    public var relativeStepTolerance: Double = 1e-12
    /// Initial damping λ = factor · max(diag(JᵀJ)).
    public var initialDampingFactor: Double = 1e-3

    public init() {}
}

/// Result of `levenbergMarquardt`.
struct LevenbergMarquardtResult: Sendable {
    var parameters: [Double]
    var sumOfSquares: Double
    var iterations: Int
    var converged: Bool
}

/// Minimises Σ rᵢ(β)² by Levenberg–Marquardt with Marquardt's diagonal scaling:
/// (JᵀJ + λ·diag(JᵀJ)) δ = −Jᵀr, λ shrinking ×1/3 after a successful step and growing ×ν (ν doubling)
/// after a failed one. `evaluate(β, &r, &J)` fills the residuals (m) and the row-major Jacobian (m × p).
/// An own implementation (not a port); scipy's curve_fit uses MINPACK lmdif with a trust region, so
/// the two agree on the minimum, not on the iterates.
func levenbergMarquardt(
    start: [Double], residualCount m: Int, options: LevenbergMarquardtOptions,
    evaluate: ([Double], inout [Double], inout [Double]) -> Void
) -> LevenbergMarquardtResult {
    let p = start.count
    var beta = start
    var residual = [Double](repeating: 0, count: m)
    var jacobian = [Double](repeating: 0, count: m * p)
    evaluate(beta, &residual, &jacobian)
    var cost = residual.reduce(0) { $0 + $1 * $1 }
    var normal = [Double](repeating: 0, count: p * p)
    var gradient = [Double](repeating: 0, count: p)
    formNormalEquations(jacobian, residual, m: m, p: p, normal: &normal, gradient: &gradient)
    let largestDiagonal = (0..<p).map { normal[$0 * p + $0] }.max() ?? 1
    var lambda = options.initialDampingFactor * max(largestDiagonal, .leastNormalMagnitude)
    var nu = 2.0
    var trialResidual = residual
    var trialJacobian = jacobian

    for iteration in 1...max(1, options.maxIterations) {
        var system = normal
        for i in 0..<p { system[i * p + i] += lambda * max(normal[i * p + i], .leastNormalMagnitude) }
        guard let step = solveSymmetricPositiveDefinite(system, gradient.map { -$0 }, size: p) else {
            lambda *= nu; nu *= 2
            continue
        }
        let stepNorm = step.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let betaNorm = beta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if stepNorm <= options.relativeStepTolerance * (betaNorm + options.relativeStepTolerance) {
            return LevenbergMarquardtResult(parameters: beta, sumOfSquares: cost, iterations: iteration, converged: true)
        }
        let trial = zip(beta, step).map { $0 + $1 }
        evaluate(trial, &trialResidual, &trialJacobian)
        let trialCost = trialResidual.reduce(0) { $0 + $1 * $1 }
        if trialCost.isFinite && trialCost < cost {
            let relativeDecrease = (cost - trialCost) / max(cost, .leastNormalMagnitude)
            beta = trial
            cost = trialCost
            swap(&residual, &trialResidual)
            swap(&jacobian, &trialJacobian)
            formNormalEquations(jacobian, residual, m: m, p: p, normal: &normal, gradient: &gradient)
            lambda /= 3; nu = 2
            if relativeDecrease <= options.relativeCostTolerance {
                return LevenbergMarquardtResult(parameters: beta, sumOfSquares: cost, iterations: iteration, converged: true)
            }
        } else {
            lambda *= nu; nu *= 2
            if !lambda.isFinite {
                // No downhill step exists at any damping: β is a (numerical) minimum.
                return LevenbergMarquardtResult(parameters: beta, sumOfSquares: cost, iterations: iteration, converged: true)
            }
        }
    }
    return LevenbergMarquardtResult(parameters: beta, sumOfSquares: cost, iterations: options.maxIterations, converged: false)
}

/// JᵀJ (p × p) and Jᵀr (p).
private func formNormalEquations(
    _ jacobian: [Double], _ residual: [Double], m: Int, p: Int, normal: inout [Double], gradient: inout [Double]
) {
    for i in 0..<(p * p) { normal[i] = 0 }
    for i in 0..<p { gradient[i] = 0 }
    for row in 0..<m {
        let base = row * p
        for i in 0..<p {
            let ji = jacobian[base + i]
            gradient[i] += ji * residual[row]
            for j in 0...i { normal[i * p + j] += ji * jacobian[base + j] }
        }
    }
    for i in 0..<p { for j in 0..<i { normal[j * p + i] = normal[i * p + j] } }
}

/// Solves A x = b for symmetric positive definite A (Cholesky); nil when A is not numerically SPD.
func solveSymmetricPositiveDefinite(_ a: [Double], _ b: [Double], size p: Int) -> [Double]? {
    var l = [Double](repeating: 0, count: p * p)
    for i in 0..<p {
        for j in 0...i {
            var sum = a[i * p + j]
            for k in 0..<j { sum -= l[i * p + k] * l[j * p + k] }
            if i == j {
                guard sum > 0, sum.isFinite else { return nil }
                l[i * p + i] = sum.squareRoot()
            } else {
                l[i * p + j] = sum / l[j * p + j]
            }
        }
    }
    var y = b
    for i in 0..<p {
        for k in 0..<i { y[i] -= l[i * p + k] * y[k] }
        y[i] /= l[i * p + i]
    }
    for i in stride(from: p - 1, through: 0, by: -1) {
        for k in (i + 1)..<p { y[i] -= l[k * p + i] * y[k] }
        y[i] /= l[i * p + i]
    }
    return y.allSatisfy { $0.isFinite } ? y : nil
}
