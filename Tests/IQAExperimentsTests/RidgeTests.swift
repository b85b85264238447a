import Foundation
import Testing
@testable import IQAExperiments

/// Scripts/fixtures_ridge.py: scikit-learn `Ridge(alpha, fit_intercept=True)` over the same grouped folds.
struct RidgeCase: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var x: [[Double]]
    var y: [Double]
    var groups: [String]
    var folds: Int
    var lambdas: [Double]
    var mse: [Double]
    var lambda: Double
    var weights: [Double]
    var intercept: Double
    var xTest: [[Double]]
    var predictions: [Double]
    var testDescription: String { name }
}

struct RidgeFile: Decodable { var cases: [RidgeCase] }

func fixture(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
}

let ridgeCases = (try? JSONDecoder().decode(RidgeFile.self, from: Data(contentsOf: fixture("ridge.json"))).cases) ?? []

@Suite("Ridge probe against scikit-learn")
struct RidgeTests {
    @Test("grouped k-fold CV errors, the chosen λ, weights, intercept and predictions within 1e-6 of scikit-learn",
          arguments: ridgeCases)
    func matchesScikitLearn(_ c: RidgeCase) throws {
        let cv = try RidgeProbe.crossValidate(x: c.x, ys: [c.y], groups: c.groups, lambdas: c.lambdas, folds: c.folds)[0]
        #expect(cv.meanSquaredErrors.count == c.mse.count)
        for (a, b) in zip(cv.meanSquaredErrors, c.mse) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b))) }
        #expect(cv.lambda == c.lambda)
        let fit = try RidgeProbe.fit(x: c.x, ys: [c.y], lambdas: [cv.lambda])[0]
        #expect(fit.weights.count == c.weights.count)
        for (a, b) in zip(fit.weights, c.weights) { #expect(abs(a - b) <= 1e-6) }
        #expect(abs(fit.intercept - c.intercept) <= 1e-6)
        for (a, b) in zip(fit.predict(c.xTest), c.predictions) { #expect(abs(a - b) <= 1e-6) }
    }

    @Test("the fixture has both a tall and a wide case")
    func bothShapes() {
        #expect(ridgeCases.map(\.name) == ["tall", "wide"])
        #expect(ridgeCases.allSatisfy { ($0.x.count > $0.x[0].count) == ($0.name == "tall") })
    }

    @Test("folds keep groups whole: no group in two folds, k capped by the number of groups")
    func groupedFolds() {
        let groups = ["a", "b", "a", "c", "b", "d", "c"]
        let (fold, k) = RidgeProbe.foldAssignment(groups: groups, folds: 3)
        #expect(k == 3)
        #expect(fold == [0, 1, 0, 2, 1, 0, 2])
        #expect(RidgeProbe.foldAssignment(groups: ["a", "a", "b"], folds: 5).k == 2)
    }

    @Test("bad input is an error that says what is wrong")
    func errors() {
        #expect(throws: ExperimentError.self) { _ = try RidgeSolver(x: [[1], [2, 3]]) }
        #expect(throws: ExperimentError.self) { _ = try RidgeSolver(x: [[1], [.nan]]) }
        #expect(throws: ExperimentError.self) { _ = try RidgeProbe.crossValidate(x: [[1], [2]], ys: [[1, 2]], groups: ["a", "a"]) }
        #expect(throws: ExperimentError.self) { _ = try RidgeProbe.crossValidate(x: [[1], [2]], ys: [[1, 2]], groups: ["a", "b"], lambdas: [0]) }
    }
}
