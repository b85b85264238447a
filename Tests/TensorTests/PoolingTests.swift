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
