import CKernels
import Foundation

/// Batch normalisation over the channel (last) dimension of `x` `[N, H, W, C]` (PyTorch `nn.BatchNorm2d`).
///
///     y = γ · (x − μ) / √(σ² + ε) + β
///
/// Training: `μ`, `σ²` are the batch statistics over the `N·H·W` rows (biased variance), and the running
/// statistics are updated IN PLACE: `running = (1 − momentum) · running + momentum · batch` (the variance with
/// the unbiased `R/(R−1)` correction; with a single row, `R/(R−1)` is taken as 1 instead of PyTorch's error).
/// Eval: `μ`, `σ²` are `runningMean`, `runningVar`. `gamma`, `beta`, `runningMean`, `runningVar` are `[C]`.
/// Backward (training): through the batch statistics,
/// `dx = γ/(R·σ̂) · (R·dy − Σdy − x̂ · Σ(dy·x̂))`; eval: `dx = γ/σ̂ · dy`; `dγ = Σ dy·x̂`, `dβ = Σ dy`.
///
/// ```swift
/// let bn = batchNorm2d(x, gamma: g, beta: b, runningMean: rm, runningVar: rv, training: true)
/// ```
public func batchNorm2d(_ x: Var, gamma: Var, beta: Var, runningMean: Tensor, runningVar: Tensor,
                        training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Var {
    batchNormCore(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                  training: training, momentum: momentum, eps: eps, fuseReLU: false)
}

/// ``batchNorm2d(_:gamma:beta:runningMean:runningVar:training:momentum:eps:)`` followed by `max(·, 0)`, in one
/// pass over memory forward and backward (the ReLU mask is read from the output). Same semantics as
/// `relu(batchNorm2d(...))`.
///
/// ```swift
/// let h = batchNorm2dReLU(conv2d(x, w, padding: 1), gamma: g, beta: b, runningMean: rm, runningVar: rv, training: false)
/// ```
public func batchNorm2dReLU(_ x: Var, gamma: Var, beta: Var, runningMean: Tensor, runningVar: Tensor,
                            training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Var {
    batchNormCore(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                  training: training, momentum: momentum, eps: eps, fuseReLU: true)
}

/// `max(batchNorm2d(x) + residual, 0)` (or without the clamp when `relu` is false) in one op: the ResNet block's last
/// batch norm, residual add and ReLU. Forward is one pass over memory after the statistics; backward computes the
/// ReLU-masked gradient once, hands it to `residual` and runs the batch-norm backward on it. Same semantics as
/// `addReLU(batchNorm2d(x, ...), residual)` / `add(batchNorm2d(x, ...), residual)`.
///
/// ```swift
/// let out = batchNorm2dAdd(conv3Out, residual: identity, gamma: g, beta: b, runningMean: rm, runningVar: rv,
///                          training: true, relu: true)
/// ```
public func batchNorm2dAdd(_ x: Var, residual: Var, gamma: Var, beta: Var, runningMean: Tensor, runningVar: Tensor,
                           training: Bool, relu: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Var {
    checkShape(residual.shape == x.shape, "batchNorm2dAdd residual", residual.shape, x.shape)
    return batchNormCore(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                         training: training, momentum: momentum, eps: eps, fuseReLU: relu, residual: residual)
}

private func batchNormCore(_ x: Var, gamma: Var, beta: Var, runningMean: Tensor, runningVar: Tensor,
                           training: Bool, momentum: Float, eps: Float, fuseReLU: Bool, residual: Var? = nil) -> Var {
    let op = residual != nil ? "batchNorm2dAdd" : (fuseReLU ? "batchNorm2dReLU" : "batchNorm2d")
    let c = x.shape.last ?? 0
    checkShape(x.value.rank >= 2, op, x.shape, gamma.shape)
    for t in [gamma.value, beta.value, runningMean, runningVar] { checkShape(t.count == c, op, x.shape, t.shape) }
    let rows = x.value.count / max(c, 1)
    checkShape(rows > 0 || !training, "\(op) (training needs at least one row)", x.shape, gamma.shape)
    let xv = x.value, rv = residual?.value

    // Per-channel mean and 1/√(σ²+ε).
    let (mean, invStd) = training
        ? batchStatistics(xv, rows: rows, channels: c, runningMean: runningMean, runningVar: runningVar,
                          momentum: momentum, eps: eps)
        : ((0..<c).map { runningMean.pointer[$0] }, (0..<c).map { 1 / (runningVar.pointer[$0] + eps).squareRoot() })

    // y = x · a + b (+ residual) (→ ReLU) with a = γ/σ̂, b = β − μ·a.
    let gp = gamma.value.pointer, bp = beta.value.pointer
    let scaleA = (0..<c).map { gp[$0] * invStd[$0] }
    let shiftB = (0..<c).map { bp[$0] - mean[$0] * scaleA[$0] }
    let y = Tensor(uninitialized: x.shape)
    let yp = y.pointer, xp = xv.pointer, rp = rv?.pointer
    scaleA.withUnsafeBufferPointer { a in
        shiftB.withUnsafeBufferPointer { b in
            parallelChunks(rows, costPerItem: c) { r in
                let off = r.lowerBound * c
                ipiqa_bn_apply(xp + off, Int32(r.count), Int32(c), a.baseAddress, b.baseAddress, rp.map { $0 + off },
                               fuseReLU ? 1 : 0, yp + off)
            }
        }
    }

    let parents = residual.map { [x, gamma, beta, $0] } ?? [x, gamma, beta]
    return makeResult(y, parents) { dyIn in
        // Capture the tensors themselves (not only their pointers) so that their storage outlives this pass.
        let dyp = dyIn.pointer, xp = xv.pointer, yp = y.pointer
        let maskY: UnsafeMutablePointer<Float>? = fuseReLU ? yp : nil
        // The gradient reaching the residual branch (and the batch norm): dy masked by the ReLU, written once when
        // the residual needs it.
        let masked: Tensor? = (residual?.requiresGrad == true && fuseReLU) ? Tensor(uninitialized: x.shape) : nil
        // Σ d and Σ d·(x − μ) per channel.
        let (sumD, sumDX) = mean.withUnsafeBufferPointer { mu in
            channelSums(rows: rows, channels: c) { lo, hi, s, q, scratch in
                let off = lo * c
                ipiqa_bn_backward_sums(dyp + off, xp + off, maskY.map { $0 + off }, Int32(hi - lo), Int32(c),
                                       mu.baseAddress, masked.map { $0.pointer + off }, s, q, scratch)
            }
        }
        if let residual, residual.requiresGrad { residual.accumulate(masked ?? dyIn) }
        let sumDyXhat = (0..<c).map { sumDX[$0] * Double(invStd[$0]) }
        if gamma.requiresGrad { gamma.accumulate(Tensor(shape: [c], values: sumDyXhat.map { Float($0) })) }
        if beta.requiresGrad { beta.accumulate(Tensor(shape: [c], values: sumD.map { Float($0) })) }
        guard x.requiresGrad else { return }
        // dx = p·d + x·u + v per channel with p = γ/σ̂ and, in training (through the batch statistics),
        // u = −p·Σ(d·x̂)/(R·σ̂), v = −p·Σd/R − μ·u; in eval u = v = 0.
        let p = scaleA
        var u = [Float](repeating: 0, count: c), v = [Float](repeating: 0, count: c)
        if training {
            for k in 0..<c {
                let pk = Double(scaleA[k]), inv = Double(invStd[k])
                let uk = -pk * sumDyXhat[k] / Double(rows) * inv
                u[k] = Float(uk)
                v[k] = Float(-pk * sumD[k] / Double(rows) - Double(mean[k]) * uk)
            }
        }
        let dx = Tensor(uninitialized: x.shape)
        let dxp = dx.pointer
        // The masked gradient already has the ReLU applied.
        let dSource = masked?.pointer ?? dyp
        let dMask = masked == nil ? maskY : nil
        p.withUnsafeBufferPointer { p in u.withUnsafeBufferPointer { u in v.withUnsafeBufferPointer { v in
            parallelChunks(rows, costPerItem: c) { r in
                let off = r.lowerBound * c
                ipiqa_bn_backward_dx(dSource + off, xp + off, dMask.map { $0 + off }, Int32(r.count), Int32(c),
                                     p.baseAddress, u.baseAddress, v.baseAddress, dxp + off)
            }
        } } }
        withExtendedLifetime((masked, dyIn)) {}
        x.accumulate(dx)
    }
}

/// Batch mean and 1/√(σ²+ε) (biased σ²) per channel, and the in-place running-statistics update. Sums are of
/// `x − x[0]` (a per-channel pivot), which keeps `E[(x−p)²] − E[x−p]²` accurate when |mean| ≫ std.
private func batchStatistics(_ x: Tensor, rows: Int, channels c: Int, runningMean: Tensor, runningVar: Tensor,
                             momentum: Float, eps: Float) -> ([Float], [Float]) {
    let xp = x.pointer
    let (sum, sumSq) = channelSums(rows: rows, channels: c) { lo, hi, s, q, scratch in
        ipiqa_bn_sums(xp + lo * c, Int32(hi - lo), Int32(c), xp, s, q, scratch)
    }
    let unbiased = rows > 1 ? Double(rows) / Double(rows - 1) : 1
    let rm = runningMean.pointer, rv = runningVar.pointer, m = Double(momentum)
    var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
    for k in 0..<c {
        let shift = sum[k] / Double(rows)
        let mu = Double(xp[k]) + shift
        let variance = max(0, sumSq[k] / Double(rows) - shift * shift)
        mean[k] = Float(mu)
        invStd[k] = Float(1 / (variance + Double(eps)).squareRoot())
        rm[k] = Float((1 - m) * Double(rm[k]) + m * mu)
        rv[k] = Float((1 - m) * Double(rv[k]) + m * variance * unbiased)
    }
    return (mean, invStd)
}

/// Two per-channel sums over `rows` rows of `channels` values. The rows are cut into chunks summed in parallel:
/// `body(lo, hi, s, q, scratch)` adds rows `lo..<hi` into the chunk's Double accumulators `s`, `q` (`channels` each),
/// with `scratch` (2·`channels` floats) for the kernel's float blocks; the chunks' totals are then combined in order.
private func channelSums(rows: Int, channels c: Int,
                         _ body: (Int, Int, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>,
                                  UnsafeMutablePointer<Float>) -> Void) -> ([Double], [Double]) {
    let chunks = rows * c < 32_768 ? 1 : max(1, min(Threading.workers * 4, rows / 64))
    let scratch = Storage(uninitializedCount: chunks * 2 * c)
    var totals = [Double](repeating: 0, count: chunks * 2 * c)
    let sp = scratch.pointer
    totals.withUnsafeMutableBufferPointer { tb in
        let tp = tb.baseAddress!
        parallelTasks(chunks) { chunk in
            let lo = rows * chunk / chunks, hi = rows * (chunk + 1) / chunks
            if lo < hi { body(lo, hi, tp + chunk * 2 * c, tp + chunk * 2 * c + c, sp + chunk * 2 * c) }
        }
    }
    var sum = [Double](repeating: 0, count: c), sumSq = [Double](repeating: 0, count: c)
    for chunk in 0..<chunks {
        for k in 0..<c { sum[k] += totals[chunk * 2 * c + k]; sumSq[k] += totals[chunk * 2 * c + c + k] }
    }
    return (sum, sumSq)
}
