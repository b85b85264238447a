import Foundation
import Testing
@testable import IQAMetrics

/// Absolute tolerance against scipy for SRCC / PLCC / KRCC / RMSE.
private let scipyTolerance = 1e-9

@Suite("Correlation metrics against scipy 1.17")
struct CorrelationTests {
    @Test("fixture file loads and covers n = 2 … 5000, heavy ties, negative correlation, constant input")
    func fixtureCoverage() throws {
        let file = try Fixtures.load("correlations.json", as: Fixtures.CorrelationFile.self)
        #expect(file.scipy.hasPrefix("1.17"))
        let sizes = file.cases.map(\.a.count)
        #expect(sizes.min() == 2 && sizes.max() == 5000)
        #expect(file.cases.count == Fixtures.correlationCases.count)
        #expect(file.cases.contains { ($0.plcc ?? 0) < -0.5 })
    }

    @Test("SRCC, PLCC, KRCC and RMSE equal scipy's to 1e-9 absolute", arguments: Fixtures.correlationCases.filter { $0.srcc != nil })
    func matchesScipy(_ c: Fixtures.CorrelationCase) throws {
        let srcc = try Correlation.srcc(c.a, c.b)
        let plcc = try Correlation.plcc(c.a, c.b)
        let krcc = try Correlation.krcc(c.a, c.b)
        let rmse = try Correlation.rmse(c.a, c.b)
        #expect(abs(srcc - c.srcc!) <= scipyTolerance, "\(c.name) srcc \(srcc) vs \(c.srcc!)")
        #expect(abs(plcc - c.plcc!) <= scipyTolerance, "\(c.name) plcc \(plcc) vs \(c.plcc!)")
        #expect(abs(krcc - c.krcc!) <= scipyTolerance, "\(c.name) krcc \(krcc) vs \(c.krcc!)")
        #expect(abs(rmse - c.rmse) <= scipyTolerance, "\(c.name) rmse \(rmse) vs \(c.rmse)")
    }

    @Test("the correlations are symmetric in their arguments to 1e-15", arguments: Fixtures.correlationCases.filter { $0.srcc != nil })
    func symmetric(_ c: Fixtures.CorrelationCase) throws {
        #expect(abs(try Correlation.srcc(c.b, c.a) - Correlation.srcc(c.a, c.b)) <= 1e-15)
        #expect(abs(try Correlation.krcc(c.b, c.a) - Correlation.krcc(c.a, c.b)) <= 1e-15)
        #expect(abs(try Correlation.plcc(c.b, c.a) - Correlation.plcc(c.a, c.b)) <= 1e-15)
    }

    @Test("where scipy returns nan (constant input) every correlation throws constantInput naming the argument")
    func constantInputThrows() throws {
        let c = try #require(Fixtures.correlationCases.first { $0.name == "constant_a" })
        #expect(c.srcc == nil && c.plcc == nil && c.krcc == nil)
        let expected = MetricsError.constantInput(metric: "SRCC", argument: "a", value: 2)
        #expect(throws: expected) { try Correlation.srcc(c.a, c.b) }
        #expect(throws: MetricsError.constantInput(metric: "PLCC", argument: "a", value: 2)) { try Correlation.plcc(c.a, c.b) }
        #expect(throws: MetricsError.constantInput(metric: "KRCC", argument: "b", value: 2)) { try Correlation.krcc(c.b, c.a) }
        #expect(abs(try Correlation.rmse(c.a, c.b) - c.rmse) <= scipyTolerance)
        #expect(expected.localizedDescription.contains("every value of `a` equals 2.0"))
    }

    @Test("bad input throws a typed error (length mismatch, n < 2, NaN, infinity) instead of crashing")
    func badInputThrows() {
        #expect(throws: MetricsError.lengthMismatch(metric: "PLCC", lhs: "a", lhsCount: 3, rhs: "b", rhsCount: 2)) {
            try Correlation.plcc([1, 2, 3], [1, 2])
        }
        #expect(throws: MetricsError.tooFewSamples(metric: "KRCC", count: 1, minimum: 2)) { try Correlation.krcc([1], [2]) }
        #expect(throws: MetricsError.tooFewSamples(metric: "RMSE", count: 0, minimum: 1)) { try Correlation.rmse([], []) }
        #expect(throws: MetricsError.nonFinite(metric: "SRCC", argument: "b", index: 1, value: .infinity)) {
            try Correlation.srcc([1, 2, 3], [1, .infinity, 3])
        }
        #expect(throws: MetricsError.self) { try Correlation.plcc([1, .nan, 3], [1, 2, 3]) }
        #expect(throws: MetricsError.tooFewSamples(metric: "SRCC", count: 0, minimum: 2)) { try Correlation.srcc([], []) }
    }

    @Test("MetricSet.compute names the prediction/target arguments in its errors and matches scipy")
    func metricSet() throws {
        let c = try #require(Fixtures.correlationCases.first { $0.name == "n500_negative" })
        let set = try MetricSet.compute(prediction: c.a, target: c.b)
        #expect(set.n == 500)
        #expect(abs(set.srcc - c.srcc!) <= scipyTolerance && abs(set.plcc - c.plcc!) <= scipyTolerance)
        #expect(abs(set.krcc - c.krcc!) <= scipyTolerance && abs(set.rmse - c.rmse) <= scipyTolerance)
        #expect(throws: MetricsError.constantInput(metric: "SRCC", argument: "prediction", value: 0.5)) {
            try MetricSet.compute(prediction: [0.5, 0.5, 0.5], target: [1, 2, 3])
        }
        let decoded = try JSONDecoder().decode(MetricSet.self, from: JSONEncoder().encode(set))
        #expect(decoded == set)
        #expect(set.description.hasPrefix("n=500 SRCC -0.7601"))
    }
}
