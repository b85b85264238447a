import Foundation
import Testing

/// Decoded fixtures written by Scripts/fixtures_metrics.py (scipy 1.17.1).
enum Fixtures {
    struct CorrelationCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var a: [Double]
        var b: [Double]
        var plcc: Double?
        var srcc: Double?
        var krcc: Double?
        var rmse: Double
        var ranksA: [Double]?
        var ranksB: [Double]?
        var testDescription: String { name }
    }

    struct CorrelationFile: Decodable {
        var scipy: String
        var cases: [CorrelationCase]
    }

    struct LogisticFile: Decodable {
        var x: [Double]
        var y: [Double]
        var p0: [Double]
        var params: [Double]
        var mapped: [Double]
        var plccMapped: Double
        var rmseMapped: Double
        var sse: Double
    }

    struct SummaryFile: Decodable {
        var values: [[Double]]
        var mean: [Double]
        var std: [Double]
    }

    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile)
        }
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        return try JSONDecoder().decode(T.self, from: data)
    }

    static let correlationCases: [CorrelationCase] =
        (try? load("correlations.json", as: CorrelationFile.self).cases) ?? []
}
