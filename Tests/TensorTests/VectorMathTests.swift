import CKernels
import Foundation
import TensorTestSupport
import Testing
@testable import Tensor

@Suite("Vectorised exp and QuickGELU")
struct VectorMathTests {
    /// Distance in units in the last place between two finite floats.
    static func ulps(_ a: Float, _ b: Float) -> Int {
        func key(_ f: Float) -> Int { let u = Int(Int32(bitPattern: f.bitPattern)); return u < 0 ? Int(Int32.min) - u : u }
        return abs(key(a) - key(b))
    }

    @Test("ipiqa_exp is within 2 ulp of the double-precision exp on [−87, 88]; overflow → inf, underflow → 0, NaN stays NaN")
    func expAccuracy() {
        let xs = stride(from: -87.0, through: 88.0, by: 0.00731).map { Float($0) } + [0, -0.0, 1e-8, -1e-8]
        var ys = [Float](repeating: 0, count: xs.count)
        ipiqa_exp(xs, xs.count, &ys)
        var worst = 0
        for (x, y) in zip(xs, ys) {
            let reference = Float(Foundation.exp(Double(x)))
            if reference < Float.leastNormalMagnitude { continue }   // denormal results: flushed or not, both fine
            worst = max(worst, Self.ulps(y, reference))
        }
        #expect(worst <= 2, "worst \(worst) ulp")
        var special: [Float] = [200, -200, -.infinity, .nan, .infinity]
        ipiqa_exp(special, special.count, &special)
        #expect(special[0] == .infinity && special[1] == 0 && special[2] == 0 && special[3].isNaN && special[4] == .infinity)
    }

    /// The reference evaluates x / (1 + eᵗ) in double with t = −1.702·x rounded to float as every float implementation
    /// (PyTorch's too) computes it: for large |x| that rounding alone moves eᵗ by |t|·6e-8 relative.
    @Test("quickGELU equals x / (1 + e^(−1.702x)) in double (rel. error ≤ 1e-6, abs. 1.2e-38) for 1,001 inputs in [−50, 60], odd lengths included; −60 → −0 as in float (e^102 overflows)")
    func quickGELUValues() {
        let xs = (0...1000).map { Float(-50 + 0.11 * Double($0)) }
        for count in [1000, 1001, 17, 3] {
            let x = Tensor(shape: [count], values: Array(xs.prefix(count)))
            let y = quickGELU(Var(x)).value
            for i in 0..<count {
                let v = Double(x.pointer[i]), t = Double(-Float(1.702) * x.pointer[i])
                let reference = v / (1 + Foundation.exp(t))
                // Below the smallest normal float only absolute accuracy is possible.
                #expect(abs(Double(y.pointer[i]) - reference) <= 1e-6 * abs(reference) + Double(Float.leastNormalMagnitude), "x = \(v)")
            }
        }
        let far = quickGELU(Var(Tensor(shape: [2], values: [-60, 60]))).value
        #expect(far.pointer[0] == 0 && far.pointer[0].sign == .minus && far.pointer[1] == 60)
    }

    @Test("quickGELU gradient passes a central-difference check (rel. error ≤ 1e-2)")
    func quickGELUGradient() {
        var rng = SeededGenerator(seed: 4)
        let x = Var(Tensor.randn([3, 37], std: 2, using: &rng), requiresGrad: true)
        let report = gradientCheck(inputs: [x], maxElements: 111) { quickGELU(x) }
        #expect(report.maxRelativeError < 1e-2, "\(report)")
    }
}
