import CLIP
import Foundation
import NN
import Tensor

/// The arithmetic of a frozen image trunk's inference passes (feature caching, the demo's zero-shot and figure
/// passes): a plan chosen once, at setup, by ``CLIPModel/choosePrecision(_:resolution:calibration:upgrade:)`` on the
/// model being used, applied only while ``run(_:)`` runs, and fp32 everywhere else (training, gradient checks).
///
///     plan = fp32                                   request fp32, or auto where 16-bit misses the bound / the CPU lacks it
///     plan = argmin_cost { p : min_i cos(m_p(x_i), m_fp32(x_i)) ≥ 1 − (1 − 0.9999)/200 }    request auto (probe images x_i,
///                                                                                         layer4 maps m)
///
/// ``keySuffix`` names a 16-bit plan (empty for fp32), so caches of different arithmetic never share entries. A
/// decision is made once per process for a trunk's content, side and request: a trainer that opens one feature store
/// per split, and the demo's run keys, reuse it (``calibrated`` says whether this pass ran the calibration).
///
/// ```swift
/// let pass = try FeaturePass(clip: model.clip, request: .auto, resolution: 512)
/// let maps = pass.run { withoutGradients { model.clip.visual.trunk(Var(pixels)) } }
/// ```
public struct FeaturePass {
    public let clip: CLIPModel
    public let request: PrecisionRequest
    /// The input side the plan was calibrated for.
    public let resolution: Int
    /// The chosen plan; nil when it is fp32 everywhere (nothing to switch).
    public let decision: PrecisionDecision?
    /// What was asked for and what was chosen, e.g. `auto → bf16, probe cosine to fp32 0.9999987 …`.
    public let summary: String
    /// Whether this pass ran the calibration (false: an earlier pass on a trunk of the same content decided).
    public let calibrated: Bool

    /// Chooses the plan for inputs of side `resolution` and leaves the model in fp32. Throws
    /// `PrecisionUnavailable` where a forced 16-bit precision needs kernels this CPU lacks.
    public init(clip: CLIPModel, request: PrecisionRequest, resolution: Int) throws {
        self.clip = clip
        self.request = request
        self.resolution = resolution
        guard request != .forced(.fp32) else {
            decision = nil
            summary = "fp32"
            calibrated = false
            return
        }
        let key = "\(ContentHash.trunk(of: clip.visual).hex)-r\(resolution)-\(request)"
        let chosen: PrecisionDecision
        if let known = Self.decisions.value(for: key) {
            chosen = known
            calibrated = false
        } else {
            // The cache stores the layer4 maps: calibrate on them, not on CLIP's pooled embedding.
            chosen = try clip.choosePrecision(request, resolution: resolution, calibration: PrecisionCalibration(target: .trunk))
            clip.setPrecision(.fp32)
            Self.decisions.set(chosen, for: key)
            calibrated = true
        }
        decision = chosen.stages.values.allSatisfy { $0 == .fp32 } ? nil : chosen
        summary = chosen.summary
    }

    /// Decisions made in this process, by trunk content, side and request.
    private static let decisions = DecisionMemo()

    private final class DecisionMemo: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String: PrecisionDecision] = [:]

        func value(for key: String) -> PrecisionDecision? { lock.withLock { entries[key] } }
        func set(_ decision: PrecisionDecision, for key: String) { lock.withLock { entries[key] = decision } }
    }

    /// The same request calibrated for inputs of side `side` (this pass where the side is the same).
    public func at(resolution side: Int) throws -> FeaturePass {
        side == resolution ? self : try FeaturePass(clip: clip, request: request, resolution: side)
    }

    /// The plan's short name (`fp32`, `bf16`, `bf16 + fp32 (stem)`…).
    public var chosen: String { decision?.chosen ?? "fp32" }

    /// `-<plan>` for a 16-bit plan, empty for fp32 (``key(for:)``).
    public var keySuffix: String { decision.map { "-" + Self.key(for: $0.chosen) } ?? "" }

    /// A plan's name as a file-name part: lower-case letters and digits, other runs as one `-`
    /// (`bf16 + fp32 (stem, layer1)` → `bf16-fp32-stem-layer1`).
    public static func key(for chosen: String) -> String {
        var out = "", dash = true
        for ch in chosen.lowercased() {
            if ch.isASCII && (ch.isLetter || ch.isNumber) { out.append(ch); dash = false } else if !dash { out.append("-"); dash = true }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out
    }

    /// Runs `body` with the plan applied to the image tower, then restores fp32.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        guard let decision else { return try body() }
        clip.apply(decision)
        defer { clip.setPrecision(.fp32) }
        return try body()
    }
}
