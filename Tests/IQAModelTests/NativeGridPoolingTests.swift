import Foundation
import IQAModel
import IQATestSupport
import Tensor
import Testing

@Suite("NativeGridPooling: adaptive average pooling to CLIP's native resolution for the similarity features")
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

    @Test("every output cell's 1-D weights sum to 1 (an average), and a constant map stays constant")
    func averages() {
        for (n, m) in Self.cases {
            let a = NativeGridPooling(from: n, to: m).weights
            #expect(a.shape == [m, n])
            for r in 0..<m {
                let sum = (0..<n).reduce(0.0) { $0 + Double(a.pointer[r * n + $1]) }
                #expect(abs(sum - 1) <= 1e-6)
            }
            let y = withoutGradients { NativeGridPooling(from: n, to: m)(Var(Tensor(shape: [2, n, n, 3], repeating: 0.75))) }.value
            #expect(y.shape == [2, m, m, 3] && y.array.allSatisfy { abs($0 - 0.75) <= 1e-6 })
        }
    }

    @Test("an uneven shrink like 512 → 224 (here 40 → 17) equals the double sum Σ A[i,p]·A[j,q]·x[p,q] (abs. 1e-5)")
    func imageSizes() {
        var rng = SeededGenerator(seed: 5)
        let n = 40, m = 17, c = 3
        let x = Tensor.randn([1, n, n, c], using: &rng)
        let y = withoutGradients { NativeGridPooling(from: n, to: m)(Var(x)) }.value
        let a = NativeGridPooling.averagingWeights(from: n, to: m)
        var worst: Double = 0
        for i in 0..<m { for j in 0..<m { for ch in 0..<c {
            var sum = 0.0
            for p in 0..<n where a[i][p] != 0 { for q in 0..<n where a[j][q] != 0 {
                sum += Double(a[i][p] * a[j][q]) * Double(x.pointer[(p * n + q) * c + ch])
            } }
            worst = max(worst, abs(sum - Double(y.pointer[(i * m + j) * c + ch])))
        } } }
        #expect(worst <= 1e-5)
    }
}
