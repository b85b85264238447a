import Foundation
import TensorTestSupport
import Testing
@testable import Tensor

@Suite("performance kernels")
struct PerformanceKernelTests {
    /// (n, h, w, cin, cout, kh, kw, stride, padding): ≥ 16 input channels, so the packed fp32 path reads the input
    /// directly (no im2col): strided, unpadded, 5×5, 1×3, more than 256 input channels (two channel blocks per tap),
    /// few pixels with column blocks, odd channel counts.
    static let directCases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
        (2, 9, 9, 16, 40, 3, 3, 1, 1), (1, 11, 11, 40, 70, 3, 3, 2, 1), (1, 7, 7, 32, 200, 3, 3, 1, 1),
        (2, 10, 8, 24, 33, 5, 5, 1, 2), (1, 12, 12, 300, 64, 3, 3, 1, 1), (1, 9, 9, 16, 32, 3, 3, 1, 0),
        (3, 8, 13, 17, 20, 1, 3, 1, 1), (1, 30, 30, 32, 64, 3, 3, 1, 1),
    ]

    @Test("direct (im2col-free) fp32 convolution with scale, shift, residual and ReLU equals im2col + OpenBLAS (rel. L2 ≤ 1e-5)",
          arguments: directCases)
    func directConvolution(c: (Int, Int, Int, Int, Int, Int, Int, Int, Int)) throws {
        let (n, h, w, cin, cout, kh, kw, stride, padding) = c
        guard let _ = PackedWeights(weight: Tensor(zeros: [1, 1]), precision: .fp32) else { return }  // no AVX-512F
        var rng = SeededGenerator(seed: UInt64(cin * 131 + cout))
        let x = Tensor.randn([n, h, w, cin], using: &rng)
        let weight = Tensor.randn([cout, kh, kw, cin], std: 0.2, using: &rng)
        let outH = (h + 2 * padding - kh) / stride + 1, outW = (w + 2 * padding - kw) / stride + 1
        let scale = Tensor.randn([cout], mean: 1, std: 0.3, using: &rng), shift = Tensor.randn([cout], using: &rng)
        let residual = Tensor.randn([n, outH, outW, cout], using: &rng)
        // Reference: im2col tiles + OpenBLAS (the small tile size forces that path), then the epilogue by hand.
        let plain = withoutGradients {
            conv2d(Var(x), Var(weight), bias: nil, stride: stride, padding: padding, tileElements: 4096).value
        }
        let reference = Tensor(uninitialized: plain.shape)
        for i in 0..<plain.count {
            let ch = i % cout
            reference.pointer[i] = max(plain.pointer[i] * scale.pointer[ch] + shift.pointer[ch] + residual.pointer[i], 0)
        }
        let packed = try #require(PackedWeights(weight: weight, precision: .fp32))
        let direct = conv2dFused(x, weight: weight, packed: packed, stride: stride, padding: padding,
                                 epilogue: ConvEpilogue(scale: scale, shift: shift, residual: residual, relu: true))
        #expect(relativeL2(direct, reference) <= 1e-5)
        // Without an epilogue, into a given output.
        let bare = conv2dFused(x, weightShape: weight.shape, weight: nil, packed: packed, stride: stride, padding: padding,
                               epilogue: ConvEpilogue(), into: nil)
        #expect(relativeL2(bare, plain) <= 1e-5)
    }

    /// (n, size, cin, cout, kernel, stride, padding): training convolutions whose gradients take the engine's own
    /// kernels (≥ 16 input channels, ≥ 64 pixels): 3×3, 1×1, strided, unpadded, more than 256 input channels.
    static let gradientCases: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (2, 9, 16, 40, 3, 1, 1), (1, 12, 40, 70, 3, 2, 1), (2, 8, 24, 33, 1, 1, 0), (1, 10, 300, 64, 3, 1, 1),
        (2, 9, 17, 20, 3, 1, 0), (1, 16, 64, 96, 1, 1, 0),
        // dW kernel blocking: 800 pixels (three full 256-pixel blocks and a partial one) split over input channels;
        // 1,000 output channels (more than one 480-channel block per worker) with a 32-channel input.
        (2, 20, 48, 24, 3, 1, 1), (1, 9, 32, 1000, 1, 1, 0),
    ]

    @Test("training conv2d: dW (direct kernel) and dX (packed 1×1 / flipped transposed conv) equal the im2col + OpenBLAS path (rel. L2 ≤ 1e-5)",
          arguments: gradientCases)
    func trainingGradientsEqualReference(c: (Int, Int, Int, Int, Int, Int, Int)) {
        let (n, size, cin, cout, k, stride, padding) = c
        var rng = SeededGenerator(seed: UInt64(cin * 7 + cout * 3 + k))
        let x = Tensor.randn([n, size, size, cin], using: &rng)
        let w = Tensor.randn([cout, k, k, cin], std: 0.2, using: &rng)
        let outSize = (size + 2 * padding - k) / stride + 1
        let seed = Tensor.randn([n, outSize, outSize, cout], using: &rng)
        func gradients(tileElements: Int) -> (Tensor, Tensor, Tensor) {
            let xv = Var(x, requiresGrad: true), wv = Var(w, requiresGrad: true)
            let y = conv2d(xv, wv, bias: nil, stride: stride, padding: padding, tileElements: tileElements)
            y.backward(seed: seed)
            return (y.value, xv.grad!, wv.grad!)
        }
        let (y, dx, dw) = gradients(tileElements: ConvTuning.tileElements)
        let (yRef, dxRef, dwRef) = gradients(tileElements: 4096)
        #expect(relativeL2(y, yRef) <= 1e-5)
        #expect(relativeL2(dx, dxRef) <= 1e-5)
        #expect(relativeL2(dw, dwRef) <= 1e-5)
    }

    @Test("packed GEMM (fp32 and bf16): a row's result does not depend on how the rows are cut into register tiles (bit-identical)",
          arguments: [13, 49, 50, 97])
    func rowTilingIsExact(m: Int) throws {
        var rng = SeededGenerator(seed: UInt64(m))
        let w = Tensor.randn([70, 300], using: &rng), a = Tensor.randn([m, 300], using: &rng)
        for precision in [Precision.fp32, .bf16] {
            guard let packed = PackedWeights(weight: w, precision: precision) else { continue }  // CPU without the kernel
            let whole = packed.matmul(a)
            for r in [0, m / 2, m - 1] {
                let row = Tensor(shape: [1, 300], values: Array(UnsafeBufferPointer(start: a.pointer + r * 300, count: 300)))
                let alone = packed.matmul(row)
                #expect(Array(UnsafeBufferPointer(start: alone.pointer, count: 70))
                        == Array(UnsafeBufferPointer(start: whole.pointer + r * 70, count: 70)), "\(precision) row \(r) of \(m)")
            }
        }
    }

    @Test("bf16 packed GEMM vs fp32: |error| ≤ (2⁻⁷ + 2⁻¹⁶ + k·2⁻²⁴) · Σ|a·b| per element (bf16 inputs, fp32 accumulation)",
          arguments: [(7, 5, 3), (37, 45, 29), (64, 100, 513), (5, 64, 1200)])
    func bf16GEMM(shape: (Int, Int, Int)) throws {
        let (m, n, k) = shape
        let seed = UInt64(m * n + k)
        guard let worst = packedGEMMWorstError(.bf16, m: m, n: n, k: k, seed: seed) else {
            print("skipped: the bf16 GEMM needs AVX-512 BF16, which this CPU lacks")
            return
        }
        #expect(worst <= 0x1p-7 + 0x1p-16 + Double(k) * 0x1p-24, "bf16 worst relative error \(worst)")
        // The fp32 kernel on the same inputs equals OpenBLAS.
        var rng = SeededGenerator(seed: seed)
        let a = Tensor.randn([m, k], using: &rng), w = Tensor.randn([n, k], using: &rng)
        let f32 = try #require(PackedWeights(weight: w, precision: .fp32)).matmul(a)
        let reference = Tensor(uninitialized: [m, n])
        sgemm(transB: true, m: m, n: n, k: k, a: a.pointer, b: w.pointer, c: reference.pointer)
        #expect(relativeL2(f32, reference) <= 1e-6)
    }

    @Test("split sgemm (rows or columns over the workers) equals a single OpenBLAS call, all transposes (rel. L2 ≤ 1e-6)",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func splitGEMM(t: (Bool, Bool)) {
        var rng = SeededGenerator(seed: 4)
        for (m, n, k) in [(700, 96, 130), (40, 900, 150)] {
            let a = Tensor.randn([m * k], using: &rng), b = Tensor.randn([k * n], using: &rng)
            let split = Tensor(uninitialized: [m, n]), serial = Tensor(uninitialized: [m, n])
            sgemm(transA: t.0, transB: t.1, m: m, n: n, k: k, a: a.pointer, b: b.pointer, c: split.pointer)
            sgemmSerial(transA: t.0, transB: t.1, m: m, n: n, k: k, a: a.pointer, lda: t.0 ? m : k, b: b.pointer,
                        ldb: t.1 ? k : n, c: serial.pointer, ldc: n)
            #expect(relativeL2(split, serial) <= 1e-6)
        }
    }

    @Test("addReLU equals relu(add) and its gradients match finite differences (tol 1e-2)")
    func addReLUGradient() {
        var rng = SeededGenerator(seed: 8)
        let a = Var(Tensor.randn([3, 4, 5], using: &rng), requiresGrad: true)
        let b = Var(Tensor.randn([3, 4, 5], using: &rng), requiresGrad: true)
        let fused = addReLU(a, b).value, composed = withoutGradients { relu(add(a, b)) }.value
        #expect(maxAbsDiff(fused, composed) == 0)
        let report = gradientCheck(inputs: [a, b], step: 1e-3) { addReLU(a, b) }
        #expect(report.maxRelativeError < 1e-2, "\(report)")
    }

    @Test("storage pool: reused buffers never alias live tensors; values survive other allocations and releases")
    func storagePoolReuse() {
        let count = 100_000  // 400 kB: above the pool's minimum
        var live: [Tensor] = []
        for i in 0..<8 { live.append(Tensor(shape: [count], repeating: Float(i))) }
        live.removeSubrange(2..<6)                      // four buffers go back to the pool
        for i in 0..<6 { live.append(Tensor(shape: [count], repeating: Float(100 + i))) }  // four of them reused
        let expected: [Float] = [0, 1, 6, 7, 100, 101, 102, 103, 104, 105]
        for (t, v) in zip(live, expected) { #expect(t.pointer[0] == v && t.pointer[count - 1] == v) }
        let addresses = Set(live.map { UInt(bitPattern: $0.pointer) })
        #expect(addresses.count == live.count)
        #expect(Tensor(zeros: [count]).array.allSatisfy { $0 == 0 })
        #expect(StoragePool.sizeClass(1000) >= 1000 && StoragePool.sizeClass(1 << 20) == 1 << 20)
        #expect(StoragePool.sizeClass((1 << 20) + 1) <= (1 << 20) + (1 << 17))
    }

    @Test("BLAS core override: relaunch only for OpenBLAS's generic Prescott kernels, unset variable, no opt-out; SkylakeX ≻ Haswell")
    func blasOverrideDecision() {
        let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"]
        #expect(BLASCoreOverride.decide(coreName: "Prescott", environment: [:], cpuFlags: avx512) == "SkylakeX")
        #expect(BLASCoreOverride.decide(coreName: "Prescott", environment: [:], cpuFlags: ["avx2", "fma"]) == "Haswell")
        #expect(BLASCoreOverride.decide(coreName: "Prescott", environment: [:], cpuFlags: ["sse3"]) == nil)
        #expect(BLASCoreOverride.decide(coreName: "SkylakeX", environment: [:], cpuFlags: avx512) == nil)
        #expect(BLASCoreOverride.decide(coreName: "Prescott", environment: ["OPENBLAS_CORETYPE": "Haswell"], cpuFlags: avx512) == nil)
        #expect(BLASCoreOverride.decide(coreName: "Prescott", environment: ["IPIQA_NO_BLAS_OVERRIDE": "1"], cpuFlags: avx512) == nil)
        // After the relaunch: keep on a passing self-check, revert on a failing one.
        let relaunched = ["OPENBLAS_CORETYPE": "SkylakeX", "IPIQA_BLAS_RELAUNCHED": "SkylakeX"]
        #expect(BLASCoreOverride.action(coreName: "SkylakeX", environment: relaunched, cpuFlags: avx512, selfCheck: { true }) == .keep)
        #expect(BLASCoreOverride.action(coreName: "SkylakeX", environment: relaunched, cpuFlags: avx512, selfCheck: { false })
                == .revert(coreType: "SkylakeX"))
        #expect(BLASCoreOverride.action(coreName: "Prescott", environment: [:], cpuFlags: avx512, selfCheck: { true })
                == .relaunch(coreType: "SkylakeX"))
        #expect(BLASCoreOverride.selfCheckPasses())
    }
}
