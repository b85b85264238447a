import Foundation
import NN
import Tensor

/// A forced precision the CPU cannot run.
public struct PrecisionUnavailable: LocalizedError, Equatable {
    public var precision: Precision
    public init(precision: Precision) { self.precision = precision }
    public var errorDescription: String? {
        "--precision \(precision.rawValue) needs AVX-512 BF16 (vdpbf16ps), which this CPU lacks; use --precision auto or fp32"
    }
}

extension ModifiedResNet {
    /// Names of the groups whose precision ``CLIPModel/choosePrecision(_:resolution:calibration:)`` sets one by one.
    public static let stageNames = ["stem", "layer1", "layer2", "layer3", "layer4"]

    /// The convolutions of each stage (stem: conv1–3; then each `layerN` with its downsample branches).
    func stageConvolutions() -> [[Conv2d]] {
        [[conv1, conv2, conv3]] + layers.map { stage in stage.namedModules().compactMap { $0.1 as? Conv2d } }
    }

    /// Sets the packed-kernel precision of every convolution of each stage (`plan[i]` for stage `i`).
    func setStagePrecisions(_ plan: [Precision]) {
        for (convs, p) in zip(stageConvolutions(), plan) { for c in convs { c.inferencePrecision = p } }
    }

    /// Multiply-adds of each stage at input side `resolution`: Σ weights · output pixels, every convolution counted at
    /// its stage's output side (stem r/2, layerN r/2^(N+1)); strided blocks run their first convolutions at the side
    /// before, which this slightly undercounts — fine for comparing plans.
    func stageMultiplyAdds(resolution r: Int) -> [Double] {
        stageConvolutions().enumerated().map { i, convs in
            let side = Double(r) / Double(1 << (i + 1))
            return convs.reduce(0) { $0 + Double($1.weight.value.count) * side * side }
        }
    }
}

extension CLIPModel {
    /// Deterministic probe images `[count, resolution, resolution, 3]` in CLIP's normalised pixel range: smooth colour
    /// gradients and a few oriented waves (the statistics of photographs' low frequencies) plus mild seeded noise.
    /// Another `seed` gives other images (e.g. for calibrating batch-norm statistics apart from the probes).
    public static func probeImages(count: Int, resolution: Int, seed: UInt64 = 18) -> Tensor {
        let out = Tensor(zeros: [count, resolution, resolution, 3])
        var rng = SeededGenerator(seed: seed)
        let p = out.pointer, r = Double(resolution)
        for n in 0..<count {
            let k = Double(n) * 3.1 + Double(seed % 97) * 0.37  // spread the probes over low to high frequencies
            let fx = 1.5 + k * 2.3, fy = 2.7 - k * 0.9, phase = k * 1.1
            for y in 0..<resolution {
                for x in 0..<resolution {
                    let u = Double(x) / r, v = Double(y) / r
                    let wave = sin(2 * .pi * (fx * u + fy * v) + phase) * cos(2 * .pi * 3.1 * u * v)
                    for c in 0..<3 {
                        let noise = Double(Float.random(in: -1...1, using: &rng))
                        let value = 0.9 * wave + 0.8 * (u - 0.5) * Double(c - 1) + 0.6 * (v - 0.5) + 0.15 * noise
                        p[((n * resolution + y) * resolution + x) * 3 + c] = Float(value)
                    }
                }
            }
        }
        return out
    }

    /// Sets the image tower's precision as `request` asks and says which plan it took and why (the probes run in eval mode).
    ///
    /// - `.forced(p)`: every stage in `p` (throws ``PrecisionUnavailable`` where the CPU lacks the kernels); the cosine is
    ///   not measured.
    /// - `.auto`: fp32 where the CPU has no 16-bit kernels or runs them slowly (``ArithmeticRates/bf16SpeedUp`` below
    ///   ``PrecisionCalibration/minimumBF16SpeedUp``). Otherwise a calibration pass at `resolution` on
    ///   ``probeImages(count:resolution:seed:)``: all stages bf16 when every probe embedding keeps cosine ≥
    ///   ``PrecisionCalibration/probeBound`` (the bound with a safety margin) to fp32;
    ///   else the stages are ranked by the loss each causes alone in bf16, and the worst are moved to
    ///   `calibration.upgrade` (fp32 by default: on AVX-512 BF16 it costs 2 bf16 products against bf16x3's 3) one by
    ///   one until the bound holds; fp32 everywhere when that plan's estimated cost exceeds `maxRelativeCost` of fp32.
    ///   Accuracy depends on the weights (batch-norm statistics can amplify rounding), hence the check per model.
    ///   With a `cache`, a decision made earlier on this machine for the same weights and settings is reused
    ///   (``PrecisionDecisionCache``), and a new one is stored there.
    @discardableResult
    public func choosePrecision(_ request: PrecisionRequest, resolution: Int? = nil,
                                calibration: PrecisionCalibration = PrecisionCalibration(),
                                upgrade: Precision = .fp32, cache: PrecisionDecisionCache? = nil) throws -> PrecisionDecision {
        let names = ModifiedResNet.stageNames
        let r = resolution ?? config.imageResolution
        let macs = visual.stageMultiplyAdds(resolution: r), total = macs.reduce(0, +)
        func cost(_ plan: [Precision]) -> Double {
            zip(macs, plan).reduce(0) { $0 + $1.0 * $1.1.relativeCost } / max(2 * total, 1)
        }
        func decision(_ plan: [Precision], cosine: Double?, reason: String) -> PrecisionDecision {
            visual.setStagePrecisions(plan)
            let distinct = Array(Set(plan)).sorted { $0.relativeCost < $1.relativeCost }
            var chosen = distinct[0].rawValue
            for p in distinct.dropFirst() {
                let stages = zip(names, plan).filter { $0.1 == p }.map(\.0).joined(separator: ", ")
                chosen += " + \(p.rawValue) (\(stages))"
            }
            let measured = cosine == nil || calibration.target == .embedding ? "" : " (cosines of the layer4 maps)"
            return PrecisionDecision(requested: request.description, chosen: chosen,
                                     stages: Dictionary(uniqueKeysWithValues: zip(names, plan)), cosine: cosine,
                                     bound: calibration.bound, relativeCost: cost(plan), reason: reason + measured)
        }
        let fp32Plan = [Precision](repeating: .fp32, count: names.count)
        switch request {
        case .forced(let p):
            guard PackedWeights.isSupported(p) else {
                if p == .fp32 { return decision(fp32Plan, cosine: nil, reason: "forced (OpenBLAS: no AVX-512F)") }
                throw PrecisionUnavailable(precision: p)
            }
            return decision([Precision](repeating: p, count: names.count), cosine: nil, reason: "forced by --precision")
        case .auto:
            break
        }
        guard PackedWeights.isSupported(.bf16), let speedUp = ArithmeticRates.bf16SpeedUp else {
            return decision(fp32Plan, cosine: nil, reason: "this CPU has no AVX-512 BF16 (vdpbf16ps): fp32")
        }
        guard speedUp >= calibration.minimumBF16SpeedUp else {
            return decision(fp32Plan, cosine: nil, reason: String(format: "bf16 dot products run at %.2f× the fp32 rate on "
                + "this CPU (probe), below %.2f×: fp32", speedUp, calibration.minimumBF16SpeedUp))
        }
        // The calibration pass (the probes through fp32, all-bf16, each stage alone, then mixed plans).
        func calibrate() -> PrecisionDecision {
            let images = Self.probeImages(count: max(1, calibration.probes), resolution: r)
            let target = calibration.probeBound
            // The packed kernels serve eval-mode passes only: measure in eval mode, then restore the modes.
            let modes = visual.namedModules().map { ($0.1, $0.1.isTraining) }
            visual.eval()
            defer { for (m, t) in modes { m.isTraining = t } }
            func embed(_ plan: [Precision]) -> Tensor {
                visual.setStagePrecisions(plan)
                switch calibration.target {
                case .embedding:
                    return withoutGradients { encodeImage(Var(images)) }.value
                case .trunk:
                    let maps = withoutGradients { visual.trunk(Var(images)) }.value
                    return maps.reshaped([maps.shape[0], maps.count / max(maps.shape[0], 1)])
                }
            }
            let reference = embed(fp32Plan)
            func cosine(_ plan: [Precision]) -> Double { minimumRowCosine(embed(plan), reference) }
            let bf16Plan = [Precision](repeating: .bf16, count: names.count)
            let all = cosine(bf16Plan)
            if all >= target {
                return decision(bf16Plan, cosine: all, reason: "fastest path of this CPU (AVX-512 BF16) and within the bound")
            }
            // Rank the stages by the loss each causes alone, then move the worst out of bf16 until the bound holds.
            let losses = names.indices.map { i -> Double in
                var plan = fp32Plan
                plan[i] = .bf16
                return 1 - cosine(plan)
            }
            var plan = bf16Plan
            var best = all
            for i in names.indices.sorted(by: { losses[$0] > losses[$1] }) {
                plan[i] = upgrade
                if cost(plan) > calibration.maxRelativeCost { break }
                best = cosine(plan)
                if best >= target {
                    return decision(plan, cosine: best, reason: String(format: "all-bf16 probe cosine %.7f missed the probes' bound %.9g; ", all, target)
                        + "the stages that lose most run in \(upgrade.rawValue)")
                }
            }
            return decision(fp32Plan, cosine: 1, reason: String(format: "bf16 probe cosine %.7f (best affordable mixed plan %.7f) "
                + "missed the probes' bound %.9g: fp32", all, best, target))
        }

        let key = cache.map { _ in PrecisionDecisionCache.key(self, resolution: r, calibration: calibration, upgrade: upgrade,
                                                              bf16Fast: true) }
        if let cache, let key, var known = cache.decision(for: key) {
            visual.setStagePrecisions(names.map { known.stages[$0] ?? .fp32 })
            known.reason += " (decided earlier on this machine: \(cache.url(for: key).path))"
            return known
        }
        let chosen = calibrate()
        if let cache, let key { cache.store(chosen, for: key) }
        return chosen
    }

}

/// Smallest cosine similarity between matching rows of two `[N, D]` tensors (1 for identical directions).
public func minimumRowCosine(_ a: Tensor, _ b: Tensor) -> Double {
    let d = a.shape.last ?? 1, rows = a.count / max(d, 1)
    var worst = 1.0
    for r in 0..<rows {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for j in 0..<d {
            let x = Double(a.pointer[r * d + j]), y = Double(b.pointer[r * d + j])
            ab += x * y; aa += x * x; bb += y * y
        }
        worst = min(worst, ab / max((aa * bb).squareRoot(), .leastNormalMagnitude))
    }
    return worst
}
