import TensorTestSupport
import Testing
@testable import Tensor

@Suite("Losses and reductions")
struct LossTests {
    @Test("mseLoss value and both gradients match F.mse_loss (rel L2 ≤ 1e-5)")
    func mse() throws {
        let f = try NNFixture("nn_losses.json")
        let p = try f.leaf("mse.pred"), t = try f.leaf("mse.target")
        let loss = mseLoss(p, t)
        loss.backward()
        #expect(relativeL2(loss.value, try f.tensor("mse.loss")) <= kernelTolerance)
        #expect(relativeL2(try #require(p.grad), try f.tensor("mse.dpred")) <= kernelTolerance)
        #expect(relativeL2(try #require(t.grad), try f.tensor("mse.dtarget")) <= kernelTolerance)
    }

    @Test("cosineLoss value and both gradients match mean(1 − F.cosine_similarity) (rel L2 ≤ 1e-5)")
    func cosine() throws {
        let f = try NNFixture("nn_losses.json")
        let a = try f.leaf("cos.a"), b = try f.leaf("cos.b")
        let loss = cosineLoss(a, b)
        loss.backward()
        #expect(relativeL2(loss.value, try f.tensor("cos.loss")) <= kernelTolerance)
        #expect(relativeL2(try #require(a.grad), try f.tensor("cos.da")) <= kernelTolerance)
        #expect(relativeL2(try #require(b.grad), try f.tensor("cos.db")) <= kernelTolerance)
    }

    @Test("clipContrastiveLoss value and image/text/logitScale gradients match CLIP's symmetric cross-entropy (rel L2 ≤ 1e-5)")
    func clip() throws {
        let f = try NNFixture("nn_losses.json")
        let img = try f.leaf("clip.image"), txt = try f.leaf("clip.text"), s = try f.leaf("clip.logit_scale")
        let loss = clipContrastiveLoss(image: img, text: txt, logitScale: s)
        loss.backward()
        #expect(relativeL2(loss.value, try f.tensor("clip.loss")) <= kernelTolerance)
        #expect(relativeL2(try #require(img.grad), try f.tensor("clip.dimage")) <= kernelTolerance)
        #expect(relativeL2(try #require(txt.grad), try f.tensor("clip.dtext")) <= kernelTolerance)
        #expect(relativeL2(try #require(s.grad), try f.tensor("clip.dlogit_scale")) <= kernelTolerance)
    }

    @Test("the three losses' gradients match finite differences")
    func lossGradChecks() {
        var rng = SeededGenerator(seed: 61)
        let a = Var(Tensor.randn([4, 5], using: &rng), requiresGrad: true)
        let b = Var(Tensor.randn([4, 5], using: &rng), requiresGrad: true)
        let s = Var(Tensor(scalar: 1.0), requiresGrad: true)
        for (name, f) in [("mse", { mseLoss(a, b) }), ("cosine", { cosineLoss(a, b) }),
                          ("clip", { clipContrastiveLoss(image: a, text: b, logitScale: s) })] as [(String, () -> Var)] {
            let report = gradientCheck(inputs: [a, b, s], f)
            #expect(report.maxRelativeError < gradTolerance, "\(name): \(report)")
        }
    }

    @Test("sum, mean, meanAxis, sub and l2Normalize: values and finite-difference gradients")
    func reductions() {
        let x = Var(Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]))
        #expect(sum(x).value.item == 21)
        #expect(mean(x).value.item == 3.5)
        #expect(meanAxis(x, axis: 0).value.array == [2.5, 3.5, 4.5])
        #expect(meanAxis(x, axis: -1).value.array == [2, 5])
        #expect(sub(x, x).value.array == [0, 0, 0, 0, 0, 0])
        let n = l2Normalize(Var(Tensor(shape: [1, 2], values: [3, 4]))).value.array
        #expect(abs(n[0] - 0.6) < 1e-7 && abs(n[1] - 0.8) < 1e-7)
        var rng = SeededGenerator(seed: 62)
        let z = Var(Tensor.randn([2, 3, 4], using: &rng), requiresGrad: true)
        let w = Var(Tensor.randn([2, 3, 4], using: &rng), requiresGrad: true)
        let cases: [(String, () -> Var)] = [
            ("sum", { sum(z) }), ("mean", { mean(z) }), ("meanAxis1", { meanAxis(z, axis: 1) }),
            ("meanAxis2", { meanAxis(z, axis: 2) }), ("sub", { sub(z, w) }), ("l2Normalize", { l2Normalize(z) }),
        ]
        for (name, f) in cases {
            let report = gradientCheck(inputs: [z, w], f)
            #expect(report.maxRelativeError < gradTolerance, "\(name): \(report)")
        }
    }
}
