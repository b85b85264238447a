import Foundation
import Testing
@testable import IQAMetrics

@Suite("Summaries over repeated splits")
struct SummaryTests {
    @Test("mean and std (ddof = 0) equal numpy's to 1e-12 for each metric")
    func matchesNumpy() throws {
        let f = try Fixtures.load("summary.json", as: Fixtures.SummaryFile.self)
        let sets = f.values.map { MetricSet(n: 100, srcc: $0[0], plcc: $0[1], krcc: $0[2], rmse: $0[3]) }
        let summary = try summarize(sets)
        #expect(summary.splits == 10)
        let got = [summary.srcc, summary.plcc, summary.krcc, summary.rmse]
        for k in 0..<4 {
            #expect(abs(got[k].mean - f.mean[k]) <= 1e-12)
            #expect(abs(got[k].std - f.std[k]) <= 1e-12)
            #expect(got[k].count == 10)
        }
        let decoded = try JSONDecoder().decode(MetricSummary.self, from: JSONEncoder().encode(summary))
        #expect(decoded == summary)
    }

    @Test("one split gives std 0; an empty list throws emptySummary")
    func edgeCases() throws {
        let one = try summarize([MetricSet(n: 5, srcc: 0.8, plcc: 0.7, krcc: 0.6, rmse: 0.5)])
        #expect(one.srcc == Summary(mean: 0.8, std: 0, count: 1))
        #expect(throws: MetricsError.emptySummary) { try summarize([]) }
        #expect(Summary(values: [0.80, 0.82, 0.84]).description == "0.8200 ± 0.0163")
    }
}
