import Foundation
import TensorTestSupport
import Testing
@testable import Tensor

struct PoolFixtureCase: Decodable {
    let name: String
    let kernel: Int
    let xShape, yShape: [Int]
    let x, y, g, dx: [Double]
}

@Suite("pooling")
struct PoolingTests {
    @Test("avgPool2d (odd sizes, k = 2, 3) and globalAvgPool: output and dx match PyTorch float64 (rel. L2 ≤ 1e-5)")
    func matchesPyTorch() throws {
        for c in try cnnFixtureCases("cnn_pool.json", as: PoolFixtureCase.self) {
            let x = Var(cnnTensor(c.xShape, c.x), requiresGrad: true)
            let y = c.kernel > 0 ? avgPool2d(x, kernel: c.kernel) : globalAvgPool(x)
            #expect(y.shape == c.yShape, "\(c.name)")
            y.backward(seed: cnnTensor(c.yShape, c.g))
            #expect(cnnRelativeL2(y.value, c.y) <= 1e-5, "\(c.name) y")
            #expect(cnnRelativeL2(x.grad, c.dx) <= 1e-5, "\(c.name) dx")
        }
    }

    @Test("avgPool2d forward (vectorised kernel) = the window sum in row-major order times 1/k², bit for bit (channel tails, odd sizes, batch)",
          arguments: [([2, 7, 9, 37], 2), ([1, 9, 8, 16], 3), ([3, 4, 4, 5], 2)] as [([Int], Int)])
    func avgPoolExact(shape: [Int], kernel k: Int) {
        var rng = SeededGenerator(seed: 33)
        let x = Tensor.randn(shape, using: &rng)
        let y = avgPool2d(Var(x), kernel: k).value
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let oh = h / k, ow = w / k
        #expect(y.shape == [n, oh, ow, c])
        var mismatches = 0
        for b in 0..<n {
            for i in 0..<oh {
                for j in 0..<ow {
                    for ch in 0..<c {
                        var acc: Float = 0
                        for a in 0..<k { for d in 0..<k { acc += x.pointer[((b * h + i * k + a) * w + j * k + d) * c + ch] } }
                        if y.pointer[((b * oh + i) * ow + j) * c + ch] != acc * (1 / Float(k * k)) { mismatches += 1 }
                    }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test("avgPool2d gradients match finite differences (even and odd sizes), tol 1e-2",
          arguments: [([1, 4, 6, 3], 2), ([2, 7, 5, 2], 2), ([1, 7, 8, 2], 3)] as [([Int], Int)])
    func avgPoolGradientCheck(shape: [Int], kernel: Int) {
        var rng = SeededGenerator(seed: 31)
        let x = Var(Tensor.randn(shape, using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [x], maxElements: 400) { avgPool2d(x, kernel: kernel) }
        #expect(report.maxRelativeError < 1e-2, "\(shape) k \(kernel): \(report)")
    }

    @Test("globalAvgPool gradients match finite differences, tol 1e-2 (C = 70 spans two channel blocks)")
    func globalPoolGradientCheck() {
        var rng = SeededGenerator(seed: 32)
        let x = Var(Tensor.randn([2, 3, 5, 70], using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [x], maxElements: 300) { globalAvgPool(x) }
        #expect(report.maxRelativeError < 1e-2, "\(report)")
    }
}
