import Foundation
import IQAData
import IQATestSupport
import IQAModel
import Testing
@testable import IQAExperiments
@testable import IQATraining

private struct SimulatedKill: Error {}

/// A grid file over ``MiniAGIQA3k``: 2 variants (the full model, image-only) × 2 grouped splits, 2 epochs each.
func writeGrid(_ data: MiniAGIQA3k, variants: String? = nil, name: String = "grid.json") throws -> URL {
    let url = data.file(name)
    let text = """
    {"name": "mini", "clip": "\(data.clip.path)", "splits": 2, "seed": 7,
     "base": {"epochs": 2, "resolution": 64, "batchSize": 8, "evalBatchSize": 16, "crossHeads": 4, "learningRate": 1e-4,
              "threads": 2, "dropout": 0, "plots": false},
     "datasets": [{"name": "mini-3k", "dataset": "agiqa-3k", "labels": "\(data.labels.path)", "root": "\(data.images.path)", "protocol": "grouped"}],
     "variants": \(variants ?? #"[{"name": "full", "config": {}}, {"name": "image only", "config": {"useText": false}}]"#)}
    """
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
}

@Suite("Experiment grids", .serialized)
struct GridTests {
    @Test("a grid of 2 variants × 2 splits killed mid-way and resumed gives the same table; finished cells are not retrained")
    func killAndResume() throws { try ThreadCountLock.exclusive { try killAndResumeLocked() } }
    func killAndResumeLocked() throws {
        let data = try MiniAGIQA3k(trainPrompts: 7, testPrompts: 3)
        defer { data.remove() }
        let grid = try ExperimentGrid.read(from: writeGrid(data))
        let silent = ProgressReporter(style: .silent)
        let reference = try GridRunner(grid: grid, output: data.file("reference"), progress: silent).run()

        // Kill in the second variant, split 1, epoch 2 (its split 0 and the whole first variant are done).
        let out = data.file("resumed")
        let first = GridRunner(grid: grid, output: out, progress: silent)
        var cellOfStep = 0, previous = (-1, -1)
        first.afterStep = { e in
            if e.split < previous.0 { cellOfStep += 1 }
            previous = (e.split, e.epoch)
            if cellOfStep == 1, e.split == 1, e.epoch == 2, e.step == 1 { throw SimulatedKill() }
        }
        #expect(throws: SimulatedKill.self) { try first.run() }
        let fullCell = first.cellFolder(grid.datasets[0], grid.variants[0])
        #expect(first.isFinished(fullCell))
        #expect(!first.isFinished(first.cellFolder(grid.datasets[0], grid.variants[1])))
        let before = try ScratchFolder.listing(fullCell)

        let second = GridRunner(grid: grid, output: out, progress: silent)
        var steps: [(Int, Int)] = []
        second.afterStep = { e in steps.append((e.split, e.epoch)) }
        let resumed = try second.run()
        #expect(try ScratchFolder.listing(fullCell) == before, "the finished cell is untouched")
        #expect(steps.allSatisfy { $0.0 == 1 && $0.1 == 2 }, "only split 1, epoch 2 of the second variant is trained again")
        #expect(resumed == reference)
        #expect(resumed.tables[0].cells.map(\.finishedSplits) == [2, 2])
        #expect(resumed.tables[0].cells[0].honestRule == "validation")

        // A third run trains nothing and writes the same tables.
        let third = GridRunner(grid: grid, output: out, progress: silent)
        var any = false
        third.afterStep = { _ in any = true }
        #expect(try third.run() == reference)
        #expect(!any)
        let md = try String(contentsOf: out.appendingPathComponent("tables/mini-3k.md"), encoding: .utf8)
        #expect(md.contains("honest quality SRCC") && md.contains("official quality SRCC") && md.contains("| image only |"))
        let csv = try String(contentsOf: out.appendingPathComponent("tables/mini-3k.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 1 + 2 * 2 * 2)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("tables/mini-3k.png").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("mini-3k/splits.json").path))

        // An edited grid does not silently reuse cells trained with other settings.
        let edited = try ExperimentGrid.read(from: writeGrid(data, variants: #"[{"name": "full", "config": {"dropout": 0.3}}]"#, name: "edited.json"))
        #expect { try GridRunner(grid: edited, output: out, progress: silent).run() } throws: {
            $0.localizedDescription.contains(fullCell.path) && $0.localizedDescription.contains("other training settings")
        }
    }

    @Test("grid files: unknown keys, a bad baseline, settings the grid owns and clashing names are errors naming the file")
    func badGrids() throws {
        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        func problem(_ variants: String) throws -> String {
            let url = try writeGrid(data, variants: variants, name: "bad.json")
            do { _ = try ExperimentGrid.read(from: url); return "" } catch { return error.localizedDescription }
        }
        #expect(try problem(#"[{"name": "a", "config": {"epoch": 3}}]"#).contains("unknown training setting epoch"))
        #expect(try problem(#"[{"name": "a", "baseline": "nope"}]"#).contains("'baseline' must be one of"))
        #expect(try problem(#"[{"name": "a", "config": {"seed": 3}}]"#).contains("'seed' is set by the grid"))
        #expect(try problem(#"[{"name": "a", "extra": 1}]"#).contains("unknown key extra"))
        #expect(try problem(#"[{"name": "a"}, {"name": "a"}]"#).contains("named twice"))
        #expect(try problem(#"[{"name": "a", "config": {"epochs": 0}}]"#).contains("epochs must be ≥ 1"))
        #expect(try problem(#"[{"name": "a"}]"#).isEmpty)
        let slugs = try ExperimentGrid.read(from: writeGrid(data, variants: #"[{"name": "a/b"}, {"name": "a_b"}]"#, name: "clash.json"))
        #expect(throws: ExperimentError.self) { try GridRunner(grid: slugs, output: data.file("clash"), progress: ProgressReporter(style: .silent)).run() }
        #expect(try problem(#"[{"name": "a"}]"#).isEmpty)
        let message = try problem(#"[{"name": "a", "config": {"epoch": 3}}]"#)
        #expect(message.contains("bad.json"))
    }
}

@Suite("Shipped grid files")
struct ShippedGridTests {
    static let grids = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("grids")

    @Test("grids/table3.json and grids/baselines.json read: the paper's Table 3 rows and the baselines")
    func shipped() throws {
        let table3 = try ExperimentGrid.read(from: Self.grids.appendingPathComponent("table3.json"))
        #expect(table3.datasets.map(\.dataset) == [.agiqa1k, .agiqa3k])
        #expect(table3.splits == 10 && table3.seed == 42)
        #expect(table3.variants.count == 7 && table3.variants.allSatisfy { $0.baseline == nil })
        #expect(table3.variants[1].config?.qaToken == IPIQAConfiguration.QAToken.none)
        #expect(table3.variants[3].clip.hasSuffix("RN50.pt") && table3.variants[0].clip.hasSuffix("RN50-image2prompt.safetensors"))
        let baselines = try ExperimentGrid.read(from: Self.grids.appendingPathComponent("baselines.json"))
        #expect(Set(baselines.variants.compactMap(\.baseline)) == Set(BaselineMethod.allCases))
    }
}

@Suite("Recipes: paper and official presets")
struct RecipeTests {
    @Test("each preset sets batch, [QA] and the text extras; a config file overrides it; a grid's recipe sits under its base")
    func presets() throws {
        let paper = TrainingRecipe.paper.configuration, official = TrainingRecipe.official.configuration
        #expect(paper.batchSize == 40 && paper.qaToken == .token && paper.textExtras == .frozen && paper.weightDecay == 0)
        #expect(official.batchSize == 32 && official.qaToken == .table && official.textExtras == .official && official.weightDecay == 0)
        #expect(official.duplicates == .keepAll && paper.duplicates == nil)
        #expect(official.initStream == .continue && paper.initStream == .restart && TrainingConfiguration().initStream == .restart)
        let scratch = try ScratchFolder("recipe")
        defer { scratch.remove() }
        let file = scratch.file("c.json")
        try #"{"batchSize": 8}"#.write(to: file, atomically: true, encoding: .utf8)
        let c = try TrainingConfiguration.read(from: file, recipe: .official)
        #expect(c.batchSize == 8 && c.qaToken == .table && c.textExtras == .official)
        #expect(try TrainingConfiguration.read(from: file).qaToken == .token)

        let data = try MiniAGIQA3k(trainPrompts: 1, testPrompts: 1)
        defer { data.remove() }
        var text = try String(contentsOf: writeGrid(data, variants: #"[{"name": "a"}, {"name": "b", "config": {"qaToken": "none"}}]"#), encoding: .utf8)
        text = text.replacingOccurrences(of: #""splits": 2,"#, with: #""splits": 2, "recipe": "official","#)
        let url = data.file("official.json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        let grid = try ExperimentGrid.read(from: url)
        #expect(grid.recipe == .official)
        #expect(grid.variants[0].config?.qaToken == .table && grid.variants[0].config?.batchSize == 8)   // base batch 8 wins
        #expect(grid.variants[1].config?.qaToken == IPIQAConfiguration.QAToken.none && grid.variants[1].config?.textExtras == .official)
    }

    @Test("initStream: restart starts every split from the same new layers, continue gives each split its own (the official single stream); the CLIP weights are the same either way")
    func initStreams() throws {
        let data = try MiniAGIQA3k(trainPrompts: 2, testPrompts: 1)
        defer { data.remove() }
        func heads(_ stream: InitStream) throws -> (split0: [Float], split1: [Float], trunk: Bool) {
            var config = MiniAGIQA3k.config(epochs: 1)
            config.splits = 2
            config.initStream = stream
            let trainer = try Trainer(config: config, clip: data.clip, dataset: .agiqa3k, labels: data.labels, root: data.images,
                                      output: data.file("run-\(stream.rawValue)"), progress: ProgressReporter(style: .silent))
            let a = try trainer.makeModel(split: 0), b = try trainer.makeModel(split: 1)
            func weight(_ m: IPIQAModel) -> [Float] { m.stateDict()["head.out_proj.weight"]?.array ?? [] }
            let trunk = a.clip.visual.stateDict()["conv1.weight"]?.array == b.clip.visual.stateDict()["conv1.weight"]?.array
            return (weight(a), weight(b), trunk)
        }
        let restart = try heads(.restart), continued = try heads(.continue)
        #expect(!restart.split0.isEmpty && restart.split0 == restart.split1 && restart.trunk)
        #expect(continued.split0 != continued.split1 && continued.trunk)
    }

    @Test("a second writer of a grid folder is refused with the holder's pid while the first holds it; the folder is usable after")
    func oneWriterPerGrid() throws {
        let data = try MiniAGIQA3k(trainPrompts: 2, testPrompts: 1)
        defer { data.remove() }
        let grid = try ExperimentGrid.read(from: writeGrid(data, variants: #"[{"name": "ridge", "baseline": "ridge-image"}]"#))
        let out = data.file("grid")
        do {
            let holder = try RunLock(directory: out)
            do {
                _ = try GridRunner(grid: grid, output: out, progress: ProgressReporter(style: .silent)).run()
                Issue.record("a locked grid folder must be refused")
            } catch let e as TrainingError {
                #expect(e.localizedDescription.contains("\(getpid())") && e.localizedDescription.contains(out.path))
            }
            withExtendedLifetime(holder) {}
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("tables").path))
    }
}
