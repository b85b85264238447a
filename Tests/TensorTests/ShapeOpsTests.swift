import TensorTestSupport
import Testing
@testable import Tensor

@Suite("Shape operations")
struct ShapeOpsTests {
    @Test("concat along each axis: values in torch.cat order and finite-difference gradients")
    func concatValuesAndGrads() {
        let a = Var(Tensor(shape: [2, 1, 2], values: [1, 2, 3, 4]), requiresGrad: true)
        let b = Var(Tensor(shape: [2, 2, 2], values: [5, 6, 7, 8, 9, 10, 11, 12]), requiresGrad: true)
        #expect(concat([a, b], axis: 1).value.array == [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12])
        #expect(concat([a, a], axis: -1).value.array == [1, 2, 1, 2, 3, 4, 3, 4])
        var rng = SeededGenerator(seed: 51)
        for axis in 0..<3 {
            var sa = [2, 3, 4]; sa[axis] = 1
            let x = Var(Tensor.randn(sa, using: &rng), requiresGrad: true)
            let y = Var(Tensor.randn([2, 3, 4], using: &rng), requiresGrad: true)
            let report = gradientCheck(inputs: [x, y]) { concat([x, y, x], axis: axis) }
            #expect(report.maxRelativeError < gradTolerance, "axis \(axis): \(report)")
        }
    }

    @Test("sliceAxis picks torch.narrow's elements and its gradient matches finite differences")
    func slice() {
        let x = Var(Tensor(shape: [2, 3], values: [0, 1, 2, 3, 4, 5]), requiresGrad: true)
        #expect(sliceAxis(x, axis: 1, range: 1..<3).value.array == [1, 2, 4, 5])
        #expect(sliceAxis(x, axis: 0, range: 1..<2).value.array == [3, 4, 5])
        var rng = SeededGenerator(seed: 52)
        let z = Var(Tensor.randn([2, 5, 3], using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [z]) { sliceAxis(z, axis: 1, range: 1..<4) }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
    }

    @Test("gatherRows picks x[b, idx[b], :] and scatters its gradient back")
    func gather() {
        var rng = SeededGenerator(seed: 53)
        let x = Var(Tensor.randn([3, 4, 2], using: &rng), requiresGrad: true)
        let y = gatherRows(x, indices: [3, 0, 2])
        let xs = x.value.array
        #expect(y.value.array == [xs[6], xs[7], xs[8], xs[9], xs[20], xs[21]])
        let report = gradientCheck(inputs: [x]) { gatherRows(x, indices: [3, 0, 2]) }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
    }

    @Test("permute matches index arithmetic of torch.permute for a 4-D tensor; gradient via the inverse permutation")
    func permuteValuesAndGrads() {
        let shape = [2, 3, 4, 5], dims = [0, 3, 1, 2]
        let x = Var(Tensor(shape: shape, values: (0..<120).map(Float.init)), requiresGrad: true)
        let y = permute(x, dims)
        #expect(y.shape == [2, 5, 3, 4])
        var ok = true
        for n in 0..<2 { for c in 0..<5 { for h in 0..<3 { for w in 0..<4 {
            let got = y.value.pointer[((n * 5 + c) * 3 + h) * 4 + w]
            let want = Float(((n * 3 + h) * 4 + w) * 5 + c)
            if got != want { ok = false }
        } } } }
        #expect(ok)
        var rng = SeededGenerator(seed: 54)
        let z = Var(Tensor.randn([2, 3, 4], using: &rng), requiresGrad: true)
        for p in [[2, 0, 1], [1, 2, 0], [0, 2, 1]] {
            let report = gradientCheck(inputs: [z]) { permute(z, p) }
            #expect(report.maxRelativeError < gradTolerance, "\(p): \(report)")
        }
    }

    @Test("reshape shares storage and passes the gradient through unchanged")
    func reshapeView() {
        var rng = SeededGenerator(seed: 55)
        let x = Var(Tensor.randn([2, 6], using: &rng), requiresGrad: true)
        let y = reshape(x, [3, -1])
        #expect(y.shape == [3, 4])
        #expect(y.value.storage === x.value.storage)
        let report = gradientCheck(inputs: [x]) { reshape(x, [4, 3]) }
        #expect(report.maxRelativeError < gradTolerance, "\(report)")
    }
}
