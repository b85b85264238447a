import CKernels
import Foundation

/// Whether operations record what their backward pass needs. Off inside ``withoutGradients(_:)``.
///
/// The flag is task-local (thread-local outside tasks), so one task evaluating without gradients (e.g. a
/// gradient check or an evaluation loop) never switches recording off for another running concurrently.
public enum GradMode {
    @TaskLocal static var disabled = false

    public static var isEnabled: Bool { !disabled }

    /// Runs `body` with recording off: no backward closures, no retained activations.
    public static func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
        try $disabled.withValue(true) { try body() }
    }
}

/// Runs `body` with gradient recording off (inference, evaluation, cached-feature extraction).
public func withoutGradients<T>(_ body: () throws -> T) rethrows -> T { try GradMode.withoutGradients(body) }

/// A node of the dynamic autodiff graph: a value, and — when some input needs a gradient — the closure
/// that turns this node's gradient into its parents' gradients.
///
/// Leaves with `requiresGrad = true` are trainable parameters (or inputs whose gradient is wanted);
/// frozen parameters are leaves with `requiresGrad = false`, so no operation computes a gradient for
/// them: a frozen trunk costs only its forward pass (plus input gradients where something upstream trains).
///
/// ```swift
/// let w = Var(Tensor(shape: [3, 2], repeating: 0.1), requiresGrad: true)
/// let x = Var(Tensor(shape: [4, 2], repeating: 1))
/// let loss = mseLoss(linear(x, w, bias: nil), target: Var(Tensor(zeros: [4, 3])))
/// loss.backward()            // w.grad now holds dL/dw
/// ```
public final class Var: @unchecked Sendable {
    public var value: Tensor
    /// Accumulated gradient (same shape as `value`); nil until a backward pass reaches this node.
    public var grad: Tensor?
    /// Whether gradients flow to (and through) this node.
    public var requiresGrad: Bool
    /// Optional name (parameters carry their state-dict key).
    public var name: String?

    let parents: [Var]
    var backwardFn: ((Tensor) -> Void)?

    public var shape: [Int] { value.shape }

    /// A leaf.
    public init(_ value: Tensor, requiresGrad: Bool = false, name: String? = nil) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.name = name
        self.parents = []
        self.backwardFn = nil
    }

    init(value: Tensor, parents: [Var], backward: @escaping (Tensor) -> Void) {
        self.value = value
        self.requiresGrad = true
        self.parents = parents
        self.backwardFn = backward
    }

    /// Adds `g` to this node's gradient (allocating on first use; never mutates a tensor it did not allocate).
    public func accumulate(_ g: Tensor) {
        checkShape(g.count == value.count, "gradient accumulation\(name.map { " (\($0))" } ?? "")", value.shape, g.shape)
        if let existing = grad {
            let sum = Tensor(uninitialized: value.shape)
            let a = existing.pointer, b = g.pointer, o = sum.pointer
            parallelChunks(sum.count) { r in ipiqa_add(a + r.lowerBound, b + r.lowerBound, r.count, o + r.lowerBound) }
            grad = sum
        } else {
            grad = g.shape == value.shape ? g : g.reshaped(value.shape)
        }
    }

    public func zeroGrad() { grad = nil }

    /// Back-propagates from this (scalar, unless `seed` is given) node to every leaf that requires a gradient.
    /// Intermediate gradients and closures are released as soon as they are used.
    ///
    /// `onGradientReady` (optional) is called once for every leaf with `requiresGrad` that the pass reaches, as soon
    /// as its gradient is final: right after the backward closure of the last node (in the reverse topological
    /// order) that has the leaf as a parent. A data-parallel trainer starts summing that gradient over ranks while
    /// the pass goes on (``GradientReducer``'s overlap).
    public func backward(seed: Tensor? = nil, onGradientReady: ((Var) -> Void)? = nil) {
        guard requiresGrad else { return }
        if let seed { checkShape(seed.count == value.count, "backward seed", value.shape, seed.shape) }
        else { enginePrecondition(value.count == 1, "backward: needs a seed gradient for non-scalar output \(value.shape)") }
        // Topological order by iterative depth-first search over nodes that carry gradients.
        var order: [Var] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Var, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if !visited.insert(ObjectIdentifier(node)).inserted { continue }
            stack.append((node, true))
            for p in node.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) { stack.append((p, false)) }
        }
        accumulate(seed ?? Tensor(shape: value.shape, repeating: 1))
        guard let onGradientReady else {
            for node in order.reversed() { propagate(node) }
            return
        }
        // Remaining uses of each trainable leaf: the nodes of `order` that list it as a parent (with repetition).
        var uses: [ObjectIdentifier: Int] = [:]
        for node in order where node.backwardFn != nil {
            for p in node.parents where p.requiresGrad && p.backwardFn == nil && p.parents.isEmpty { uses[ObjectIdentifier(p), default: 0] += 1 }
        }
        if parents.isEmpty && backwardFn == nil && uses[ObjectIdentifier(self)] == nil { onGradientReady(self) }
        for node in order.reversed() {
            let parents = node.backwardFn == nil ? [] : node.parents
            propagate(node)
            for p in parents where p.requiresGrad && p.backwardFn == nil && p.parents.isEmpty {
                let id = ObjectIdentifier(p)
                guard let left = uses[id] else { continue }
                if left == 1 { uses[id] = nil; onGradientReady(p) } else { uses[id] = left - 1 }
            }
        }
    }

    /// Runs `node`'s backward closure on its gradient, then releases both (a leaf keeps its gradient).
    private func propagate(_ node: Var) {
        guard let fn = node.backwardFn else { return }
        if let g = node.grad { fn(g) }
        node.grad = nil
        node.backwardFn = nil
    }
}

/// Builds the output node of an operation: records `backward` only when recording is on and some input
/// requires a gradient. `backward` receives the output gradient and must call `accumulate` on those
/// parents whose `requiresGrad` is true (and compute nothing for the others).
@inline(__always)
public func makeResult(_ value: Tensor, _ parents: [Var], _ backward: @escaping (Tensor) -> Void) -> Var {
    if GradMode.isEnabled && parents.contains(where: { $0.requiresGrad }) {
        return Var(value: value, parents: parents, backward: backward)
    }
    return Var(value)
}
