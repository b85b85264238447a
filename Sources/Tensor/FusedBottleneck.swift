import CKernels
import Foundation

/// One convolution of a fused inference block: its packed weight, geometry and folded epilogue (the residual of the
/// block's last unit is supplied by ``bottleneckFused(_:conv1:conv2:conv3:downsample:stride:bandBytes:minimumBandPixels:)`` itself).
public struct FusedConvUnit: @unchecked Sendable {
    public let packed: PackedWeights
    /// `[Cout, kh, kw, Cin]`.
    public let weightShape: [Int]
    public let stride: Int
    public let padding: Int
    public let epilogue: ConvEpilogue

    public init(packed: PackedWeights, weightShape: [Int], stride: Int = 1, padding: Int, epilogue: ConvEpilogue) {
        self.packed = packed; self.weightShape = weightShape; self.stride = stride; self.padding = padding
        self.epilogue = epilogue
    }

    /// Runs this unit for output pixels `pixels` of geometry `g` on the calling thread, from `x` into `out` (row stride
    /// = output channels), fp32 or bf16 activations each (``BlockData``).
    func run(_ g: ConvGeometry, x: BlockData, pixels: Range<Int>, out: BlockData,
             residual: UnsafeMutablePointer<Float>? = nil) {
        packed.convolveBlock(g, input: x, pixels: pixels, columns: 0..<g.cout, output: out, ldy: g.cout,
                             scale: epilogue.scale?.pointer, shift: epilogue.shift?.pointer, residual: residual,
                             ldr: g.cout, relu: epilogue.relu)
    }

    /// Whether this unit's output can be stored in bf16 for `consumer`: both run bf16 kernels (the consumer would
    /// round it to bf16 anyway) and the channel count is even.
    func feedsBF16(_ consumer: FusedConvUnit) -> Bool {
        packed.precision == .bf16 && consumer.packed.precision == .bf16 && weightShape[0] % 2 == 0
    }
}

/// A scratch map of `count` activations, fp32 or bf16.
struct ScratchMap {
    let storage: Storage
    let isBF16: Bool

    init(count: Int, bf16: Bool) {
        storage = Storage(uninitializedCount: bf16 ? (count + 1) / 2 : count)
        isBF16 = bf16
    }

    /// The map from element `offset` on.
    func at(_ offset: Int) -> BlockData {
        isBF16 ? .bf16(UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self) + offset)
            : .fp32(storage.pointer + offset)
    }
}

/// Tuning of ``bottleneckFused(_:conv1:conv2:conv3:downsample:stride:bandBytes:minimumBandPixels:)``.
public enum FusedBottleneckTuning {
    /// Whether ResNet bottlenecks run band by band (default on; `IPIQA_FUSED_BOTTLENECK=0` runs them one convolution
    /// at a time, for comparisons).
    nonisolated(unsafe) public static var enabled: Bool = ProcessInfo.processInfo.environment["IPIQA_FUSED_BOTTLENECK"] != "0"

    /// Bytes of block input plus output per band (`rows · W · (Cin + Cout) · 4`): the band's input is read again for
    /// the residual and its intermediate maps are consumed while they are still in the core's L2 cache. Override with
    /// `IPIQA_BAND_BYTES`.
    nonisolated(unsafe) public static var bandBytes: Int = {
        if let s = ProcessInfo.processInfo.environment["IPIQA_BAND_BYTES"], let v = Int(s), v > 0 { return v }
        return 384 << 10
    }()

    /// Fewest output pixels per band (a band of a small map takes more rows than `bandBytes` asks): GEMMs of a few
    /// rows spend their time re-reading the weights and in short register tiles. RN50 at 224 px: layer4's 7×7 maps
    /// run as whole images instead of bands of 3, 3 and 1 rows.
    nonisolated(unsafe) public static var minimumBandPixels = 96
}

/// The bands of output rows `r0 ..< r1`: `count` near-equal bands of at most `rows` rows each.
struct Bands {
    let r0, r1, count: Int

    /// Bands of about `bytesPerRow · rows ≤ bandBytes`, but at least `minimumPixels` pixels (`pixelsPerRow` per row).
    init(_ range: Range<Int>, bytesPerRow: Int, pixelsPerRow: Int, bandBytes: Int, minimumPixels: Int) {
        let byBytes = max(1, bandBytes) / max(1, bytesPerRow)
        let byPixels = (max(1, minimumPixels) + pixelsPerRow - 1) / max(1, pixelsPerRow)
        let rows = max(1, byBytes, byPixels)
        r0 = range.lowerBound; r1 = range.upperBound
        count = max(1, (r1 - r0 + rows - 1) / rows)
    }

    /// Rows of the tallest band.
    var tallest: Int { (r1 - r0 + count - 1) / count }
    /// Band `i`.
    subscript(i: Int) -> Range<Int> { (r0 + (r1 - r0) * i / count)..<(r0 + (r1 - r0) * (i + 1) / count) }
}

/// A ResNet bottleneck in inference, band by band (bands of about `bandBytes`, see ``FusedBottleneckTuning``):
///
///     y = relu( u3( pool( u2( u1(x) ) ) ) + identity ),   identity = x, or u_ds(pool(x)) with a downsample
///
/// where each `u` is a convolution with its folded batch norm (and ReLU for `u1`, `u2`): `conv1` 1×1, `conv2` k×k
/// with "same" padding, `conv3` 1×1, `downsample` 1×1, and `pool` the `stride × stride` average pool of CLIP's
/// anti-aliased strided blocks (none for stride 1). The unfused path runs each convolution over the whole batch, so
/// every intermediate map (and `x`, re-read for the residual) makes a round trip through memory. Here each worker takes
/// a range of output rows and walks it in bands of a few rows: `u1` for the rows the band's `u2` reads (each row once
/// per range; a range recomputes only the halo rows next to it), `u2` into a band buffer, the pools, then `u3` with
/// the residual, all while the band's data is in cache. Every output value is computed by the same kernels on the same
/// operands in the same order as the unfused path, so the results are bit-identical to it.
///
/// Returns nil (and computes nothing) where banding does not pay: the ranges would be too short for their halo
/// (a batch of one small map, e.g. 7×7), or the shapes do not chain (a stride that does not divide the map, a strided
/// block without a downsample).
public func bottleneckFused(_ x: Tensor, conv1: FusedConvUnit, conv2: FusedConvUnit, conv3: FusedConvUnit,
                            downsample: FusedConvUnit?, stride: Int = 1,
                            bandBytes: Int = FusedBottleneckTuning.bandBytes,
                            minimumBandPixels: Int = FusedBottleneckTuning.minimumBandPixels) -> Tensor? {
    guard FusedBottleneckTuning.enabled, x.rank == 4, stride >= 1, x.count > 0 else { return nil }
    let (n, h, w, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let s1 = conv1.weightShape, s2 = conv2.weightShape, s3 = conv3.weightShape
    let width = s1[0], cout = s3[0]
    // The chain: 1×1 (cin → width), k×k same-size (width → width), pool, 1×1 (width → cout); identity, or pool and
    // 1×1 (cin → cout).
    guard s1 == [width, 1, 1, cin], s2.count == 4, s2[0] == width, s2[3] == width, s2[1] == s2[2], s2[1] % 2 == 1,
          conv2.padding == s2[1] / 2, s3 == [cout, 1, 1, width], conv1.padding == 0, conv3.padding == 0,
          downsample.map({ $0.weightShape == [cout, 1, 1, cin] && $0.padding == 0 }) ?? (cin == cout && stride == 1),
          conv1.packed.k == cin, conv2.packed.k == s2[1] * s2[2] * width, conv3.packed.k == width,
          h % stride == 0, w % stride == 0,
          [conv1, conv2, conv3].allSatisfy({ $0.stride == 1 }), downsample?.stride ?? 1 == 1
    else { return nil }
    let halo = s2[1] / 2
    let oh = h / stride, ow = w / stride
    guard let parts = bandParts(images: n, rows: oh, fits: { stride * (oh / $0) >= 4 * halo + 4 }) else { return nil }

    let y = Tensor(uninitialized: [n, oh, ow, cout])
    // A 1×1 convolution over `rows` rows of `columns` pixels (counted from the pointer it is given).
    func pointwise(_ rows: Int, _ columns: Int, _ cin: Int, _ cout: Int) -> ConvGeometry {
        ConvGeometry(input: [1, rows, columns, cin], weight: [cout, 1, 1, cin], stride: 1, padding: 0)
    }
    let xp = x.pointer, yp = y.pointer
    withExtendedLifetime((x, conv1, conv2, conv3, downsample)) {
        parallelTasks(n * parts) { item in
            let image = item / parts, part = item % parts
            let r0 = oh * part / parts, r1 = oh * (part + 1) / parts  // output rows
            if r0 >= r1 { return }
            // u1's rows for this range: [a0, a1) (with the halo); u2 runs on them as on an image of a1 − a0 rows.
            let a0 = max(0, stride * r0 - halo), a1 = min(h, stride * r1 + halo)
            // Bands: the band's input rows plus output rows fill about `bandBytes`.
            let bands = Bands(r0..<r1, bytesPerRow: (stride * w * cin + ow * cout) * 4, pixelsPerRow: ow,
                              bandBytes: bandBytes, minimumPixels: minimumBandPixels)
            let rows = bands.tallest
            let mid = ScratchMap(count: (a1 - a0) * w * width, bf16: conv1.feedsBF16(conv2))
            let unit2 = ConvGeometry(input: [1, a1 - a0, w, width], weight: s2, stride: 1, padding: conv2.padding)
            let band = ScratchMap(count: stride * rows * w * width, bf16: stride == 1 && conv2.feedsBF16(conv3))
            let pooled = stride > 1 ? Storage(uninitializedCount: rows * ow * width) : nil
            let pooledInput = stride > 1 && downsample != nil ? Storage(uninitializedCount: rows * ow * cin) : nil
            let shortcut = downsample == nil ? nil : Storage(uninitializedCount: rows * ow * cout)
            let pixel0 = image * h * w  // first input pixel of this image in the batch
            var done = a0               // u1 rows computed so far
            for index in 0..<bands.count {
                let (b0, b1) = (bands[index].lowerBound, bands[index].upperBound)
                let i0 = stride * b0, i1 = stride * b1  // the band's input rows
                // u1 for the rows this band's u2 reads that are not there yet.
                let need = min(a1, i1 + halo)
                if need > done {
                    conv1.run(pointwise(need - done, w, cin, width), x: .fp32(xp + (pixel0 + done * w) * cin),
                              pixels: 0..<((need - done) * w), out: mid.at((done - a0) * w * width))
                    done = need
                }
                // u2 for the band's input rows (rows i0 − a0 ..< i1 − a0 of the range's map), then the pool.
                conv2.run(unit2, x: mid.at(0), pixels: ((i0 - a0) * w)..<((i1 - a0) * w), out: band.at(0))
                let count = (b1 - b0) * ow
                let inner = pooled.map { BlockData.fp32($0.pointer) } ?? band.at(0)
                if let pooled {
                    poolRows(band.storage.pointer, rows: b1 - b0, width: w, channels: width, kernel: stride,
                             into: pooled.pointer)
                }
                // The identity (or the projection of its pool), then u3 with the residual and ReLU.
                let first = image * oh * ow + b0 * ow  // first output pixel of the band
                var residual = xp + first * cin
                if let downsample, let shortcut {
                    var source = xp + (pixel0 + i0 * w) * cin
                    if let pooledInput {
                        poolRows(source, rows: b1 - b0, width: w, channels: cin, kernel: stride, into: pooledInput.pointer)
                        source = pooledInput.pointer
                    }
                    downsample.run(pointwise(b1 - b0, ow, cin, cout), x: .fp32(source), pixels: 0..<count,
                                   out: .fp32(shortcut.pointer))
                    residual = shortcut.pointer
                }
                conv3.run(pointwise(b1 - b0, ow, width, cout), x: inner, pixels: 0..<count, out: .fp32(yp + first * cout),
                          residual: residual)
            }
            withExtendedLifetime((mid, band, pooled, pooledInput, shortcut)) {}
        }
    }
    return y
}

/// How many equal ranges of rows to cut each of `images` images of `rows` output rows into, one worker per range: 1
/// (whole images) or more, their total a multiple of the workers (so every worker gets the same work), at least
/// 2 × workers where the parts still `fits` (tall enough for their halo), else at least the workers. Nil where no
/// count qualifies (the caller then runs unbanded).
func bandParts(images n: Int, rows: Int, fits: (Int) -> Bool) -> Int? {
    let workers = Threading.workers
    if workers <= 1 { return 1 }
    func ok(_ p: Int) -> Bool { p == 1 || (p <= rows && fits(p)) }
    for minimum in [2 * workers, workers] {
        var p = max(1, (minimum + n - 1) / n)
        while ok(p) && (n * p) % workers != 0 { p += 1 }
        if ok(p) { return p }
    }
    return nil
}

/// A chain of convolutions, each with its folded batch norm (and ReLU), then a `pool × pool` average pool, band by
/// band: CLIP's ResNet stem (3×3 stride 2, 3×3, 3×3, pool 2). As in
/// ``bottleneckFused(_:conv1:conv2:conv3:downsample:stride:bandBytes:minimumBandPixels:)``, each worker takes a range of output rows
/// and walks it in bands; every unit computes each of its rows once per range (plus the halo rows next to the range)
/// just before the next unit reads them, so the intermediate maps stay in cache. Bit-identical to running the units
/// one after the other over the whole batch. The first unit may be strided; the others must be stride-1 "same"
/// convolutions. Nil (nothing computed) where the shapes do not chain or banding does not pay.
public func convChainFused(_ x: Tensor, units: [FusedConvUnit], pool: Int,
                           bandBytes: Int = FusedBottleneckTuning.bandBytes,
                           minimumBandPixels: Int = FusedBottleneckTuning.minimumBandPixels) -> Tensor? {
    guard FusedBottleneckTuning.enabled, x.rank == 4, !units.isEmpty, pool >= 1, x.count > 0 else { return nil }
    let n = x.shape[0]
    // Each unit's geometry over one whole image.
    var geometries: [ConvGeometry] = []
    var shape = [1, x.shape[1], x.shape[2], x.shape[3]]
    for (i, u) in units.enumerated() {
        let ws = u.weightShape
        guard ws.count == 4, ws[3] == shape[3], u.packed.n == ws[0], u.packed.k == ws[1] * ws[2] * ws[3],
              i == 0 || (u.stride == 1 && ws[1] == ws[2] && 2 * u.padding == ws[1] - 1) else { return nil }
        let g = ConvGeometry(input: shape, weight: ws, stride: u.stride, padding: u.padding)
        guard g.outH >= 1, g.outW >= 1 else { return nil }
        geometries.append(g)
        shape = [1, g.outH, g.outW, ws[0]]
    }
    let last = units.count - 1
    let (lh, lw, cout) = (shape[1], shape[2], shape[3])
    let oh = lh / pool, ow = lw / pool
    guard oh >= 1, ow >= 1 else { return nil }
    // The input rows of geometry g that its output rows `r` read (clipped to the map).
    func reads(_ g: ConvGeometry, _ r: Range<Int>) -> Range<Int> {
        let lo = max(0, r.lowerBound * g.stride - g.padding)
        return lo..<max(lo, min(g.h, (r.upperBound - 1) * g.stride - g.padding + g.kh))
    }
    let halo = geometries.dropFirst().reduce(0) { $0 + $1.kh / 2 }
    guard let parts = bandParts(images: n, rows: oh, fits: { pool * (oh / $0) >= 4 * halo + 4 }) else { return nil }
    let rowBytes = pool * 4 * (geometries.reduce(0) { $0 + $1.outW * $1.cout } + geometries[0].stride * x.shape[2] * x.shape[3])
    let y = Tensor(uninitialized: [n, oh, ow, cout])
    let xp = x.pointer, yp = y.pointer
    let imageFloats = x.shape[1] * x.shape[2] * x.shape[3]
    withExtendedLifetime((x, units)) {
        parallelTasks(n * parts) { item in
            let image = item / parts, part = item % parts
            let r0 = oh * part / parts, r1 = oh * (part + 1) / parts
            if r0 >= r1 { return }
            // The rows of each unit's output this range needs: [pool·r0, pool·r1) of the last, and what that reads.
            var needed = [Range<Int>](repeating: 0..<0, count: units.count)
            needed[last] = (pool * r0)..<(pool * r1)
            for i in stride(from: last - 1, through: 0, by: -1) { needed[i] = reads(geometries[i + 1], needed[i + 1]) }
            let buffers = (0..<last).map {
                ScratchMap(count: needed[$0].count * geometries[$0].outW * geometries[$0].cout,
                           bf16: units[$0].feedsBF16(units[$0 + 1]))
            }
            let bands = Bands(r0..<r1, bytesPerRow: rowBytes, pixelsPerRow: ow, bandBytes: bandBytes,
                              minimumPixels: minimumBandPixels)
            let band = pool > 1 ? Storage(uninitializedCount: pool * bands.tallest * lw * cout) : nil
            // Unit i > 0 reads buffer i − 1 as an image of its rows.
            let local = (0...last).map { i in
                i == 0 ? geometries[0]
                    : ConvGeometry(input: [1, needed[i - 1].count, geometries[i].w, geometries[i].cin],
                                   weight: units[i].weightShape, stride: 1, padding: units[i].padding)
            }
            var done = needed.map(\.lowerBound)
            for index in 0..<bands.count {
                let (b0, b1) = (bands[index].lowerBound, bands[index].upperBound)
                var upTo = [Int](repeating: 0, count: units.count)
                upTo[last] = pool * b1
                for i in stride(from: last - 1, through: 0, by: -1) {
                    upTo[i] = min(needed[i].upperBound, reads(geometries[i + 1], done[i + 1]..<upTo[i + 1]).upperBound)
                }
                for i in 0...last where upTo[i] > done[i] {
                    let rows = done[i]..<upTo[i]
                    let g = local[i], width = geometries[i].outW * geometries[i].cout
                    let source = i == 0 ? .fp32(xp + image * imageFloats) : buffers[i - 1].at(0)
                    let origin = i == 0 ? 0 : needed[i - 1].lowerBound  // global row of the source's first row
                    let out: BlockData
                    if i < last { out = buffers[i].at((rows.lowerBound - needed[i].lowerBound) * width) }
                    else if let band { out = .fp32(band.pointer) }
                    else { out = .fp32(yp + (image * oh * ow + b0 * ow) * cout) }
                    units[i].run(g, x: source, pixels: ((rows.lowerBound - origin) * g.outW)..<((rows.upperBound - origin) * g.outW),
                                 out: out)
                    done[i] = upTo[i]
                }
                if let band {
                    poolRows(band.pointer, rows: b1 - b0, width: lw, channels: cout, kernel: pool,
                             into: yp + (image * oh * ow + b0 * ow) * cout)
                }
            }
            withExtendedLifetime((buffers, band)) {}
        }
    }
    return y
}

/// The `kernel × kernel` average pool of `rows · kernel` rows of `width` pixels at `src` into `rows` rows of
/// `width / kernel` pixels at `dst` (the kernel of ``avgPool2d(_:kernel:)``, so the same values).
private func poolRows(_ src: UnsafeMutablePointer<Float>, rows: Int, width: Int, channels: Int, kernel: Int,
                      into dst: UnsafeMutablePointer<Float>) {
    ipiqa_avgpool2d(src, Int32(rows * kernel), Int32(width), Int32(channels), Int32(kernel), 0, rows, Int32(rows),
                    Int32(width / kernel), dst)
}
