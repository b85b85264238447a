import CKernels
import Foundation

/// Average pooling with kernel = stride = `kernel`, no padding, floor mode (PyTorch `nn.AvgPool2d(k)`) on
/// `x` `[N, H, W, C]` → `[N, ⌊H/k⌋, ⌊W/k⌋, C]`:
///
///     y[n, oh, ow, c] = (1/k²) · Σ_{i,j < k} x[n, oh·k + i, ow·k + j, c]
///
/// Rows/columns beyond `k·⌊H/k⌋` (odd sizes) are dropped; their gradient is zero. Backward:
/// `dx[n, oh·k + i, ow·k + j, c] = dy[n, oh, ow, c] / k²`.
///
/// ```swift
/// let y = avgPool2d(x, kernel: 2)   // [N, 56, 56, C] → [N, 28, 28, C]
/// ```
public func avgPool2d(_ x: Var, kernel k: Int) -> Var {
    checkShape(x.value.rank == 4 && k >= 1, "avgPool2d (kernel \(k))", x.shape, [k, k])
    let n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
    let oh = h / k, ow = w / k
    let y = Tensor(uninitialized: [n, oh, ow, c])
    let xp = x.value.pointer, yp = y.pointer
    let inv = 1 / Float(k * k)
    // One item per output row (n, oh); the C kernel vectorises over channels.
    parallelChunks(n * oh, costPerItem: k * w * c) { r in
        ipiqa_avgpool2d(xp, Int32(h), Int32(w), Int32(c), Int32(k), r.lowerBound, r.upperBound, Int32(oh), Int32(ow), yp)
    }
    return makeResult(y, [x]) { dy in
        let dx = Tensor(zeros: x.shape)
        let gp = dy.pointer, dp = dx.pointer
        parallelChunks(n * oh, costPerItem: k * w * c) { r in
            for row in r {
                let b = row / oh, i0 = (row % oh) * k
                for o in 0..<ow {
                    let src = gp + (row * ow + o) * c
                    for i in 0..<k {
                        for j in 0..<k {
                            let dst = dp + ((b * h + i0 + i) * w + o * k + j) * c
                            for ch in 0..<c { dst[ch] = src[ch] * inv }
                        }
                    }
                }
            }
        }
        x.accumulate(dx)
    }
}

/// Mean over the spatial dimensions: `x` `[N, H, W, C]` → `[N, C]`, `y[n, c] = (1/HW) · Σ_{h,w} x[n, h, w, c]`.
/// Backward: `dx[n, h, w, c] = dy[n, c] / (H·W)`.
///
/// ```swift
/// let features = globalAvgPool(x)   // [N, 7, 7, 2048] → [N, 2048]
/// ```
public func globalAvgPool(_ x: Var) -> Var {
    checkShape(x.value.rank == 4, "globalAvgPool", x.shape, [])
    let n = x.shape[0], hw = x.shape[1] * x.shape[2], c = x.shape[3]
    let y = Tensor(zeros: [n, c])
    let xp = x.value.pointer, yp = y.pointer
    let inv = 1 / Float(max(hw, 1))
    // Parallel over (image, channel block) pairs; each accumulates its own output slice.
    let block = 64, blocks = (c + block - 1) / block
    parallelChunks(n * blocks, costPerItem: hw * block) { r in
        for item in r {
            let b = item / blocks, c0 = (item % blocks) * block, c1 = min(c, c0 + block)
            let dst = yp + b * c
            for p in 0..<hw {
                let src = xp + (b * hw + p) * c
                for ch in c0..<c1 { dst[ch] += src[ch] }
            }
            for ch in c0..<c1 { dst[ch] *= inv }
        }
    }
    return makeResult(y, [x]) { dy in
        let dx = Tensor(uninitialized: x.shape)
        let gp = dy.pointer, dp = dx.pointer
        parallelChunks(n * hw, costPerItem: c) { r in
            for pix in r {
                let src = gp + (pix / hw) * c, dst = dp + pix * c
                for ch in 0..<c { dst[ch] = src[ch] * inv }
            }
        }
        x.accumulate(dx)
    }
}
