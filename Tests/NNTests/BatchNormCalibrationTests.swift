import Foundation
import NN
import Tensor
import TensorTestSupport
import Testing

@Suite("batch-norm calibration")
struct BatchNormCalibrationTests {
    @Test("calibrateBatchNorm: running statistics = the pass's batch mean and unbiased variance (rel. 1e-4); modes restored")
    func statisticsFromOnePass() throws {
        var rng = SeededGenerator(seed: 4)
        let conv = Conv2d(3, 6, kernel: 3, padding: 1, rng: &rng)
        let bn = BatchNorm2d(6)
        let x = Tensor.randn([2, 5, 5, 3], using: &rng)
        bn.isTraining = false
        conv.isTraining = false
        bn.runningMean.fill(3)
        bn.runningVar.fill(7)
        let y = withoutGradients { conv(Var(x)) }.value
        bn.calibrateBatchNorm { _ = withoutGradients { convBatchNorm(Var(x), conv: conv, bn: bn, relu: false) } }
        #expect(!bn.isTraining)
        let c = 6, rows = y.count / c
        for k in 0..<c {
            var mean = 0.0
            for r in 0..<rows { mean += Double(y.pointer[r * c + k]) }
            mean /= Double(rows)
            var v = 0.0
            for r in 0..<rows { v += pow(Double(y.pointer[r * c + k]) - mean, 2) }
            v /= Double(rows - 1)
            #expect(abs(Double(bn.runningMean.pointer[k]) - mean) <= 1e-4 * max(1, abs(mean)))
            #expect(abs(Double(bn.runningVar.pointer[k]) - v) <= 1e-4 * max(1, v))
        }
    }
}
