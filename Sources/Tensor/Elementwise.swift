import CKernels
import Foundation

/// Applies `f` element-wise with derivative `df(x, y)` (given input and output): the shared machinery of
/// every activation function.
@inline(__always)
func unaryOp(_ x: Var, _ f: @escaping (Float) -> Float, derivative df: @escaping (Float, Float) -> Float) -> Var {
    let y = Tensor(uninitialized: x.shape)
    let xp = x.value.pointer, yp = y.pointer
    parallelChunks(y.count, costPerItem: 4) { r in for i in r { yp[i] = f(xp[i]) } }
    return makeResult(y, [x]) { dy in
        let dx = Tensor(uninitialized: x.shape)
        let gp = dy.pointer, dp = dx.pointer
        parallelChunks(dx.count, costPerItem: 4) { r in for i in r { dp[i] = gp[i] * df(xp[i], yp[i]) } }
        x.accumulate(dx)
    }
}

/// `max(x, 0)`.
public func relu(_ x: Var) -> Var { unaryOp(x, { max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 }) }

/// `tanh(x)`.
public func tanh(_ x: Var) -> Var { unaryOp(x, { Foundation.tanh($0) }, derivative: { _, y in 1 - y * y }) }

/// `σ(x) = 1 / (1 + e^{−x})`.
public func sigmoid(_ x: Var) -> Var { unaryOp(x, { 1 / (1 + Foundation.exp(-$0)) }, derivative: { _, y in y * (1 - y) }) }

/// CLIP's QuickGELU: `x · σ(1.702 x)`, forward and backward on vectorised kernels (`ipiqa_quick_gelu*`, an exp within
/// 1 ulp of `expf`); the libm loop had made it about a seventh of the text encoder's time.
public func quickGELU(_ x: Var) -> Var {
    let y = Tensor(uninitialized: x.shape)
    let xp = x.value.pointer, yp = y.pointer
    parallelChunks(y.count, costPerItem: 4) { r in ipiqa_quick_gelu(xp + r.lowerBound, r.count, yp + r.lowerBound) }
    return makeResult(y, [x]) { dy in
        let dx = Tensor(uninitialized: x.shape)
        let gp = dy.pointer, dp = dx.pointer
        withExtendedLifetime(x) {
            parallelChunks(dx.count, costPerItem: 4) { r in
                ipiqa_quick_gelu_backward(xp + r.lowerBound, gp + r.lowerBound, r.count, dp + r.lowerBound)
            }
        }
        x.accumulate(dx)
    }
}

/// Exact GELU: `x · Φ(x)` (PyTorch `F.gelu`, approximate='none').
public func gelu(_ x: Var) -> Var {
    unaryOp(x, { 0.5 * $0 * (1 + Foundation.erf($0 / Float(2).squareRoot())) }, derivative: { x, _ in
        let cdf = 0.5 * (1 + Foundation.erf(x / Float(2).squareRoot()))
        let pdf = Foundation.exp(-0.5 * x * x) / (2 * Float.pi).squareRoot()
        return cdf + x * pdf
    })
}

/// Element-wise `a + b` (same shape; for a bias-like broadcast use ``addBroadcast(_:_:)``).
public func add(_ a: Var, _ b: Var) -> Var {
    checkShape(a.value.count == b.value.count, "add", a.shape, b.shape)
    let y = Tensor(uninitialized: a.shape)
    let ap = a.value.pointer, bp = b.value.pointer, yp = y.pointer
    parallelChunks(y.count) { r in for i in r { yp[i] = ap[i] + bp[i] } }
    return makeResult(y, [a, b]) { dy in
        if a.requiresGrad { a.accumulate(dy) }
        if b.requiresGrad { b.accumulate(dy) }
    }
}

/// `a + b` where `b`'s shape equals the trailing dimensions of `a` (e.g. a positional embedding `[L, D]`
/// added to `[N, L, D]`). The gradient of `b` is summed over the leading dimensions.
public func addBroadcast(_ a: Var, _ b: Var) -> Var {
    let inner = b.value.count
    checkShape(a.value.count % max(inner, 1) == 0 && Array(a.shape.suffix(b.value.rank)) == b.shape, "addBroadcast", a.shape, b.shape)
    let outer = a.value.count / inner
    let y = Tensor(uninitialized: a.shape)
    let ap = a.value.pointer, bp = b.value.pointer, yp = y.pointer
    parallelChunks(outer, costPerItem: inner) { r in
        for o in r { for i in 0..<inner { yp[o * inner + i] = ap[o * inner + i] + bp[i] } }
    }
    return makeResult(y, [a, b]) { dy in
        if a.requiresGrad { a.accumulate(dy) }
        if b.requiresGrad { b.accumulate(sumRows(dy, rows: outer, cols: inner).reshaped(b.shape)) }
    }
}

/// Element-wise `a · b` (same shape).
public func mul(_ a: Var, _ b: Var) -> Var {
    checkShape(a.value.count == b.value.count, "mul", a.shape, b.shape)
    let y = Tensor(uninitialized: a.shape)
    let ap = a.value.pointer, bp = b.value.pointer, yp = y.pointer
    parallelChunks(y.count) { r in for i in r { yp[i] = ap[i] * bp[i] } }
    return makeResult(y, [a, b]) { dy in
        let gp = dy.pointer
        if a.requiresGrad {
            let da = Tensor(uninitialized: a.shape); let dp = da.pointer
            parallelChunks(da.count) { r in for i in r { dp[i] = gp[i] * bp[i] } }
            a.accumulate(da)
        }
        if b.requiresGrad {
            let db = Tensor(uninitialized: b.shape); let dp = db.pointer
            parallelChunks(db.count) { r in for i in r { dp[i] = gp[i] * ap[i] } }
            b.accumulate(db)
        }
    }
}

/// `s · x` for a constant `s`.
public func scale(_ x: Var, _ s: Float) -> Var { unaryOp(x, { $0 * s }, derivative: { _, _ in s }) }

/// `max(a + b, 0)` element-wise (same shape) in one pass — a residual connection followed by ReLU.
/// Backward: both inputs receive `dy` where the output is positive, 0 elsewhere.
public func addReLU(_ a: Var, _ b: Var) -> Var {
    checkShape(a.value.count == b.value.count, "addReLU", a.shape, b.shape)
    let y = Tensor(uninitialized: a.shape)
    let ap = a.value.pointer, bp = b.value.pointer, yp = y.pointer
    parallelChunks(y.count, costPerItem: 2) { r in
        ipiqa_add_relu(ap + r.lowerBound, bp + r.lowerBound, r.count, yp + r.lowerBound)
    }
    return makeResult(y, [a, b]) { dy in
        let g = Tensor(uninitialized: y.shape)
        let gp = dy.pointer, op = g.pointer, yp = y.pointer
        parallelChunks(g.count, costPerItem: 2) { r in
            ipiqa_relu_backward(gp + r.lowerBound, yp + r.lowerBound, r.count, op + r.lowerBound)
        }
        if a.requiresGrad { a.accumulate(g) }
        if b.requiresGrad { b.accumulate(g) }
    }
}
