import CLIP
import Foundation
import IQATestSupport
import Imaging
import NN
import Tensor
import Testing
@testable import IQAModel
@testable import IQATraining

@Suite("Feature passes: the frozen trunk's caching arithmetic (fp32, auto, forced 16-bit)", .serialized)
struct FeaturePassTests {
    static let hasBF16 = PackedWeights.isSupported(.bf16)

    static func maps(_ store: FeatureStore, _ items: [StoreItem]) throws -> Tensor {
        guard case let .features(maps, _) = try store.reader.input(store.prepare(items)) else {
            Issue.record("not features")
            return Tensor(zeros: [1])
        }
        return maps
    }

    /// Two images, a cache root beside them, and a frozen-trunk tiny model.
    static func fixture() throws -> (ImageFolder, URL, IPIQAModel, [StoreItem]) {
        let folder = try ImageFolder(count: 2)
        let model = try TextModesTests.model(TextModesTests.config { $0.freezeTrunk = true })
        return (folder, folder.directory.appendingPathComponent("cache"), model, folder.urls.map { StoreItem(image: $0, flipped: false) })
    }

    @Test("plan names as key parts: letters and digits, one dash between")
    func keys() {
        #expect(FeaturePass.key(for: "bf16") == "bf16")
        #expect(FeaturePass.key(for: "bf16 + fp32 (stem, layer1)") == "bf16-fp32-stem-layer1")
        #expect(FeaturePass.key(for: "bf16 + bf16x3 (layer4)") == "bf16-bf16x3-layer4")
    }

    @Test("fp32 passes keep the cache's old key; bf16 passes get their own folder, stay within cosine 0.999 of fp32 per map, and leave the model in fp32")
    func bf16Store() throws {
        let (folder, root, model, items) = try Self.fixture()
        defer { folder.remove() }
        let plain = try FeatureStore(root: root, model: model, content: .features, precision: .f32)
        let fp32 = try FeatureStore(root: root, model: model, content: .features, precision: .f32, passPrecision: .forced(.fp32))
        #expect(plain.directory.path == fp32.directory.path && fp32.pass.decision == nil && fp32.pass.keySuffix.isEmpty)
        let reference = try Self.maps(fp32, items)

        guard Self.hasBF16 else {
            print("skipped (bf16 part): this CPU has no AVX-512 BF16")
            #expect(throws: PrecisionUnavailable.self) {
                try FeatureStore(root: root, model: model, content: .features, passPrecision: .forced(.bf16))
            }
            return
        }
        let pixels = try ImageBatch.load(folder.urls, size: model.config.resolution, mode: .squash)
        model.clip.visual.eval()
        let before = withoutGradients { model.clip.visual.trunk(Var(pixels)) }.value.array
        let bf16 = try FeatureStore(root: root, model: model, content: .features, precision: .f32, passPrecision: .forced(.bf16))
        #expect(bf16.directory.lastPathComponent.hasSuffix("-f32-bf16") && bf16.directory.path != fp32.directory.path)
        let maps = try Self.maps(bf16, items)
        #expect(bf16.computed == 2)
        #expect(maps.array != reference.array)                                     // it really ran in bf16
        #expect(minimumRowCosine(maps.reshaped([2, maps.count / 2]), reference.reshaped([2, reference.count / 2])) >= 0.999)
        // The model is back in fp32: the same trunk pass gives the same bits as before.
        model.clip.visual.eval()
        #expect(withoutGradients { model.clip.visual.trunk(Var(pixels)) }.value.array == before)
    }

    @Test("auto calibrates on the model: its plan names the folder, keeps the probes' bound, and is what the store ran")
    func autoStore() throws {
        let (folder, root, model, items) = try Self.fixture()
        defer { folder.remove() }
        let store = try FeatureStore(root: root, model: model, content: .features, precision: .f32, passPrecision: .auto)
        let pass = store.pass
        #expect(pass.request == .auto && pass.resolution == model.config.resolution && pass.summary.contains("auto"))
        if let decision = pass.decision {
            #expect(Self.hasBF16)
            #expect(try #require(decision.cosine) >= PrecisionCalibration(target: .trunk).probeBound)
            #expect(store.directory.lastPathComponent.hasSuffix("-f32" + pass.keySuffix) && !pass.keySuffix.isEmpty)
        } else {
            #expect(store.directory.lastPathComponent.hasSuffix("-f32"))
        }
        let reference = try Self.maps(FeatureStore(root: root, model: model, content: .features, precision: .f32), items)
        let maps = try Self.maps(store, items)
        #expect(minimumRowCosine(maps.reshaped([2, maps.count / 2]), reference.reshaped([2, reference.count / 2])) >= 0.999)
    }

    @Test("auto decides once per trunk content, side and request: a second pass reuses the decision, other weights calibrate again")
    func decisionMemo() throws {
        let (folder, _, model, _) = try Self.fixture()
        defer { folder.remove() }
        // Other tests calibrate the same fixture in this process: make this trunk's content unique first.
        let (_, weight) = try #require(model.clip.visual.namedParameters().first { !$0.0.hasPrefix("attnpool") })
        weight.value.pointer[0] += Float.random(in: 0.001...0.002)
        ParameterGeneration.bump()
        let side = model.config.resolution
        let first = try FeaturePass(clip: model.clip, request: .auto, resolution: side)
        let second = try FeaturePass(clip: model.clip, request: .auto, resolution: side)
        #expect(first.calibrated && !second.calibrated)
        #expect(second.summary == first.summary && second.chosen == first.chosen && second.keySuffix == first.keySuffix)
        #expect(try FeaturePass(clip: model.clip, request: .auto, resolution: side / 2).calibrated)   // another side
        weight.value.pointer[0] += 0.5
        ParameterGeneration.bump()
        #expect(try FeaturePass(clip: model.clip, request: .auto, resolution: side).calibrated)       // other weights
        #expect(try !FeaturePass(clip: model.clip, request: .forced(.fp32), resolution: side).calibrated)
    }

    @Test("configuration: featurePassPrecision decodes from its argument string, needs a frozen trunk, and a forced format needs the CPU's kernels")
    func configuration() throws {
        let json = #"{"freezeTrunk": true, "featurePassPrecision": "auto"}"#
        let c = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8))
        #expect(c.featurePassPrecision == .auto)
        try c.validate()
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(c)).featurePassPrecision == .auto)
        #expect(TrainingConfiguration().featurePassPrecision == .forced(.fp32))
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(TrainingConfiguration.self, from: Data(#"{"featurePassPrecision": "fp8"}"#.utf8))
        }
        var unfrozen = TrainingConfiguration()
        unfrozen.featurePassPrecision = .auto
        #expect(throws: TrainingError.self) { try unfrozen.validate() }
        var forced = TrainingConfiguration()
        forced.freezeTrunk = true
        forced.featurePassPrecision = .forced(.bf16)
        if Self.hasBF16 { try forced.validate() } else { #expect(throws: TrainingError.self) { try forced.validate() } }
    }
}
