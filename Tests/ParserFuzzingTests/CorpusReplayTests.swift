import Foundation
import ParserFuzzing
import Testing

/// Replays the fuzzing corpora and every crash found so far (`Fuzz/Corpus/<target>`, `Fuzz/Regressions/<target>`)
/// through the same entry points the libFuzzer targets call: a parser that crashes, traps or hangs on any of them
/// fails the suite. Quick (a few hundred small files), so it runs with every `make test`.
@Suite("Fuzzing corpora and crash regressions replay cleanly")
struct CorpusReplayTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(_ entry: FuzzEntry) -> [URL] {
        ["Corpus", "Regressions"].flatMap { kind -> [URL] in
            let folder = fuzzFolder.appendingPathComponent(kind).appendingPathComponent(entry.targetName)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
        }
    }

    @Test("every target has a seed corpus", arguments: FuzzEntry.allCases)
    func seeded(_ entry: FuzzEntry) {
        #expect(Self.inputs(entry).count >= 3, "Fuzz/Corpus/\(entry.targetName) needs seed inputs")
    }

    @Test("every corpus and regression input runs through its parser without a crash", arguments: FuzzEntry.allCases)
    func replay(_ entry: FuzzEntry) throws {
        for url in Self.inputs(entry) { entry.run(try Data(contentsOf: url)) }
    }
}
