import Tensor

/// Inverted dropout (PyTorch `nn.Dropout(p)`): in training, each element is zeroed with probability `p` and the
/// survivors are scaled by `1/(1 − p)`; in evaluation (or with `p = 0`) it is the identity. The mask comes from
/// the layer's own seeded generator, so runs are reproducible.
///
/// ```swift
/// let drop = Dropout(0.1, seed: 7)
/// let y = drop(x)        // identity after `drop.eval()`
/// ```
public final class Dropout: Module {
    public var isTraining = true
    public let p: Float
    public var rng: SeededGenerator

    public init(_ p: Float, seed: UInt64 = 0) {
        self.p = min(max(p, 0), 1)
        self.rng = SeededGenerator(seed: seed)
    }

    public func callAsFunction(_ x: Var) -> Var {
        guard isTraining, p > 0 else { return x }
        let mask = Tensor(uninitialized: x.shape)
        let keep = p < 1 ? 1 / (1 - p) : 0
        let mp = mask.pointer
        for i in 0..<mask.count { mp[i] = rng.nextFloat() < p ? 0 : keep }
        return mul(x, Var(mask))
    }
}
