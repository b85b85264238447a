import Foundation
import Testing
@testable import IQAMetrics

@Suite("4-parameter logistic mapping against scipy.optimize.curve_fit")
struct LogisticMappingTests {
    @Test("the standard start equals the fixture's p0 (max y, min y, mean x, numpy std(x)/4) to 1e-12")
    func standardStart() throws {
        let f = try Fixtures.load("logistic.json", as: Fixtures.LogisticFile.self)
        let start = LogisticMapping.standardStart(x: f.x, y: f.y).parameters
        for (s, p) in zip(start, f.p0) { #expect(abs(s - p) <= 1e-12 * max(1, abs(p))) }
    }

    @Test("fit matches curve_fit: PLCC and RMSE after mapping to 1e-6, parameters to 1e-3 relative, SSE no worse")
    func matchesCurveFit() throws {
        let f = try Fixtures.load("logistic.json", as: Fixtures.LogisticFile.self)
        let mapping = try LogisticMapping.fit(x: f.x, y: f.y)
        let mapped = mapping.apply(f.x)
        #expect(abs(try Correlation.plcc(mapped, f.y) - f.plccMapped) <= 1e-6)
        #expect(abs(try Correlation.rmse(mapped, f.y) - f.rmseMapped) <= 1e-6)
        #expect(mapping.sumOfSquares <= f.sse * (1 + 1e-9))
        for (p, q) in zip(mapping.parameters, f.params) { #expect(abs(p - q) <= 1e-3 * max(1, abs(q)), "\(p) vs \(q)") }
        let set = try MetricSet.compute(prediction: f.x, target: f.y, mapping: .logistic)
        #expect(abs(set.plcc - f.plccMapped) <= 1e-6)
        print("logistic: \(mapping.parameters) in \(mapping.iterations) iterations, scipy \(f.params)")
    }

    @Test("the analytic Jacobian equals central differences to 1e-6 relative (gradient check)")
    func jacobianCheck() throws {
        let f = try Fixtures.load("logistic.json", as: Fixtures.LogisticFile.self)
        let x = Array(f.x.prefix(40)), y = Array(f.y.prefix(40))
        for beta in [[4.9, 1.1, 0.45, 0.05], [6.0, 0.04, 0.48, -0.25]] {
            var residual = [Double](repeating: 0, count: x.count)
            var jacobian = [Double](repeating: 0, count: x.count * 4)
            LogisticMapping.residualsAndJacobian(beta: beta, x: x, y: y, residual: &residual, jacobian: &jacobian)
            for j in 0..<4 {
                let h = 1e-6 * max(1, abs(beta[j]))
                var plus = beta, minus = beta
                plus[j] += h
                minus[j] -= h
                var rp = residual, rm = residual, scratch = jacobian
                LogisticMapping.residualsAndJacobian(beta: plus, x: x, y: y, residual: &rp, jacobian: &scratch)
                LogisticMapping.residualsAndJacobian(beta: minus, x: x, y: y, residual: &rm, jacobian: &scratch)
                let scale = (0..<x.count).map { abs(jacobian[$0 * 4 + j]) }.max() ?? 1
                for i in 0..<x.count {
                    let numeric = (rp[i] - rm[i]) / (2 * h)
                    #expect(abs(numeric - jacobian[i * 4 + j]) <= 1e-6 * max(scale, 1e-3), "β\(j + 1) row \(i)")
                }
            }
        }
    }

    @Test("recovers exact parameters from noise-free data, and apply is monotone and bounded by β2…β1")
    func recoversNoiseFree() throws {
        let truth = LogisticMapping(beta1: 4.5, beta2: 1.2, beta3: 0.3, beta4: 0.15)
        let x = (0..<60).map { -0.5 + Double($0) / 40 }
        let mapping = try LogisticMapping.fit(x: x, y: truth.apply(x))
        for (p, q) in zip(mapping.parameters, truth.parameters) { #expect(abs(p - q) <= 1e-6) }
        let y = mapping.apply(x)
        #expect(zip(y, y.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(y.allSatisfy { $0 >= 1.2 - 1e-9 && $0 <= 4.5 + 1e-9 })
        #expect(truth.apply(1e6) == 4.5 && truth.apply(-1e6) == 1.2)
    }

    @Test("exactly linear data (optimum at infinity) does not throw: converged is false and PLCC stays ≈ 1")
    func linearDataDoesNotThrow() throws {
        let x = (0..<100).map { Double($0) / 99 }
        let y = x.map { 1 + 3 * $0 }
        let mapping = try LogisticMapping.fit(x: x, y: y, options: { var o = LevenbergMarquardtOptions(); o.maxIterations = 200; return o }())
        #expect(!mapping.converged && mapping.iterations == 200)
        #expect(try Correlation.plcc(mapping.apply(x), y) >= 1 - 1e-9)
    }

    @Test("a decreasing relationship fits with β1 < β2 and raises PLCC from negative to positive")
    func decreasing() throws {
        let x = (0..<80).map { Double($0) / 79 }
        let truth = LogisticMapping(beta1: 1.0, beta2: 5.0, beta3: 0.5, beta4: 0.1)
        let mapping = try LogisticMapping.fit(x: x, y: truth.apply(x))
        #expect(mapping.beta1 < mapping.beta2 && mapping.beta4 > 0 && mapping.converged)
        #expect(try Correlation.plcc(x, truth.apply(x)) < -0.9)
        #expect(try Correlation.plcc(mapping.apply(x), truth.apply(x)) >= 1 - 1e-9)
    }

    @Test("bad input throws: too few samples, constant x, mismatched lengths")
    func badInput() {
        #expect(throws: MetricsError.tooFewSamples(metric: "logistic mapping", count: 3, minimum: 4)) {
            try LogisticMapping.fit(x: [1, 2, 3], y: [1, 2, 3])
        }
        #expect(throws: MetricsError.constantInput(metric: "logistic mapping", argument: "x", value: 1)) {
            try LogisticMapping.fit(x: [1, 1, 1, 1], y: [1, 2, 3, 4])
        }
        #expect(throws: MetricsError.self) { try LogisticMapping.fit(x: [1, 2, 3, 4], y: [1, 2, 3]) }
    }
}
