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

private func batchNormCore(_ x: Var, gamma: Var, beta: Var, runningMean: Tensor, runningVar: Tensor,
                           training: Bool, momentum: Float, eps: Float, fuseReLU: Bool) -> Var {
    let op = fuseReLU ? "batchNorm2dReLU" : "batchNorm2d"
    let c = x.shape.last ?? 0
    checkShape(x.value.rank >= 2, op, x.shape, gamma.shape)
    for t in [gamma.value, beta.value, runningMean, runningVar] { checkShape(t.count == c, op, x.shape, t.shape) }
    let rows = x.value.count / max(c, 1)
    checkShape(rows > 0 || !training, "\(op) (training needs at least one row)", x.shape, gamma.shape)
    let xv = x.value

    // Per-channel mean and 1/√(σ²+ε).
    let (mean, invStd) = training
        ? batchStatistics(xv, rows: rows, channels: c, runningMean: runningMean, runningVar: runningVar,
                          momentum: momentum, eps: eps)
        : ((0..<c).map { runningMean.pointer[$0] }, (0..<c).map { 1 / (runningVar.pointer[$0] + eps).squareRoot() })

    // y = x · a + b with a = γ/σ̂, b = β − μ·a.
    let gp = gamma.value.pointer, bp = beta.value.pointer
    let scaleA = (0..<c).map { gp[$0] * invStd[$0] }
    let shiftB = (0..<c).map { bp[$0] - mean[$0] * scaleA[$0] }
    let y = Tensor(uninitialized: x.shape)
    let yp = y.pointer, xp = xv.pointer
    scaleA.withUnsafeBufferPointer { a in
        shiftB.withUnsafeBufferPointer { b in
            parallelChunks(rows, costPerItem: c) { r in
                for row in r {
                    let xi = xp + row * c, yo = yp + row * c
                    if fuseReLU { for k in 0..<c { yo[k] = max(0, xi[k] * a[k] + b[k]) } }
                    else { for k in 0..<c { yo[k] = xi[k] * a[k] + b[k] } }
                }
            }
        }
    }

    return makeResult(y, [x, gamma, beta]) { dyIn in
        // Capture the tensors themselves (not only their pointers) so that their storage outlives this pass.
        let dyp = dyIn.pointer, xp = xv.pointer, yp = y.pointer
        // Σ dy and Σ dy·x̂ per channel (dy masked by the ReLU when fused).
        let (sumDy, sumDyXhat) = mean.withUnsafeBufferPointer { mu in
            invStd.withUnsafeBufferPointer { inv in
                channelSums(rows: rows, channels: c) { r, s, q in
                    let xi = xp + r * c, g = dyp + r * c, yo = yp + r * c
                    if fuseReLU {
                        for k in 0..<c { let d = yo[k] > 0 ? g[k] : 0; s[k] += d; q[k] += d * (xi[k] - mu[k]) * inv[k] }
                    } else {
                        for k in 0..<c { s[k] += g[k]; q[k] += g[k] * (xi[k] - mu[k]) * inv[k] }
                    }
                }
            }
        }
        if gamma.requiresGrad { gamma.accumulate(Tensor(shape: [c], values: sumDyXhat.map { Float($0) })) }
        if beta.requiresGrad { beta.accumulate(Tensor(shape: [c], values: sumDy.map { Float($0) })) }
        guard x.requiresGrad else { return }
        // dx = k1·dy − k2 − x̂·k3 per channel (training), or dx = a·dy (eval).
        let k1 = scaleA
        let k2 = (0..<c).map { training ? Float(Double(scaleA[$0]) * sumDy[$0] / Double(rows)) : 0 }
        let k3 = (0..<c).map { training ? Float(Double(scaleA[$0]) * sumDyXhat[$0] / Double(rows)) : 0 }
        let dx = Tensor(uninitialized: x.shape)
        let dxp = dx.pointer
        k1.withUnsafeBufferPointer { k1 in k2.withUnsafeBufferPointer { k2 in k3.withUnsafeBufferPointer { k3 in
            mean.withUnsafeBufferPointer { mu in invStd.withUnsafeBufferPointer { inv in
                parallelChunks(rows, costPerItem: c) { r in
                    for row in r {
                        let xi = xp + row * c, g = dyp + row * c, yo = yp + row * c, o = dxp + row * c
                        if fuseReLU {
                            for k in 0..<c {
                                let d = yo[k] > 0 ? g[k] : 0
                                o[k] = k1[k] * d - k2[k] - (xi[k] - mu[k]) * inv[k] * k3[k]
                            }
                        } else {
                            for k in 0..<c { o[k] = k1[k] * g[k] - k2[k] - (xi[k] - mu[k]) * inv[k] * k3[k] }
                        }
                    }
                }
            } }
        } } }
        x.accumulate(dx)
    }
}

/// Batch mean and 1/√(σ²+ε) (biased σ²) per channel, and the in-place running-statistics update. Sums are of
/// `x − x[0]` (a per-channel pivot), which keeps `E[(x−p)²] − E[x−p]²` accurate when |mean| ≫ std.
private func batchStatistics(_ x: Tensor, rows: Int, channels c: Int, runningMean: Tensor, runningVar: Tensor,
                             momentum: Float, eps: Float) -> ([Float], [Float]) {
    let xp = x.pointer
    let (sum, sumSq) = channelSums(rows: rows, channels: c) { r, s, q in
        let p = xp + r * c
        for k in 0..<c { let v = p[k] - xp[k]; s[k] += v; q[k] += v * v }
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

/// Two per-channel sums over `rows` rows of `channels` values: `body(row, s, q)` adds one row's contributions
/// into the float accumulators `s` and `q`. Rows are split into chunks processed in parallel; each chunk sums
/// blocks of ``blockRows`` rows in float and folds them into per-chunk Double totals, which are then combined.
private func channelSums(rows: Int, channels c: Int,
                         _ body: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> ([Double], [Double]) {
    let blockRows = 64
    let chunks = max(1, min(Threading.workers * 4, rows / blockRows))
    let partial = Storage(zeroedCount: chunks * 2 * c)  // float sums of the current block
    var totals = [Double](repeating: 0, count: chunks * 2 * c)
    let pp = partial.pointer
    totals.withUnsafeMutableBufferPointer { tb in
        let tp = tb.baseAddress!
        parallelChunks(chunks, costPerItem: max(1, rows / chunks) * c) { cr in
            for chunk in cr {
                let lo = rows * chunk / chunks, hi = rows * (chunk + 1) / chunks
                let s = pp + chunk * 2 * c, q = s + c
                let ts = tp + chunk * 2 * c, tq = ts + c
                var r = lo
                while r < hi {
                    let end = min(hi, r + blockRows)
                    s.update(repeating: 0, count: 2 * c)
                    for row in r..<end { body(row, s, q) }
                    for k in 0..<c { ts[k] += Double(s[k]); tq[k] += Double(q[k]) }
                    r = end
                }
            }
        }
    }
    var sum = [Double](repeating: 0, count: c), sumSq = [Double](repeating: 0, count: c)
    for chunk in 0..<chunks {
        for k in 0..<c { sum[k] += totals[chunk * 2 * c + k]; sumSq[k] += totals[chunk * 2 * c + c + k] }
    }
    return (sum, sumSq)
}
