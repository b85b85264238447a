import Foundation

/// Mean squared error over all elements (PyTorch `F.mse_loss`, reduction 'mean'):
///
///     L = (1/n) Σ (pred − target)²,   dL/dpred = 2 (pred − target) / n = −dL/dtarget
///
/// ```swift
/// let loss = mseLoss(predictedMOS, mos)   // both [B] (or any equal element count)
/// ```
public func mseLoss(_ pred: Var, _ target: Var) -> Var {
    checkShape(pred.value.count == target.value.count, "mseLoss", pred.shape, target.shape)
    let n = pred.value.count
    let diff = Tensor(uninitialized: pred.shape)
    let pp = pred.value.pointer, tp = target.value.pointer, dp = diff.pointer
    parallelChunks(n) { r in for i in r { dp[i] = pp[i] - tp[i] } }
    var s = 0.0
    for i in 0..<n { s += Double(dp[i]) * Double(dp[i]) }
    let y = Tensor(scalar: Float(s / Double(max(n, 1))))
    return makeResult(y, [pred, target]) { dy in
        let c = 2 * dy.pointer[0] / Float(max(n, 1)), dp = diff.pointer
        if pred.requiresGrad {
            let g = Tensor(uninitialized: pred.shape); let gp = g.pointer
            parallelChunks(n) { r in for i in r { gp[i] = c * dp[i] } }
            pred.accumulate(g)
        }
        if target.requiresGrad {
            let g = Tensor(uninitialized: target.shape); let gp = g.pointer
            parallelChunks(n) { r in for i in r { gp[i] = -c * dp[i] } }
            target.accumulate(g)
        }
    }
}

/// Mean over rows of `1 − cos(aᵢ, bᵢ)` along the last dimension (Image2Prompt's feature-alignment loss),
/// with PyTorch's `F.cosine_similarity` definition (eps = 1e-8 clamps each norm):
///
///     cosᵢ = aᵢ·bᵢ / (max(‖aᵢ‖, eps) · max(‖bᵢ‖, eps)),   L = (1/N) Σ (1 − cosᵢ)
///     d cosᵢ/daᵢ = bᵢ/(‖aᵢ‖‖bᵢ‖) − cosᵢ · aᵢ/‖aᵢ‖²   (norm term dropped where ‖aᵢ‖ ≤ eps)
///
/// ```swift
/// let loss = cosineLoss(predictedTextFeatures, clipTextFeatures)   // [B, 1024] each
/// ```
public func cosineLoss(_ a: Var, _ b: Var) -> Var {
    checkShape(a.shape == b.shape && a.value.rank >= 1, "cosineLoss", a.shape, b.shape)
    let eps: Float = 1e-8
    let d = a.shape.last!, rows = d == 0 ? 0 : a.value.count / d
    let stats = Tensor(uninitialized: [rows, 3])   // (‖a‖, ‖b‖, cos) per row
    let ap = a.value.pointer, bp = b.value.pointer, sp = stats.pointer
    parallelChunks(rows, costPerItem: 3 * d) { r in
        for row in r {
            let x = ap + row * d, z = bp + row * d
            var aa: Float = 0, bb: Float = 0, ab: Float = 0
            for j in 0..<d { aa += x[j] * x[j]; bb += z[j] * z[j]; ab += x[j] * z[j] }
            let na = aa.squareRoot(), nb = bb.squareRoot()
            sp[3 * row] = na; sp[3 * row + 1] = nb
            sp[3 * row + 2] = ab / (max(na, eps) * max(nb, eps))
        }
    }
    var total = 0.0
    for row in 0..<rows { total += 1 - Double(sp[3 * row + 2]) }
    let y = Tensor(scalar: Float(total / Double(max(rows, 1))))
    return makeResult(y, [a, b]) { dy in
        let c = -dy.pointer[0] / Float(max(rows, 1))
        let sp = stats.pointer, ap = a.value.pointer, bp = b.value.pointer
        // d/dx of cos for operand x with partner z: z/(ux·uz) − cos · x/(ux·‖x‖)  (second term only if ‖x‖ > eps).
        func grad(_ xp: UnsafeMutablePointer<Float>, _ zp: UnsafeMutablePointer<Float>, normIndex: Int) -> Tensor {
            let g = Tensor(uninitialized: a.shape); let gp = g.pointer
            parallelChunks(rows, costPerItem: 2 * d) { r in
                for row in r {
                    let nx = sp[3 * row + normIndex], nz = sp[3 * row + 1 - normIndex], cos = sp[3 * row + 2]
                    let ux = max(nx, eps), uz = max(nz, eps)
                    let k1 = c / (ux * uz), k2 = nx > eps ? c * cos / (ux * nx) : 0
                    let x = xp + row * d, z = zp + row * d, out = gp + row * d
                    for j in 0..<d { out[j] = k1 * z[j] - k2 * x[j] }
                }
            }
            return g
        }
        if a.requiresGrad { a.accumulate(grad(ap, bp, normIndex: 0)) }
        if b.requiresGrad { b.accumulate(grad(bp, ap, normIndex: 1)) }
    }
}

/// CLIP's symmetric contrastive (InfoNCE) loss for matched pairs (row i of `image` ↔ row i of `text`):
///
///     s = exp(logitScale),  logits = s · norm(image) · norm(text)ᵀ  [N, N]
///     L = (CE(logits, diag) + CE(logitsᵀ, diag)) / 2        (CE = mean over rows of logsumexp − target logit)
///
/// Backward: `dlogits = (softmax_rows(logits) − I + softmax_cols(logits) − I) / 2N`,
/// `d norm(image) = s · dlogits · norm(text)`, `d norm(text) = s · dlogitsᵀ · norm(image)`,
/// `d logitScale = Σ dlogits ⊙ logits`; the normalisations back-propagate through ``l2Normalize(_:eps:)``.
///
/// ```swift
/// let loss = clipContrastiveLoss(image: imgFeat, text: txtFeat, logitScale: model.logitScale)  // [N, E], [N, E], [] or [1]
/// ```
public func clipContrastiveLoss(image: Var, text: Var, logitScale: Var) -> Var {
    checkShape(image.shape == text.shape && image.value.rank == 2, "clipContrastiveLoss", image.shape, text.shape)
    checkShape(logitScale.value.count == 1, "clipContrastiveLoss (logitScale)", logitScale.shape, [1])
    return contrastiveOnUnitFeatures(l2Normalize(image), l2Normalize(text), logitScale: logitScale)
}

/// The part of ``clipContrastiveLoss(image:text:logitScale:)`` after normalisation, as one fused kernel.
private func contrastiveOnUnitFeatures(_ img: Var, _ txt: Var, logitScale: Var) -> Var {
    let n = img.shape[0], e = img.shape[1]
    let s = Foundation.exp(logitScale.value.pointer[0])
    let ip = img.value.pointer, tp = txt.value.pointer
    let logits = Tensor(uninitialized: [n, n])      // s · I Tᵀ (row i: image i against every text)
    let rowP = Tensor(uninitialized: [n, n])        // softmax over each row of logits
    let colP = Tensor(uninitialized: [n, n])        // softmax over each row of logitsᵀ
    sgemm(transB: true, m: n, n: n, k: e, alpha: s, a: ip, b: tp, c: logits.pointer)
    let lp = logits.pointer
    for i in 0..<n { for j in 0..<n { colP.pointer[j * n + i] = lp[i * n + j] } }
    rowP.pointer.update(from: lp, count: n * n)
    // Cross-entropy terms: logsumexp(row) − diagonal, computed in double from the max-subtracted row.
    func ceSum(_ m: UnsafeMutablePointer<Float>) -> Double {
        var total = 0.0
        for i in 0..<n {
            let row = m + i * n
            var mx = -Float.infinity
            for j in 0..<n { mx = max(mx, row[j]) }
            var z = 0.0
            for j in 0..<n { z += Foundation.exp(Double(row[j] - mx)) }
            total += Double(mx) + Foundation.log(z) - Double(row[i])
        }
        return total
    }
    let loss = (ceSum(rowP.pointer) + ceSum(colP.pointer)) / Double(2 * max(n, 1))
    softmaxRowsInPlace(rowP.pointer, rows: n, cols: n)
    softmaxRowsInPlace(colP.pointer, rows: n, cols: n)
    return makeResult(Tensor(scalar: Float(loss)), [img, txt, logitScale]) { dy in
        let c = dy.pointer[0] / Float(2 * n)
        let dl = Tensor(uninitialized: [n, n])
        let gp = dl.pointer, rp = rowP.pointer, cp = colP.pointer, lp = logits.pointer
        let ip = img.value.pointer, tp = txt.value.pointer
        for i in 0..<n {
            for j in 0..<n { gp[i * n + j] = c * (rp[i * n + j] + cp[j * n + i] - (i == j ? 2 : 0)) }
        }
        if img.requiresGrad {
            let g = Tensor(uninitialized: img.shape)
            sgemm(m: n, n: e, k: n, alpha: s, a: gp, b: tp, c: g.pointer)
            img.accumulate(g)
        }
        if txt.requiresGrad {
            let g = Tensor(uninitialized: txt.shape)
            sgemm(transA: true, m: n, n: e, k: n, alpha: s, a: gp, b: ip, c: g.pointer)
            txt.accumulate(g)
        }
        if logitScale.requiresGrad {
            var acc = 0.0
            for i in 0..<(n * n) { acc += Double(gp[i]) * Double(lp[i]) }
            logitScale.accumulate(Tensor(shape: logitScale.shape, repeating: Float(acc)))
        }
    }
}
