import Foundation
import TensorTestSupport
import Testing
@testable import Tensor

struct InterpolateFixtureCase: Decodable {
    let name: String
    let height, width: Int
    let xShape, yShape: [Int]
    let x, y, g, dx: [Double]
}

@Suite("bicubic interpolation")
struct InterpolateTests {
    @Test("interpolateBicubic 7→16, 7→9, 5→3, 6×4→3×10: output and dx match PyTorch float64 bicubic, align_corners=False (rel. L2 ≤ 1e-5)")
    func matchesPyTorch() throws {
        for c in try cnnFixtureCases("cnn_interpolate.json", as: InterpolateFixtureCase.self) {
            let x = Var(cnnTensor(c.xShape, c.x), requiresGrad: true)
            let y = interpolateBicubic(x, height: c.height, width: c.width)
            #expect(y.shape == c.yShape, "\(c.name)")
            y.backward(seed: cnnTensor(c.yShape, c.g))
            #expect(cnnRelativeL2(y.value, c.y) <= 1e-5, "\(c.name) y")
            #expect(cnnRelativeL2(x.grad, c.dx) <= 1e-5, "\(c.name) dx")
        }
    }

    @Test("interpolateBicubic gradients match finite differences (upsample 7→16, downsample 7→5, C = 70 spans two blocks), tol 1e-2",
          arguments: [([1, 7, 7, 2], 16, 16), ([2, 7, 7, 3], 5, 4), ([1, 3, 3, 70], 4, 4)] as [([Int], Int, Int)])
    func gradientCheckSizes(shape: [Int], height: Int, width: Int) {
        var rng = SeededGenerator(seed: 41)
        let x = Var(Tensor.randn(shape, using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [x], maxElements: 200) { interpolateBicubic(x, height: height, width: width) }
        #expect(report.maxRelativeError < 1e-2, "\(shape) → \(height)×\(width): \(report)")
    }

    @Test("same-size bicubic interpolation is the identity (to 1e-6)")
    func identityAtSameSize() {
        var rng = SeededGenerator(seed: 42)
        let x = Tensor.randn([1, 5, 6, 3], using: &rng)
        let y = interpolateBicubic(Var(x), height: 5, width: 6).value
        let maxDiff = zip(x.array, y.array).map { abs($0 - $1) }.max() ?? 0
        #expect(maxDiff < 1e-6)
    }
}
