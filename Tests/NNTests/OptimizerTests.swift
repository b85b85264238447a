import CKernels
import Foundation
import TensorTestSupport
import Testing
@testable import Tensor
@testable import NN

@Suite("Optimizers")
struct OptimizerTests {
    static let names = ["p0", "p1", "p2"]

    /// Fresh parameters from the fixture's initial values.
    static func params(_ f: NNFixture) throws -> [String: Var] {
        Dictionary(uniqueKeysWithValues: try names.map { ($0, try f.leaf("init.\($0)")) })
    }

    /// Runs steps `range` of the fixture's gradient sequence.
    static func run(_ opt: any Optimizer, _ ps: [String: Var], _ f: NNFixture, steps: Range<Int>) throws {
        for i in steps {
            for n in names { ps[n]!.grad = try f.tensor("grad\(i).\(n)") }
            opt.step()
        }
    }

    static func adamW(_ ps: [String: Var]) -> AdamW {
        AdamW([ParamGroup([("p0", ps["p0"]!), ("p1", ps["p1"]!)], learningRate: 1e-2, weightDecay: 0.01),
               ParamGroup([("p2", ps["p2"]!)], learningRate: 3e-3, weightDecay: 0)])
    }

    @Test("AdamW, two groups (lr 1e-2/wd 0.01, lr 3e-3/wd 0): 5 steps match torch.optim.AdamW (params and moments, abs ≤ 1e-6)")
    func adamWMatchesPyTorch() throws {
        let f = try NNFixture("nn_optim.json")
        let ps = try Self.params(f)
        let opt = Self.adamW(ps)
        try Self.run(opt, ps, f, steps: 0..<5)
        let state = opt.stateDict()
        for n in Self.names {
            #expect(maxAbsDiff(ps[n]!.value, try f.tensor("adamw.\(n)")) <= 1e-6, "\(n)")
            #expect(maxAbsDiff(try #require(state["\(n).exp_avg"]), try f.tensor("adamw.\(n).exp_avg")) <= 1e-6)
            #expect(maxAbsDiff(try #require(state["\(n).exp_avg_sq"]), try f.tensor("adamw.\(n).exp_avg_sq")) <= 1e-6)
            #expect(state["\(n).step"]?.item == 5)
        }
    }

    @Test("Adam with L2 weight decay 0.1: 5 steps match torch.optim.Adam (abs ≤ 1e-6)")
    func adamMatchesPyTorch() throws {
        let f = try NNFixture("nn_optim.json")
        let ps = try Self.params(f)
        let opt = Adam([ParamGroup(Self.names.map { ($0, ps[$0]!) }, learningRate: 1e-2, weightDecay: 0.1)])
        try Self.run(opt, ps, f, steps: 0..<5)
        for n in Self.names { #expect(maxAbsDiff(ps[n]!.value, try f.tensor("adam.\(n)")) <= 1e-6, "\(n)") }
    }

    @Test("clipGradNorm returns the total norm and scales gradients like clip_grad_norm_ (rel L2 ≤ 1e-6)")
    func clipMatchesPyTorch() throws {
        let f = try NNFixture("nn_optim.json")
        let a = Var(Tensor(zeros: [3, 4]), requiresGrad: true), b = Var(Tensor(zeros: [5]), requiresGrad: true)
        let g0 = try f.tensor("clip.g0")
        a.grad = g0
        b.grad = try f.tensor("clip.g1")
        let norm = clipGradNorm([a, b, Var(Tensor(zeros: [2]), requiresGrad: true)], maxNorm: 1.5)
        #expect(abs(Double(norm) - Double(try f.tensor("clip.norm").item)) <= 1e-6 * Double(norm))
        #expect(relativeL2(try #require(a.grad), try f.tensor("clip.c0")) <= 1e-6)
        #expect(relativeL2(try #require(b.grad), try f.tensor("clip.c1")) <= 1e-6)
        #expect(maxAbsDiff(g0, try f.tensor("clip.g0")) == 0, "the original gradient tensor is not modified")
    }

    @Test("a frozen parameter (requiresGrad = false) gets no gradient and no update, not even weight decay")
    func frozenParameter() {
        var rng = SeededGenerator(seed: 71)
        let fc = Linear(3, 2, rng: &rng)
        fc.freeze(prefix: "weight")
        let before = fc.weight.value.copy()
        let opt = AdamW([ParamGroup(fc.namedParameters(), learningRate: 0.1)])
        let x = Var(Tensor.randn([4, 3], using: &rng))
        mseLoss(fc(x), Var(Tensor(zeros: [4, 2]))).backward()
        #expect(fc.weight.grad == nil)
        #expect(fc.bias?.grad != nil)
        let biasBefore = fc.bias!.value.copy()
        opt.step()
        #expect(fc.weight.value.array == before.array)
        #expect(fc.bias!.value.array != biasBefore.array)
        #expect(opt.stepCount(of: fc.weight) == 0 && opt.stepCount(of: fc.bias!) == 1)
    }

    @Test("exported state resumes exactly: 2 steps, export, import into a new AdamW, 3 more steps = 5 steps straight")
    func resume() throws {
        let f = try NNFixture("nn_optim.json")
        let ps = try Self.params(f)
        let first = Self.adamW(ps)
        try Self.run(first, ps, f, steps: 0..<2)
        let saved = first.stateDict()
        let second = Self.adamW(ps)
        try second.loadStateDict(saved)
        try Self.run(second, ps, f, steps: 2..<5)
        for n in Self.names { #expect(maxAbsDiff(ps[n]!.value, try f.tensor("adamw.\(n)")) <= 1e-6, "\(n)") }
        var bad = saved
        bad["p0.exp_avg"] = Tensor(zeros: [2])
        bad["ghost.step"] = Tensor(scalar: 1)
        #expect(throws: OptimizerStateError.self) { try second.loadStateDict(bad) }
        #expect(second.stepCount(of: ps["p0"]!) == 5, "a failed import changes nothing")
    }

    @Test("the AdamW update gives bit-identical results however the parameter is cut into chunks (vector body vs tail)")
    func adamChunkingIsExact() {
        var rng = SeededGenerator(seed: 5)
        let n = 77
        let p0 = Tensor.randn([n], using: &rng), g = Tensor.randn([n], using: &rng)
        let m0 = Tensor.randn([n], std: 0.1, using: &rng)
        let v0 = Tensor.uniform([n], low: 0, high: 0.2, using: &rng)
        func run(_ cuts: [Int]) -> [Float] {
            let p = p0.copy(), m = m0.copy(), v = v0.copy()
            let bounds = [0] + cuts + [n]
            for (lo, hi) in zip(bounds, bounds.dropFirst()) {
                ipiqa_adam_update(p.pointer + lo, g.pointer + lo, m.pointer + lo, v.pointer + lo, hi - lo, 1, 0.999, 0,
                                  0.1, 0.999, 0.001, 1e-3, 0.05, 1e-8)
            }
            return Array(UnsafeBufferPointer(start: p.pointer, count: n)) + Array(UnsafeBufferPointer(start: m.pointer, count: n))
                + Array(UnsafeBufferPointer(start: v.pointer, count: n))
        }
        let whole = run([])
        #expect(run([5]) == whole)
        #expect(run([16, 33, 70]) == whole)
        #expect(run(Array(1..<n)) == whole)
    }

    @Test("zeroGrad drops gradients; AdamConfiguration decodes absent keys to PyTorch defaults")
    func misc() throws {
        let p = Var(Tensor(zeros: [2]), requiresGrad: true)
        p.grad = Tensor(shape: [2], repeating: 1)
        let opt = Adam([ParamGroup([p], learningRate: 1e-3)])
        opt.zeroGrad()
        #expect(p.grad == nil)
        let cfg = try JSONDecoder().decode(AdamConfiguration.self, from: Data("{\"weightDecay\": 0.5}".utf8))
        #expect(cfg == AdamConfiguration(weightDecay: 0.5))
        #expect(AdamConfiguration.adamW.weightDecay == 0.01 && AdamConfiguration.adamW.decoupledWeightDecay)
    }
}
