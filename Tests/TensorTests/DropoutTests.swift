import Foundation
import TensorTestSupport
import Testing
@testable import Tensor

@Suite("dropout")
struct DropoutTests {
    @Test("dropout gradient with a fixed mask (fixed seed) matches finite differences, tol 1e-2")
    func gradientCheckFixedMask() {
        var rng = SeededGenerator(seed: 51)
        let x = Var(Tensor.randn([4, 6, 5], using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [x], maxElements: 120) {
            var maskRNG = SeededGenerator(seed: 7)
            return dropout(x, p: 0.3, training: true, rng: &maskRNG)
        }
        #expect(report.maxRelativeError < 1e-2, "\(report)")
    }

    @Test("training dropout zeroes about p of the elements (±0.01 over 100k) and scales survivors by exactly 1/(1−p)")
    func dropRateAndScale() {
        var rng = SeededGenerator(seed: 52)
        let x = Var(Tensor(shape: [100_000], repeating: 2))
        let y = dropout(x, p: 0.25, training: true, rng: &rng).value.array
        let zeros = y.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 100_000 - 0.25) < 0.01)
        #expect(y.allSatisfy { $0 == 0 || $0 == 2 / 0.75 })
    }

    @Test("dropout is the identity when not training or p = 0, and all zeros when p = 1")
    func identityAndFullDrop() {
        var rng = SeededGenerator(seed: 53)
        let x = Var(Tensor.randn([3, 4], using: &rng), requiresGrad: true)
        #expect(dropout(x, p: 0.5, training: false, rng: &rng) === x)
        #expect(dropout(x, p: 0, training: true, rng: &rng) === x)
        #expect(dropout(x, p: 1, training: true, rng: &rng).value.array.allSatisfy { $0 == 0 })
    }
}
