import Foundation
import NN
import Testing
@testable import CLIP
import Tensor

/// `--precision auto`: the load-time calibration that picks the image tower's arithmetic per stage. On a CPU without
/// AVX-512 BF16 the 16-bit cases print why and check the fp32 fallback instead.
@Suite("precision choice (--precision auto)")
struct PrecisionChoiceTests {
    static let hasBF16 = PackedWeights.isSupported(.bf16)

    /// A small RN-style CLIP (width 16, 64 px) with batch-norm statistics calibrated on images, eval mode.
    static func smallCLIP(width: Int = 16, resolution: Int = 64, seed: UInt64 = 3) -> CLIPModel {
        let clip = CLIPModel(config: CLIPConfiguration(embedDim: 32, imageResolution: resolution, visionLayers: [1, 1, 1, 1],
                                                       visionWidth: width, vocabSize: 300, transformerWidth: 32,
                                                       transformerHeads: 2, transformerLayers: 1), seed: seed)
        calibrate(clip, resolution: resolution)
        return clip
    }

    /// Every block's last BN gain 0.5 (OpenAI's init zeroes it) and batch-norm statistics of two images.
    static func calibrate(_ clip: CLIPModel, resolution: Int) {
        for stage in clip.visual.layers { for block in stage.items { block.bn3.weight.value.fill(0.5) } }
        let images = CLIPModel.probeImages(count: 2, resolution: resolution, seed: 500)
        clip.visual.calibrateBatchNorm { _ = withoutGradients { clip.encodeImage(Var(images)) } }
        clip.eval()
    }

    static func embed(_ clip: CLIPModel, _ images: Tensor) -> Tensor { withoutGradients { clip.encodeImage(Var(images)) }.value }

    @Test("auto: without AVX-512 BF16 (or with slow bf16) fp32 with the reason; with fast bf16, bound 0 → bf16 in every stage")
    func autoPicksFastest() throws {
        let clip = Self.smallCLIP()
        let d = try clip.choosePrecision(.auto, calibration: PrecisionCalibration(bound: 0))
        guard Self.hasBF16 else {
            print("skipped (16-bit part): this CPU has no AVX-512 BF16; checking the fp32 fallback")
            #expect(d.chosen == "fp32" && d.reason.contains("AVX-512 BF16"))
            return
        }
        let speedUp = try #require(ArithmeticRates.bf16SpeedUp)
        guard speedUp >= PrecisionCalibration().minimumBF16SpeedUp else {
            print("skipped (16-bit part): bf16 runs at \(speedUp)× fp32 on this CPU; checking the fp32 fallback")
            #expect(d.chosen == "fp32" && d.reason.contains("probe"))
            return
        }
        #expect(d.chosen == "bf16")
        #expect(d.stages.values.allSatisfy { $0 == .bf16 } && d.stages.count == 5)
        #expect(abs(d.relativeCost - 0.5) < 1e-9)
        #expect(clip.visual.stageConvolutions().joined().allSatisfy { $0.inferencePrecision == .bf16 })
    }

    @Test("auto: where bf16 is not faster than fp32 (measured by the probe), fp32 without a calibration pass, and the reason says so")
    func slowBF16() throws {
        guard Self.hasBF16, let speedUp = ArithmeticRates.bf16SpeedUp else {
            print("skipped: this CPU has no AVX-512 BF16")
            return
        }
        print("bf16 dot products run at \(speedUp)× the fp32 FMA rate on this CPU")
        #expect(speedUp > 0.1 && speedUp < 10)
        var calibration = PrecisionCalibration(bound: 0)
        calibration.minimumBF16SpeedUp = speedUp * 2
        let clip = Self.smallCLIP()
        let d = try clip.choosePrecision(.auto, calibration: calibration)
        #expect(d.chosen == "fp32" && d.cosine == nil && d.reason.contains("the fp32 rate on this CPU (probe)"))
        #expect(clip.visual.stageConvolutions().joined().allSatisfy { $0.inferencePrecision == .fp32 })
    }

    @Test("decision cache: a second auto choice for the same weights and settings is read from disk; other weights, another side or a corrupt file calibrate again")
    func decisionCache() throws {
        guard Self.hasBF16 else { print("skipped: without AVX-512 BF16 auto is fp32 without calibrating, nothing to cache"); return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("precision-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let cache = PrecisionDecisionCache(directory: folder)
        var calibration = PrecisionCalibration(bound: 0.9999999, probes: 2, margin: 10, maxRelativeCost: 10)
        calibration.minimumBF16SpeedUp = 0
        let clip = Self.smallCLIP()
        let first = try clip.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3, cache: cache)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(files.count == 1 && files[0].hasSuffix(".json") && !first.reason.contains("decided earlier"))
        _ = try clip.choosePrecision(.forced(.fp32))
        let second = try clip.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3, cache: cache)
        #expect(second.reason.contains("decided earlier on this machine"))
        #expect(second.stages == first.stages && second.chosen == first.chosen && second.cosine == first.cosine)
        let plan = ModifiedResNet.stageNames.map { first.stages[$0] }
        #expect(zip(clip.visual.stageConvolutions(), plan).allSatisfy { convs, p in convs.allSatisfy { $0.inferencePrecision == p } })
        // Another side and other weights are other entries.
        #expect(try !clip.choosePrecision(.auto, resolution: 32, calibration: calibration, upgrade: .bf16x3, cache: cache)
            .reason.contains("decided earlier"))
        let other = Self.smallCLIP(seed: 4)
        #expect(try !other.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3, cache: cache).reason.contains("decided earlier"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).count == 3)
        // A corrupt entry is a miss and is rewritten.
        try Data("{ not json".utf8).write(to: folder.appendingPathComponent(files[0]))
        #expect(try !clip.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3, cache: cache).reason.contains("decided earlier"))
        #expect(try clip.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3, cache: cache).reason.contains("decided earlier"))
        // A FIFO in the entry's place is a miss without being read (no hang), and is replaced by the new entry.
        let entry = folder.appendingPathComponent(files[0])
        try FileManager.default.removeItem(at: entry)
        #expect(mkfifo(entry.path, 0o600) == 0)
        #expect(try !clip.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3, cache: cache).reason.contains("decided earlier"))
        #expect(try clip.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3, cache: cache).reason.contains("decided earlier"))
        // An unwritable folder only costs the reuse.
        let blocked = PrecisionDecisionCache(directory: URL(fileURLWithPath: "/proc/ipiqa-no-such-folder"))
        #expect(try clip.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3, cache: blocked).chosen == first.chosen)
    }

    @Test("auto: an unreachable bound (cosine ≥ 1 + 1e-6) falls back to fp32 everywhere, embeddings bit-identical to fp32")
    func autoFallsBack() throws {
        let clip = Self.smallCLIP()
        let images = CLIPModel.probeImages(count: 2, resolution: 64, seed: 77)
        _ = try clip.choosePrecision(.forced(.fp32))
        let reference = Self.embed(clip, images)
        let d = try clip.choosePrecision(.auto, calibration: PrecisionCalibration(bound: 1 + 1e-6))
        #expect(d.chosen == "fp32")
        #expect(d.stages.values.allSatisfy { $0 == .fp32 })
        #expect(Self.embed(clip, images).array == reference.array)
    }

    @Test("auto with bf16x3 as the upgrade: the plan's reported probe cosine is what the plan gives, ≥ the bound")
    func mixedPlanIsHonest() throws {
        guard Self.hasBF16 else { print("skipped: mixed bf16 plans need AVX-512 BF16, which this CPU lacks"); return }
        let clip = Self.smallCLIP()
        var calibration = PrecisionCalibration(bound: 0.9999999, probes: 2, maxRelativeCost: 10)
        calibration.minimumBF16SpeedUp = 0   // the plan logic, whatever this CPU's bf16 speed
        let d = try clip.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3)
        let probes = CLIPModel.probeImages(count: 2, resolution: 64)
        let planned = Self.embed(clip, probes)
        _ = try clip.choosePrecision(.forced(.fp32))
        let cosine = minimumRowCosine(planned, Self.embed(clip, probes))
        if d.chosen != "fp32" {
            #expect(try #require(d.cosine) >= calibration.bound)
            #expect(abs(cosine - (d.cosine ?? 0)) < 1e-12)
        }
        clip.apply(d)
        #expect(clip.visual.stageConvolutions().map { $0[0].inferencePrecision } == ModifiedResNet.stageNames.map { d.stages[$0] })
    }

    @Test("target trunk: the plan's probe cosine is that of the flattened layer4 maps (what IP-IQA's pools read), ≥ the bound, and said in the reason")
    func trunkTarget() throws {
        guard Self.hasBF16 else { print("skipped: mixed bf16 plans need AVX-512 BF16, which this CPU lacks"); return }
        let clip = Self.smallCLIP()
        var calibration = PrecisionCalibration(bound: 0.9999999, probes: 2, margin: 10, maxRelativeCost: 10, target: .trunk)
        calibration.minimumBF16SpeedUp = 0   // the plan logic, whatever this CPU's bf16 speed
        let d = try clip.choosePrecision(.auto, calibration: calibration, upgrade: .bf16x3)
        let probes = CLIPModel.probeImages(count: 2, resolution: 64)
        func maps() -> Tensor {
            let m = withoutGradients { clip.visual.trunk(Var(probes)) }.value
            return m.reshaped([2, m.count / 2])
        }
        let planned = maps()
        _ = try clip.choosePrecision(.forced(.fp32))
        let reference = maps()
        #expect(d.chosen != "fp32" && d.reason.contains("layer4 maps"))
        #expect(try #require(d.cosine) >= calibration.bound)
        #expect(abs(minimumRowCosine(planned, reference) - (d.cosine ?? 0)) < 1e-12)
        // The embedding target measures something else: its cosine of the same plan differs.
        clip.apply(d)
        let embedded = Self.embed(clip, probes)
        _ = try clip.choosePrecision(.forced(.fp32))
        #expect(minimumRowCosine(embedded, Self.embed(clip, probes)) != d.cosine)
    }

    @Test("forced: every stage in that precision; a precision the CPU lacks is a PrecisionUnavailable error")
    func forced() throws {
        let clip = Self.smallCLIP()
        if Self.hasBF16 {
            let d = try clip.choosePrecision(.forced(.bf16x3))
            #expect(d.chosen == "bf16x3" && d.reason.contains("forced"))
            #expect(clip.visual.stageConvolutions().joined().allSatisfy { $0.inferencePrecision == .bf16x3 })
        } else {
            #expect(throws: PrecisionUnavailable(precision: .bf16)) { try clip.choosePrecision(.forced(.bf16)) }
        }
        #expect(PrecisionRequest(argument: "auto") == .auto && PrecisionRequest(argument: "bf16") == .forced(.bf16))
        #expect(PrecisionRequest(argument: "fp16") == nil)
    }

    @Test("RN50-size weights, BN calibrated on images, 224 px: bf16x3 cosine ≥ 0.99999 and auto's plan ≥ 0.9999 on held-out images")
    func rn50Accuracy() throws {
        guard Self.hasBF16 else { print("skipped: RN50 16-bit accuracy needs AVX-512 BF16, which this CPU lacks"); return }
        let clip = CLIPModel(config: .rn50, seed: 11)
        Self.calibrate(clip, resolution: 224)
        let heldOut = CLIPModel.probeImages(count: 2, resolution: 224, seed: 9001)
        _ = try clip.choosePrecision(.forced(.fp32))
        let reference = Self.embed(clip, heldOut)
        _ = try clip.choosePrecision(.forced(.bf16))
        let bf16 = minimumRowCosine(Self.embed(clip, heldOut), reference)
        _ = try clip.choosePrecision(.forced(.bf16x3))
        let split = minimumRowCosine(Self.embed(clip, heldOut), reference)
        let d = try clip.choosePrecision(.auto, resolution: 224)
        let auto = minimumRowCosine(Self.embed(clip, heldOut), reference)
        print("RN50 224 px held-out cosine to fp32: bf16 \(bf16), bf16x3 \(split), auto (\(d.chosen)) \(auto)")
        #expect(split >= 0.99999)
        #expect(auto >= 0.9999)
    }
}
