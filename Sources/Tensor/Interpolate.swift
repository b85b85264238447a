import Foundation

/// Port of PyTorch's CPU `F.interpolate(mode="bicubic", align_corners=False, antialias=False)`
/// (aten/src/ATen/native/UpSample.h `area_pixel_compute_source_index`, `guard_index_and_lambda`,
/// `get_cubic_upsample_coefficients`), on channels-last `x` `[N, H, W, C]` → `[N, height, width, C]`.
///
/// For each output coordinate `d` along an axis of input size `I` and output size `O`:
/// `s = (I/O)·(d + ½) − ½`, `i = min(⌊s⌋, I−1)`, `t = clamp(s − i, 0, 1)`, and the four taps `i−1 … i+2`
/// (clamped to `[0, I−1]`) get Keys' cubic weights with `a = −0.75`:
/// `W(x) = (a+2)|x|³ − (a+3)|x|² + 1` for `|x| ≤ 1`, `a|x|³ − 5a|x|² + 8a|x| − 4a` for `1 < |x| < 2`.
/// The 2-D result is the separable product (rows, then columns). Differences from PyTorch: the vertical pass
/// runs first into a row buffer (same sums, another float summation order). Backward is the exact transpose.
///
/// ```swift
/// let pos = interpolateBicubic(grid, height: 16, width: 16)   // [1, 7, 7, 2048] → [1, 16, 16, 2048]
/// ```
public func interpolateBicubic(_ x: Var, height: Int, width: Int) -> Var {
    checkShape(x.value.rank == 4 && height >= 1 && width >= 1, "interpolateBicubic", x.shape, [height, width])
    let n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
    checkShape(h >= 1 && w >= 1, "interpolateBicubic", x.shape, [height, width])
    let ty = CubicTaps(input: h, output: height), tx = CubicTaps(input: w, output: width)
    let y = Tensor(uninitialized: [n, height, width, c])
    let xp = x.value.pointer, yp = y.pointer
    // One item per output row: vertical combination into a [w, c] buffer, then the horizontal taps.
    parallelChunks(n * height, costPerItem: 4 * (w + width) * c) { r in
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: w * c)
        defer { tmp.deallocate() }
        for row in r {
            let b = row / height, oy = row % height
            tmp.update(repeating: 0, count: w * c)
            for i in 0..<4 {
                let wy = ty.weight[oy * 4 + i], src = xp + (b * h + ty.index[oy * 4 + i]) * w * c
                for e in 0..<(w * c) { tmp[e] += wy * src[e] }
            }
            for ox in 0..<width {
                let dst = yp + (row * width + ox) * c
                dst.update(repeating: 0, count: c)
                for j in 0..<4 {
                    let wx = tx.weight[ox * 4 + j], src = tmp + tx.index[ox * 4 + j] * c
                    for ch in 0..<c { dst[ch] += wx * src[ch] }
                }
            }
        }
    }
    return makeResult(y, [x]) { dy in
        let dx = Tensor(zeros: x.shape)
        let gp = dy.pointer, dp = dx.pointer
        // Items are (image, channel block): each owns dx[b, :, :, block], so scatter-adds never collide.
        let block = 64, blocks = (c + block - 1) / block
        parallelChunks(n * blocks, costPerItem: height * 4 * (w + width) * block) { r in
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: w * block)
            defer { tmp.deallocate() }
            for item in r {
                let b = item / blocks, c0 = (item % blocks) * block, cb = min(c, c0 + block) - c0
                for oy in 0..<height {
                    // Transpose of the horizontal pass: tmp[ix] += wx · dy[ox].
                    tmp.update(repeating: 0, count: w * cb)
                    for ox in 0..<width {
                        let src = gp + ((b * height + oy) * width + ox) * c + c0
                        for j in 0..<4 {
                            let wx = tx.weight[ox * 4 + j], dst = tmp + tx.index[ox * 4 + j] * cb
                            for ch in 0..<cb { dst[ch] += wx * src[ch] }
                        }
                    }
                    // Transpose of the vertical pass: dx[iy] += wy · tmp.
                    for i in 0..<4 {
                        let wy = ty.weight[oy * 4 + i], dstRow = dp + (b * h + ty.index[oy * 4 + i]) * w * c + c0
                        for ix in 0..<w {
                            let dst = dstRow + ix * c, src = tmp + ix * cb
                            for ch in 0..<cb { dst[ch] += wy * src[ch] }
                        }
                    }
                }
            }
        }
        x.accumulate(dx)
    }
}

/// The four clamped input indices and cubic weights of every output coordinate along one axis
/// (`index[4·d + k]`, `weight[4·d + k]`).
struct CubicTaps: Sendable {
    /// Keys' cubic-convolution parameter used by PyTorch.
    static let a: Float = -0.75
    let index: [Int]
    let weight: [Float]

    init(input: Int, output: Int) {
        let scale = Float(input) / Float(output)
        var index = [Int](repeating: 0, count: 4 * output), weight = [Float](repeating: 0, count: 4 * output)
        for d in 0..<output {
            let real = scale * (Float(d) + 0.5) - 0.5
            let i = min(Int(real.rounded(.down)), input - 1)
            let t = min(max(real - Float(i), 0), 1)
            let coeffs = [Self.far(t + 1), Self.near(t), Self.near(1 - t), Self.far(2 - t)]
            for k in 0..<4 {
                index[4 * d + k] = min(max(i - 1 + k, 0), input - 1)
                weight[4 * d + k] = coeffs[k]
            }
        }
        self.index = index
        self.weight = weight
    }

    /// `W(x)` for `|x| ≤ 1`.
    static func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
    /// `W(x)` for `1 < |x| < 2`.
    static func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
}
