import Tensor

/// A layer or model: owns parameters (trainable ``Var`` leaves), buffers (non-trainable tensors such as
/// running statistics) and named child modules. Full names are PyTorch `state_dict()` keys: a child's names are
/// prefixed by the child's name and a dot (`layer1.0.conv1.weight`).
///
/// Conformers list only their *own* entries; recursion, naming, train/eval propagation, freezing and state
/// dicts come from the protocol extension:
///
/// ```swift
/// final class Block: Module {
///     var isTraining = true
///     let ln = LayerNorm(512), fc: Linear
///     init(rng: inout SeededGenerator) { fc = Linear(512, 512, rng: &rng) }
///     var children: [(String, any Module)] { [("ln", ln), ("fc", fc)] }
/// }
/// let block = Block(rng: &rng)
/// block.namedParameters().map(\.0)   // ["ln.weight", "ln.bias", "fc.weight", "fc.bias"]
/// block.freeze(prefix: "ln")
/// ```
public protocol Module: AnyObject {
    /// This module's own parameters (not its children's), by local name (e.g. `weight`). Default: none.
    var localParameters: [(String, Var)] { get }
    /// This module's own buffers by local name. Buffers are updated in place (loading copies into them). Default: none.
    var localBuffers: [(String, Tensor)] { get }
    /// Direct children by local name (e.g. `conv1`, `0`). Default: none.
    var children: [(String, any Module)] { get }
    /// Training mode (dropout active, batch statistics); set recursively with ``Module/setTraining(_:)``.
    var isTraining: Bool { get set }
}

extension Module {
    public var localParameters: [(String, Var)] { [] }
    public var localBuffers: [(String, Tensor)] { [] }
    public var children: [(String, any Module)] { [] }

    /// Every module of the tree (this one first, named `""`), depth-first, with dotted names.
    public func namedModules() -> [(String, any Module)] {
        var out: [(String, any Module)] = [("", self)]
        for (name, child) in children {
            for (sub, m) in child.namedModules() { out.append((joinKey(name, sub), m)) }
        }
        return out
    }

    /// Every parameter of the tree with its full dotted name, in declaration order.
    public func namedParameters() -> [(String, Var)] {
        var out = localParameters
        for (name, child) in children {
            for (sub, v) in child.namedParameters() { out.append((joinKey(name, sub), v)) }
        }
        return out
    }

    /// Every buffer of the tree with its full dotted name.
    public func namedBuffers() -> [(String, Tensor)] {
        var out = localBuffers
        for (name, child) in children {
            for (sub, t) in child.namedBuffers() { out.append((joinKey(name, sub), t)) }
        }
        return out
    }

    /// The parameters without names.
    public func parameters() -> [Var] { namedParameters().map(\.1) }

    /// Sets training mode on this module and every descendant.
    public func setTraining(_ training: Bool) {
        for (_, m) in namedModules() { m.isTraining = training }
    }

    /// `setTraining(true)`.
    public func train() { setTraining(true) }
    /// `setTraining(false)`.
    public func eval() { setTraining(false) }

    /// Sets `requiresGrad` on every parameter whose name lies under `prefix` (all when empty). A prefix
    /// matches whole name components: `layer1` matches `layer1.0.conv1.weight`, not `layer10.weight`.
    /// Freezing also drops the parameter's gradient. Returns how many parameters were changed.
    @discardableResult
    public func setRequiresGrad(_ flag: Bool, prefix: String = "") -> Int {
        var n = 0
        for (name, v) in namedParameters() where keyIsUnder(name, prefix: prefix) {
            v.requiresGrad = flag
            if !flag { v.grad = nil }
            n += 1
        }
        return n
    }

    /// Freezes (no gradient, no optimizer update) the parameters under `prefix` (all when empty).
    @discardableResult
    public func freeze(prefix: String = "") -> Int { setRequiresGrad(false, prefix: prefix) }

    /// Unfreezes the parameters under `prefix` (all when empty).
    @discardableResult
    public func unfreeze(prefix: String = "") -> Int { setRequiresGrad(true, prefix: prefix) }

    /// Total number of parameter elements.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.1.value.count } }

    /// Number of parameter elements with `requiresGrad == true`.
    public var trainableParameterCount: Int {
        namedParameters().reduce(0) { $0 + ($1.1.requiresGrad ? $1.1.value.count : 0) }
    }

    /// Drops every parameter's gradient.
    public func zeroGrad() { for (_, v) in namedParameters() { v.grad = nil } }
}

/// `prefix.name`, or either part alone when the other is empty.
@inline(__always)
func joinKey(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : (name.isEmpty ? prefix : prefix + "." + name)
}

/// Whether `key` equals `prefix` or lies under it as whole dotted components (empty prefix: everything).
///
/// ```swift
/// keyIsUnder("layer1.0.conv1.weight", prefix: "layer1")   // true
/// keyIsUnder("layer10.weight", prefix: "layer1")          // false
/// ```
public func keyIsUnder(_ key: String, prefix: String) -> Bool {
    if prefix.isEmpty || key == prefix { return true }
    return key.hasPrefix(prefix.hasSuffix(".") ? prefix : prefix + ".")
}
