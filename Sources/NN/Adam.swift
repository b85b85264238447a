import CKernels
import Foundation
import Tensor

/// Hyper-parameters of ``Adam`` / ``AdamW`` shared by all groups (the learning rate and, optionally, the weight
/// decay live in each ``ParamGroup``). Decoding fills absent keys with the defaults below.
public struct AdamConfiguration: Codable, Equatable, Sendable {
    public var beta1: Double = NNDefaults.adamBeta1
    public var beta2: Double = NNDefaults.adamBeta2
    public var eps: Double = NNDefaults.adamEps
    /// Weight decay for groups that do not set their own.
    public var weightDecay: Double = 0
    /// AdamW (`p ← p − lr·wd·p` before the step) instead of Adam's L2 term (`g ← g + wd·p`).
    public var decoupledWeightDecay: Bool = false

    public init(beta1: Double = NNDefaults.adamBeta1, beta2: Double = NNDefaults.adamBeta2, eps: Double = NNDefaults.adamEps,
                weightDecay: Double = 0, decoupledWeightDecay: Bool = false) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.weightDecay = weightDecay; self.decoupledWeightDecay = decoupledWeightDecay
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        beta1 = try c.decodeIfPresent(Double.self, forKey: .beta1) ?? NNDefaults.adamBeta1
        beta2 = try c.decodeIfPresent(Double.self, forKey: .beta2) ?? NNDefaults.adamBeta2
        eps = try c.decodeIfPresent(Double.self, forKey: .eps) ?? NNDefaults.adamEps
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? 0
        decoupledWeightDecay = try c.decodeIfPresent(Bool.self, forKey: .decoupledWeightDecay) ?? false
    }

    /// `torch.optim.AdamW`'s defaults (weight decay 0.01, decoupled).
    public static let adamW = AdamConfiguration(weightDecay: NNDefaults.adamWWeightDecay, decoupledWeightDecay: true)
}

/// Adam with PyTorch's exact update rule (`torch.optim.Adam`, single-tensor path, amsgrad off). Per parameter,
/// with t the parameter's step count, lr/wd from its group:
///
///     [AdamW] p ← p · (1 − lr·wd)          [Adam] g ← g + wd·p
///     m ← m + (1 − β₁)(g − m),   v ← β₂ v + (1 − β₂) g²
///     p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps)
///
/// Scalars are computed in double and applied in float, as PyTorch does.
///
/// ```swift
/// let opt = Adam([ParamGroup(model.namedParameters(), learningRate: 1e-4)])
/// loss.backward(); opt.step(); opt.zeroGrad()
/// ```
public class Adam: Optimizer {
    public var groups: [ParamGroup]
    public let config: AdamConfiguration

    /// Per-parameter state: step count and the two moment estimates.
    final class State {
        var step: Int
        let m: Tensor
        let v: Tensor
        init(step: Int, m: Tensor, v: Tensor) { self.step = step; self.m = m; self.v = v }
    }
    var states: [ObjectIdentifier: State] = [:]

    public init(_ groups: [ParamGroup], config: AdamConfiguration = AdamConfiguration()) {
        let names = groups.flatMap { $0.parameters.map(\.name) }
        enginePrecondition(Set(names).count == names.count, "Adam: parameter names must be unique across groups")
        self.groups = groups
        self.config = config
    }

    public func step() {
        defer { ParameterGeneration.bump() }
        let b1 = config.beta1, b2 = config.beta2
        for group in groups {
            let lr = group.learningRate, wd = group.weightDecay ?? config.weightDecay
            for (_, param) in group.parameters {
                guard param.requiresGrad, let grad = param.grad else { continue }
                let n = param.value.count
                let state = states[ObjectIdentifier(param)] ?? {
                    let s = State(step: 0, m: Tensor(zeros: param.shape), v: Tensor(zeros: param.shape))
                    states[ObjectIdentifier(param)] = s
                    return s
                }()
                state.step += 1
                let t = Double(state.step)
                let stepSize = Float(lr / (1 - Foundation.pow(b1, t)))
                let bc2Sqrt = Float((1 - Foundation.pow(b2, t)).squareRoot())
                let decoupled = config.decoupledWeightDecay && wd != 0
                let l2 = !config.decoupledWeightDecay && wd != 0
                let decay = Float(1 - lr * wd), wdF = Float(wd)
                let w1 = Float(1 - b1), b2F = Float(b2), w2 = Float(1 - b2), epsF = Float(config.eps)
                let pp = param.value.pointer, gp = grad.pointer, mp = state.m.pointer, vp = state.v.pointer
                // l2 = 0 with decoupled = 0 is plain Adam without weight decay.
                let l2F: Float = l2 ? wdF : 0, decayF: Float = decoupled ? decay : 1
                parallelChunks(n, costPerItem: 16) { r in
                    let o = r.lowerBound
                    ipiqa_adam_update(pp + o, gp + o, mp + o, vp + o, r.count, decoupled ? 1 : 0, decayF, l2F, w1, b2F,
                                      w2, stepSize, bc2Sqrt, epsF)
                }
            }
        }
    }

    /// State as `<name>.step` (scalar), `<name>.exp_avg`, `<name>.exp_avg_sq` for every parameter with state.
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for group in groups {
            for (name, param) in group.parameters {
                guard let s = states[ObjectIdentifier(param)] else { continue }
                out[name + ".step"] = Tensor(scalar: Float(s.step))
                out[name + ".exp_avg"] = s.m.copy()
                out[name + ".exp_avg_sq"] = s.v.copy()
            }
        }
        return out
    }

    public func loadStateDict(_ tensors: [String: Tensor]) throws {
        var problems: [String] = []
        var used = Set<String>()
        var loaded: [(Var, State)] = []
        for group in groups {
            for (name, param) in group.parameters {
                let keys = [".step", ".exp_avg", ".exp_avg_sq"].map { name + $0 }
                let present = keys.filter { tensors[$0] != nil }
                if present.isEmpty { continue }
                used.formUnion(present)
                guard present.count == 3, let st = tensors[keys[0]], let m = tensors[keys[1]], let v = tensors[keys[2]] else {
                    problems.append("\(name): needs all of \(keys.joined(separator: ", "))")
                    continue
                }
                let step = st.count == 1 ? st.pointer[0] : -1
                if step < 0 || step != step.rounded() { problems.append("\(keys[0]): not a step count (shape \(st.shape))") }
                if m.shape != param.shape { problems.append("\(keys[1]): shape \(m.shape), parameter has \(param.shape)") }
                if v.shape != param.shape { problems.append("\(keys[2]): shape \(v.shape), parameter has \(param.shape)") }
                loaded.append((param, State(step: Int(max(step, 0)), m: m.copy(), v: v.copy())))
            }
        }
        for key in tensors.keys.sorted() where !used.contains(key) { problems.append("unexpected key \(key)") }
        if !problems.isEmpty { throw OptimizerStateError(problems: problems) }
        states = [:]
        for (param, s) in loaded { states[ObjectIdentifier(param)] = s }
    }

    /// The step count of `parameter` (0 before its first update).
    public func stepCount(of parameter: Var) -> Int { states[ObjectIdentifier(parameter)]?.step ?? 0 }
}

/// `torch.optim.AdamW`: ``Adam`` with decoupled weight decay, default 0.01.
///
/// ```swift
/// let opt = AdamW([ParamGroup(head, learningRate: 1e-3), ParamGroup(noDecay, learningRate: 1e-3, weightDecay: 0)])
/// ```
public final class AdamW: Adam {
    public init(_ groups: [ParamGroup], beta1: Double = NNDefaults.adamBeta1, beta2: Double = NNDefaults.adamBeta2,
                eps: Double = NNDefaults.adamEps, weightDecay: Double = NNDefaults.adamWWeightDecay) {
        super.init(groups, config: AdamConfiguration(beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
                                              decoupledWeightDecay: true))
    }
}
