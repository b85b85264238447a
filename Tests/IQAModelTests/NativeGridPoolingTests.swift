import Foundation
import IQAModel
import IQATestSupport
import Tensor
import Testing

@Suite("NativeGridPooling: the feature map at CLIP's native grid for the similarity features")
struct NativeGridPoolingTests {
    /// Scripts/fixtures_pooling.py: torch.nn.functional.adaptive_avg_pool2d on random NHWC maps.
    static let cases = [(16, 7), (4, 2), (3, 7), (5, 5), (9, 4)]

    @Test("equals PyTorch's adaptive_avg_pool2d (shrinking, repeating, identity, uneven windows; rel. L2 ≤ 1e-6)",
          arguments: cases)
    func matchesPyTorch(n: Int, m: Int) throws {
        let fixture = try NNFixture("adaptive_avg_pool.json", in: fixturesFolder(of: .module))
        let x = try fixture.tensor("x_\(n)_\(m)"), expected = try fixture.tensor("y_\(n)_\(m)")
        let y = withoutGradients { NativeGridPooling(from: n, to: m)(Var(x)) }.value
        #expect(y.shape == expected.shape)
        #expect(relativeL2(y, expected) <= 1e-6)
    }

    @Test("gradient check w.r.t. the input map (central differences, ≤ 1e-2)", arguments: [(16, 7), (3, 7)])
    func gradient(n: Int, m: Int) throws {
        let fixture = try NNFixture("adaptive_avg_pool.json", in: fixturesFolder(of: .module))
        let x = Var(try fixture.tensor("x_\(n)_\(m)"), requiresGrad: true)
        let pool = NativeGridPooling(from: n, to: m)
        let report = gradientCheck(inputs: [x]) { pool(x) }
        #expect(report.maxRelativeError <= gradTolerance, "\(report)")
    }

    @Test("every output cell's weights sum to 1 (an average)")
    func rowsSumToOne() {
        for (n, m) in Self.cases {
            let p = NativeGridPooling(from: n, to: m).matrix
            for r in 0..<(m * m) {
                let sum = (0..<(n * n)).reduce(0.0) { $0 + Double(p.pointer[r * n * n + $1]) }
                #expect(abs(sum - 1) <= 1e-6)
            }
        }
    }
}
