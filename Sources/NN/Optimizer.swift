import Foundation
import Tensor

/// A set of parameters sharing hyper-parameters (PyTorch's `param_groups` entry). `learningRate` may be changed
/// between steps (schedules); `weightDecay == nil` means the optimizer's default.
///
/// ```swift
/// let groups = [ParamGroup(model.head.namedParameters(), learningRate: 1e-3),
///               ParamGroup(model.trunk.namedParameters(), learningRate: 1e-5, weightDecay: 0)]
/// ```
public struct ParamGroup {
    /// Parameters by name (names key the optimizer state and must be unique across groups).
    public var parameters: [(name: String, value: Var)]
    public var learningRate: Double
    public var weightDecay: Double?

    public init(_ parameters: [(String, Var)], learningRate: Double, weightDecay: Double? = nil) {
        self.parameters = parameters.map { (name: $0.0, value: $0.1) }
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// A group of unnamed parameters (named `<prefix>.<index>`).
    public init(_ parameters: [Var], learningRate: Double, weightDecay: Double? = nil, namePrefix: String = "param") {
        self.init(parameters.enumerated().map { ("\(namePrefix).\($0.offset)", $0.element) },
                  learningRate: learningRate, weightDecay: weightDecay)
    }
}

/// Problems with an optimizer state being imported, all listed at once, e.g.
/// `optimizer state does not fit: fc.weight.exp_avg: shape [2], parameter has [4, 3]; unexpected key ghost.step`.
public struct OptimizerStateError: LocalizedError, Equatable, Sendable {
    public var problems: [String]
    public var errorDescription: String? { "optimizer state does not fit: " + problems.joined(separator: "; ") }
}

/// A first-order optimizer over parameter groups. Parameters with `requiresGrad == false` or no gradient are
/// skipped (as PyTorch skips `grad is None`).
///
/// ```swift
/// let opt: any Optimizer = AdamW([ParamGroup(model.namedParameters(), learningRate: 1e-4)])
/// loss.backward(); opt.clipGradNorm(maxNorm: 1); opt.step(); opt.zeroGrad()
/// try save(opt.stateDict())   // `<name>.step`, `<name>.exp_avg`, `<name>.exp_avg_sq`
/// ```
public protocol Optimizer: AnyObject {
    var groups: [ParamGroup] { get set }
    /// Applies one update to every parameter that has a gradient.
    func step()
    /// Exports the per-parameter state as named tensors (for checkpoints).
    func stateDict() -> [String: Tensor]
    /// Imports a state written by ``stateDict()``; throws (changing nothing) if it does not fit.
    func loadStateDict(_ tensors: [String: Tensor]) throws
}

extension Optimizer {
    /// Drops every gradient (PyTorch `zero_grad(set_to_none=True)`).
    public func zeroGrad() {
        for g in groups { for p in g.parameters { p.value.grad = nil } }
    }

    /// All parameters of all groups.
    public var allParameters: [Var] { groups.flatMap { $0.parameters.map(\.value) } }

    /// ``clipGradNorm(_:maxNorm:)`` over every parameter of every group; returns the total norm before clipping.
    @discardableResult
    public func clipGradNorm(maxNorm: Double) -> Float { NN.clipGradNorm(allParameters, maxNorm: maxNorm) }
}

/// Rescales gradients so that their global L2 norm is at most `maxNorm` (PyTorch `clip_grad_norm_`):
///
///     total = ‖(‖g₁‖, ‖g₂‖, …)‖₂,  c = min(maxNorm / (total + 1e-6), 1),  gᵢ ← c · gᵢ
///
/// Returns `total` (before clipping). Gradients are replaced by new tensors (never scaled in place, as a gradient
/// may share storage with another). Parameters without a gradient are ignored.
///
/// ```swift
/// let norm = clipGradNorm(model.parameters(), maxNorm: 1.0)
/// ```
@discardableResult
public func clipGradNorm(_ parameters: [Var], maxNorm: Double) -> Float {
    var seen = Set<ObjectIdentifier>()
    let withGrad = parameters.filter { $0.grad != nil && seen.insert(ObjectIdentifier($0)).inserted }
    var squares = 0.0
    for p in withGrad {
        let g = p.grad!
        let gp = g.pointer
        var s = 0.0
        for i in 0..<g.count { s += Double(gp[i]) * Double(gp[i]) }
        squares += s
    }
    let total = squares.squareRoot()
    let coef = Float(min(maxNorm / (total + NNDefaults.clipGradNormEps), 1))
    for p in withGrad {
        let g = p.grad!
        let out = Tensor(uninitialized: g.shape)
        let gp = g.pointer, op = out.pointer
        parallelChunks(g.count) { r in for i in r { op[i] = gp[i] * coef } }
        p.grad = out
    }
    return Float(total)
}
