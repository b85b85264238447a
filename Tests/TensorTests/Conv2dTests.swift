import Foundation
import TensorTestSupport
import Testing
@testable import Tensor

// MARK: - Fixture support shared by the CNN kernel tests (Scripts/fixtures_cnn.py writes the files).

/// A fixture file of Scripts/fixtures_cnn.py: `{"generator": …, "torch": …, "cases": [...]}`.
struct CNNFixtureFile<Case: Decodable>: Decodable {
    let cases: [Case]
}

enum CNNFixtureError: Error, CustomStringConvertible {
    case missing(String)
    var description: String {
        switch self { case let .missing(name): "fixture \(name) not found in the TensorTests bundle" }
    }
}

/// The cases of `Tests/TensorTests/Fixtures/<name>`.
func cnnFixtureCases<Case: Decodable>(_ name: String, as _: Case.Type) throws -> [Case] {
    guard let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else { throw CNNFixtureError.missing(name) }
    let data = try Data(contentsOf: dir.appendingPathComponent(name))
    return try JSONDecoder().decode(CNNFixtureFile<Case>.self, from: data).cases
}

/// A float32 tensor from fixture values.
func cnnTensor(_ shape: [Int], _ values: [Double]) -> Tensor {
    Tensor(shape: shape, values: values.map { Float($0) })
}

/// ‖a − ref‖₂ / ‖ref‖₂ (infinity when `a` is missing or the sizes differ).
func cnnRelativeL2(_ a: Tensor?, _ ref: [Double]) -> Double {
    guard let a, a.count == ref.count else { return .infinity }
    var num = 0.0, den = 0.0
    for i in 0..<ref.count {
        let d = Double(a.pointer[i]) - ref[i]
        num += d * d; den += ref[i] * ref[i]
    }
    return (num / max(den, 1e-300)).squareRoot()
}

// MARK: - conv2d

struct ConvFixtureCase: Decodable {
    let name: String
    let stride, padding: Int
    let xShape, wShape, yShape: [Int]
    let x, w, y, g, dx, dw: [Double]
    let b, db: [Double]?
}

@Suite("conv2d")
struct Conv2dTests {
    @Test("conv2d output, dX, dW, db match PyTorch float64 (rel. L2 ≤ 1e-5), in one tile and in many small tiles")
    func matchesPyTorch() throws {
        for c in try cnnFixtureCases("cnn_conv2d.json", as: ConvFixtureCase.self) {
            for tileElements in [ConvTuning.tileElements, 40] {
                let x = Var(cnnTensor(c.xShape, c.x), requiresGrad: true)
                let w = Var(cnnTensor(c.wShape, c.w), requiresGrad: true)
                let b = c.b.map { Var(cnnTensor([c.wShape[0]], $0), requiresGrad: true) }
                let y = conv2d(x, w, bias: b, stride: c.stride, padding: c.padding, tileElements: tileElements)
                #expect(y.shape == c.yShape, "\(c.name)")
                y.backward(seed: cnnTensor(c.yShape, c.g))
                let tag = "\(c.name) tile \(tileElements)"
                #expect(cnnRelativeL2(y.value, c.y) <= 1e-5, "\(tag) y")
                #expect(cnnRelativeL2(x.grad, c.dx) <= 1e-5, "\(tag) dx")
                #expect(cnnRelativeL2(w.grad, c.dw) <= 1e-5, "\(tag) dw")
                if let db = c.db { #expect(cnnRelativeL2(b?.grad, db) <= 1e-5, "\(tag) db") }
            }
        }
    }

    @Test("conv2d gradients match finite differences (3×3 p1 s1, 3×3 s2, 1×1, 1×1 s2, 7×7 p3 s2, 5×5, pad ≥ k; ± bias; non-square), tol 1e-2",
          arguments: [
              // x shape, cout, k, stride, padding, bias
              ([2, 5, 6, 3], 4, 3, 1, 1, true),
              ([1, 7, 5, 2], 3, 3, 2, 1, false),
              ([2, 3, 4, 5], 3, 1, 1, 0, true),
              ([1, 5, 4, 3], 2, 1, 2, 0, false),
              ([1, 9, 7, 2], 3, 7, 2, 3, true),
              ([1, 6, 8, 2], 2, 3, 1, 0, false),
              ([1, 4, 5, 2], 2, 3, 1, 3, false),  // stride 1 but padding ≥ k: dX through col2im
              ([2, 6, 5, 3], 3, 5, 1, 2, true),   // 5×5 stride 1: dX as a transposed convolution
          ] as [([Int], Int, Int, Int, Int, Bool)])
    func gradientCheckConfigs(config: ([Int], Int, Int, Int, Int, Bool)) {
        let (xs, cout, k, stride, padding, hasBias) = config
        var rng = SeededGenerator(seed: 11)
        let x = Var(Tensor.randn(xs, using: &rng), requiresGrad: true)
        let w = Var(Tensor.randn([cout, k, k, xs[3]], std: 0.5, using: &rng), requiresGrad: true)
        let b = hasBias ? Var(Tensor.randn([cout], using: &rng), requiresGrad: true) : nil
        let report = gradientCheck(inputs: [x, w] + (b.map { [$0] } ?? [])) {
            conv2d(x, w, bias: b, stride: stride, padding: padding, tileElements: 50)
        }
        #expect(report.maxRelativeError < 1e-2, "\(config): \(report)")
    }

    @Test("a frozen conv weight gets no gradient; an input that does not require grad gets none either")
    func frozenInputsGetNoGradient() {
        var rng = SeededGenerator(seed: 3)
        for k in [1, 3] {
            let x = Var(Tensor.randn([1, 4, 4, 2], using: &rng), requiresGrad: true)
            let w = Var(Tensor.randn([3, k, k, 2], using: &rng), requiresGrad: false)
            let b = Var(Tensor.randn([3], using: &rng), requiresGrad: false)
            conv2d(x, w, bias: b, padding: k / 2).backward(seed: Tensor(shape: [1, 4, 4, 3], repeating: 1))
            #expect(w.grad == nil && b.grad == nil)
            #expect(x.grad != nil)

            let x2 = Var(Tensor.randn([1, 4, 4, 2], using: &rng), requiresGrad: false)
            let w2 = Var(Tensor.randn([3, k, k, 2], using: &rng), requiresGrad: true)
            conv2d(x2, w2, padding: k / 2).backward(seed: Tensor(shape: [1, 4, 4, 3], repeating: 1))
            #expect(x2.grad == nil)
            #expect(w2.grad != nil)
        }
    }

    @Test("conv2d output shape is ⌊(H + 2p − k)/s⌋ + 1 per axis")
    func outputShape() {
        var rng = SeededGenerator(seed: 4)
        let x = Var(Tensor.randn([2, 11, 8, 3], using: &rng))
        let w = Var(Tensor.randn([5, 3, 3, 3], using: &rng))
        #expect(conv2d(x, w, stride: 2, padding: 1).shape == [2, 6, 4, 5])
        #expect(conv2d(x, w).shape == [2, 9, 6, 5])
    }
}
