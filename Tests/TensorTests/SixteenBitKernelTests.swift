import CKernels
import Foundation
import TensorTestSupport
import Testing
@testable import Tensor

/// The 16-bit inference kernels of this CPU: split bf16 (bf16x3) accuracy and the peak probes. Tests of a unit the CPU
/// lacks print why and stop.
@Suite("16-bit inference kernels")
struct SixteenBitKernelTests {
    /// Largest |c − exact| / Σ|a·b| over the elements of C = A · Wᵀ in `precision` (``packedGEMMWorstError``).
    static func worstRelativeError(_ precision: Precision, m: Int, n: Int, k: Int) -> Double? {
        packedGEMMWorstError(precision, m: m, n: n, k: k, seed: UInt64(m * 31 + n * 7 + k))
    }

    @Test("bf16x3 (split hi + lo operands) GEMM: |error| ≤ 2⁻¹⁴ · Σ|a·b| per element (bf16 alone: ≤ 2⁻⁷), odd k, tails",
          arguments: [(7, 5, 3), (37, 45, 29), (13, 64, 301), (25, 33, 700)])
    func splitGEMM(shape: (Int, Int, Int)) throws {
        let (m, n, k) = shape
        guard let split = Self.worstRelativeError(.bf16x3, m: m, n: n, k: k),
              let plain = Self.worstRelativeError(.bf16, m: m, n: n, k: k) else {
            print("skipped: bf16x3 GEMM needs AVX-512 BF16, which this CPU lacks")
            return
        }
        #expect(split <= 1.0 / 16384, "bf16x3 worst relative error \(split)")
        #expect(split * 16 <= plain, "the split must be far more accurate than plain bf16 (\(split) vs \(plain))")
    }

    @Test("bf16x3 convolution (im2col + split GEMM with the fused epilogue) matches fp32 (rel. L2 ≤ 1e-4)")
    func splitConvolution() throws {
        var rng = SeededGenerator(seed: 5)
        let x = Tensor.randn([2, 9, 9, 24], using: &rng), w = Tensor.randn([40, 3, 3, 24], using: &rng)
        let scale = Tensor.randn([40], using: &rng), shift = Tensor.randn([40], using: &rng)
        let e = ConvEpilogue(scale: scale, shift: shift, relu: true)
        guard let split = PackedWeights(weight: w, precision: .bf16x3), let f32 = PackedWeights(weight: w, precision: .fp32) else {
            print("skipped: bf16x3 convolution needs AVX-512F and AVX-512 BF16, which this CPU lacks")
            return
        }
        let y3 = conv2dFused(x, weight: w, packed: split, stride: 1, padding: 1, epilogue: e)
        let y32 = conv2dFused(x, weight: w, packed: f32, stride: 1, padding: 1, epilogue: e)
        #expect(relativeL2(y3, y32) <= 1e-4)
    }

    /// x rounded to bf16 (round to nearest even), back in fp32.
    static func roundedToBF16(_ t: Tensor) -> Tensor {
        let out = t.copy()
        for i in 0..<out.count {
            var u = out.pointer[i].bitPattern
            u &+= 0x7fff &+ ((u >> 16) & 1)
            out.pointer[i] = Float(bitPattern: u & 0xffff_0000)
        }
        return out
    }

    @Test("bf16 convolution (patches gathered straight into bf16, or shared im2col for column blocks) = fp32 convolution of the bf16-rounded input and weight (rel. L2 ≤ 1e-5)",
          arguments: [(2, 9, 9, 3, 40, 3, 2, 1), (1, 11, 11, 24, 64, 3, 1, 1), (1, 7, 7, 32, 256, 3, 1, 1), (2, 8, 8, 17, 33, 5, 1, 2)])
    func bf16Convolution(shape: (Int, Int, Int, Int, Int, Int, Int, Int)) throws {
        let (n, h, w, cin, cout, kernel, stride, padding) = shape
        var rng = SeededGenerator(seed: UInt64(h * cin + cout))
        let x = Tensor.randn([n, h, w, cin], using: &rng), weight = Tensor.randn([cout, kernel, kernel, cin], using: &rng)
        let scale = Tensor.randn([cout], using: &rng), shift = Tensor.randn([cout], using: &rng)
        let e = ConvEpilogue(scale: scale, shift: shift, relu: true)
        guard let bf16 = PackedWeights(weight: weight, precision: .bf16) else {
            print("skipped: bf16 convolution needs AVX-512 BF16, which this CPU lacks")
            return
        }
        let rx = Self.roundedToBF16(x), rw = Self.roundedToBF16(weight)
        let y16 = conv2dFused(x, weight: weight, packed: bf16, stride: stride, padding: padding, epilogue: e)
        let reference = conv2dFused(rx, weight: rw, packed: PackedWeights(weight: rw, precision: .fp32), stride: stride,
                                    padding: padding, epilogue: e)
        #expect(relativeL2(y16, reference) <= 1e-5)
    }

    @Test("bf16 activations: a bf16-output GEMM stores exactly the rounding of the fp32 result (one and several k-blocks, column tails), and im2col from bf16 maps equals im2col with rounding",
          arguments: [(13, 40, 100), (30, 64, 700), (7, 96, 1500)])
    func bf16Activations(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = SeededGenerator(seed: UInt64(m * n))
        guard ipiqa_has_avx512bf16() != 0, let packed = PackedWeights(weight: Tensor.randn([n, k], using: &rng), precision: .bf16)
        else { print("skipped: bf16 activations need AVX-512 BF16, which this CPU lacks"); return }
        // A conv geometry over one image of m pixels in a row: 1×1 for the GEMM, then 3×3 for the gather.
        let x = Tensor.randn([1, 1, m, k], using: &rng)
        let scale = Tensor.randn([n], using: &rng), shift = Tensor.randn([n], using: &rng)
        let g = ConvGeometry(input: x.shape, weight: [n, 1, 1, k], stride: 1, padding: 0)
        let f32 = Tensor(zeros: [m, n])
        packed.convolveBlock(g, input: .fp32(x.pointer), pixels: 0..<m, columns: 0..<n, output: .fp32(f32.pointer), ldy: n,
                             scale: scale.pointer, shift: shift.pointer, residual: nil, ldr: n, relu: true)
        var out16 = [UInt16](repeating: 0xffff, count: m * n)
        out16.withUnsafeMutableBufferPointer {
            packed.convolveBlock(g, input: .fp32(x.pointer), pixels: 0..<m, columns: 0..<n, output: .bf16($0.baseAddress!),
                                 ldy: n, scale: scale.pointer, shift: shift.pointer, residual: nil, ldr: n, relu: true)
        }
        let rounded = Self.roundedToBF16(f32)
        let gemmMismatches = (0..<(m * n)).filter { UInt32(out16[$0]) != rounded.pointer[$0].bitPattern >> 16 }.count
        #expect(gemmMismatches == 0, "\(gemmMismatches) of \(m * n) bf16 outputs differ from the rounded fp32 result")
        // The rounded map read back as bf16 activations through a 3×3 gather gives the fp32-input result bit for bit.
        let map = Tensor(shape: [1, 1, m, n], values: (0..<(m * n)).map { Float(bitPattern: UInt32(out16[$0]) << 16) })
        let w3 = Tensor.randn([8, 3, 3, n], using: &rng)
        guard let p3 = PackedWeights(weight: w3, precision: .bf16) else { return }
        let g3 = ConvGeometry(input: map.shape, weight: w3.shape, stride: 1, padding: 1)
        let viaF32 = Tensor(zeros: [m, 8]), via16 = Tensor(zeros: [m, 8])
        p3.convolveBlock(g3, input: .fp32(map.pointer), pixels: 0..<m, columns: 0..<8, output: .fp32(viaF32.pointer),
                         ldy: 8, scale: nil, shift: nil, residual: nil, ldr: 8, relu: false)
        out16.withUnsafeMutableBufferPointer {
            p3.convolveBlock(g3, input: .bf16($0.baseAddress!), pixels: 0..<m, columns: 0..<8, output: .fp32(via16.pointer),
                             ldy: 8, scale: nil, shift: nil, residual: nil, ldr: 8, relu: false)
        }
        #expect(viaF32.array == via16.array)
    }

    @Test("bf16 im2col = bf16 rounding (nearest even) of the fp32 im2col, bit for bit: padding on every side, stride 2, odd k, 3 to 40 channels",
          arguments: [(2, 9, 10, 3, 3, 2, 1), (1, 7, 7, 40, 3, 1, 1), (1, 8, 6, 17, 5, 1, 2), (1, 5, 5, 33, 1, 1, 0)])
    func bf16Im2col(shape: (Int, Int, Int, Int, Int, Int, Int)) {
        let (n, h, w, cin, kernel, stride, padding) = shape
        var rng = SeededGenerator(seed: UInt64(h * w + cin))
        let x = Tensor.randn([n, h, w, cin], using: &rng)
        guard ipiqa_has_avx512bf16() != 0 else { print("skipped: bf16 im2col needs AVX-512 BF16, which this CPU lacks"); return }
        let g = ConvGeometry(input: x.shape, weight: [1, kernel, kernel, cin], stride: stride, padding: padding)
        let k = g.patch, row = Int(ipiqa_bf16_row(Int32(k))), p0 = 1, p1 = g.pixels
        let f32 = Tensor(zeros: [p1 - p0, k])
        g.im2col(x.pointer, into: f32.pointer, pixels: p0..<p1)
        let rounded = Self.roundedToBF16(f32)
        var b16 = [UInt16](repeating: 0xffff, count: (p1 - p0) * row)
        b16.withUnsafeMutableBufferPointer {
            ipiqa_im2col_bf16(x.pointer, Int32(h), Int32(w), Int32(cin), Int32(kernel), Int32(kernel), Int32(stride),
                              Int32(padding), Int32(g.outH), Int32(g.outW), p0, p1, $0.baseAddress!)
        }
        var mismatches = 0
        for r in 0..<(p1 - p0) {
            for c in 0..<row {
                let expected: UInt32 = c < k ? rounded.pointer[r * k + c].bitPattern >> 16 : 0
                if UInt32(b16[r * row + c]) != expected { mismatches += 1 }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \((p1 - p0) * row) values differ")
    }

    @Test("peak probes: each returns the flops of its loop (16 accumulators × lanes × 2 per round); missing units skip")
    func peakProbes() {
        if ipiqa_has_avx512f() != 0 { #expect(ipiqa_peak_fp32(1000) == 1000 * 16 * 16 * 2) } else { print("skipped: fp32 probe needs AVX-512F") }
        if ipiqa_has_avx512bf16() != 0 { #expect(ipiqa_peak_bf16(1000) == 1000 * 16 * 16 * 4) } else { print("skipped: bf16 probe needs AVX-512 BF16") }
        if ipiqa_has_avx512fp16() != 0 { #expect(ipiqa_peak_fp16(1000) == 1000 * 16 * 32 * 2) } else { print("skipped: fp16 probe needs AVX-512 FP16, which this CPU lacks") }
        if ipiqa_amx_status() == 1 { #expect(ipiqa_peak_amx_bf16(10) == 10 * 4 * 16 * 16 * 32 * 2) } else {
            #expect(ipiqa_peak_amx_bf16(10) == 0)
            print("skipped: AMX probe needs AMX-BF16 granted by the OS (status \(ipiqa_amx_status()))")
        }
    }
}
