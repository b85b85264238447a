import Foundation
import Tensor

/// What a user asks for with `--precision`: `auto` (calibrate at load and take the fastest plan that keeps the
/// accuracy bound, ``CLIPModel/choosePrecision(_:resolution:calibration:)``) or one ``Precision`` for every layer.
///
/// ```swift
/// let decision = clip.choosePrecision(.auto, resolution: 224)   // e.g. bf16, cosine 0.999995 to fp32
/// ```
public enum PrecisionRequest: Equatable, Sendable, CustomStringConvertible {
    case auto
    case forced(Precision)

    /// `auto`, `fp32`, `bf16` or `bf16x3`; nil otherwise.
    public init?(argument: String) {
        if argument == "auto" { self = .auto } else if let p = Precision(rawValue: argument) { self = .forced(p) } else { return nil }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .forced(let p): return p.rawValue
        }
    }

    /// Every value the CLI accepts.
    public static let allArguments = ["auto"] + Precision.allCases.map(\.rawValue)
}

/// Stored as its argument string (`"auto"`, `"fp32"`, …); anything else is a decoding error naming the values.
extension PrecisionRequest: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let request = PrecisionRequest(argument: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "precision must be one of \(PrecisionRequest.allArguments.joined(separator: ", ")) (got \(text))"))
        }
        self = request
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// The image-encoder precision chosen for a model, and why: one ``Precision`` per stage of the ResNet
/// (`stem`, `layer1`…`layer4`; the attention pool stays fp32), the measured cosine of the chosen plan's embeddings of
/// the probe images to fp32, and the bound it had to meet.
///
///     chosen = fastest plan (Σ_stage flops_s · cost(precision_s)) with min_i cos(e_plan(x_i), e_fp32(x_i)) ≥ bound
public struct PrecisionDecision: Codable, Sendable, Equatable {
    /// `auto` or the forced precision.
    public var requested: String
    /// A short name of the plan: `fp32`, `bf16`, `bf16x3`, or `bf16 + bf16x3 (stem, layer1)`.
    public var chosen: String
    /// The precision of each stage, in order `stem, layer1, …`.
    public var stages: [String: Precision]
    /// Smallest cosine of the plan's probe embeddings to fp32 (nil where nothing was measured).
    public var cosine: Double?
    /// The bound `auto` required.
    public var bound: Double
    /// Estimated work of the plan relative to fp32 (1 = fp32; bf16 alone ≈ 0.5).
    public var relativeCost: Double
    /// Why this plan.
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case requested, chosen, stages, cosine, bound, reason, relativeCost = "relative_cost"
    }

    /// One line for `--verbose` and the bench's table.
    public var summary: String {
        let cos = cosine.map { String(format: ", probe cosine to fp32 %.7f", $0) } ?? ""
        return "precision \(requested) → \(chosen)\(cos) (bound \(bound)); \(reason)"
    }
}

/// What the calibration of ``PrecisionRequest/auto`` compares between a plan and fp32, per probe image.
///
///     embedding   encodeImage(x)                  [E]             (CLIP embeddings: embed, CLIPScore)
///     trunk       the layer4 map trunk(x), flattened [g²·C]      (IP-IQA: its own pools read the map; feature caches)
public enum CalibrationTarget: String, Sendable, Codable {
    case embedding
    case trunk

    /// How much stricter than the promised bound the probes are held (``PrecisionCalibration/margin``).
    ///
    /// - `embedding`: 10 (held-out images lost up to 20× the probes' `1 − cos` on RN50 weights calibrated on images).
    /// - `trunk`: 200, because the maps feed a trained score head, which amplifies what the cosine hides. Measured on
    ///   six trained demo models (480 test images each): a plan whose probes kept `1 − cos = 8.5e-6` on the layer4
    ///   maps moved single scores by up to 0.75 % of the MOS range (0.08–0.75 % by model). A score moves about as
    ///   `√(1 − cos)`, so keeping every score within 0.2 % of the range needs the probes at `1 − cos ≲ 6e-7`; with
    ///   the default bound 0.9999 the margin 200 asks for `5e-7`.
    public var defaultMargin: Double {
        switch self {
        case .embedding: 10
        case .trunk: 200
        }
    }
}

/// Settings of the load-time calibration of ``PrecisionRequest/auto``.
public struct PrecisionCalibration: Sendable {
    /// What is compared (the output the caller consumes).
    public var target: CalibrationTarget = .embedding
    /// Smallest cosine of an embedding to its fp32 embedding that the chosen plan must keep.
    public var bound: Double = 0.9999
    /// Deterministic probe images (``CLIPModel/probeImages(count:resolution:seed:)``, from low to high spatial
    /// frequencies).
    public var probes: Int = 4
    /// The probes must keep `1 − cos ≤ (1 − bound) / margin`: images other than the probes lose more (measured on RN50
    /// weights with batch-norm statistics calibrated on images: up to 20× the probes' loss), so the probes get a
    /// stricter bound than the one promised. Default: ``CalibrationTarget/defaultMargin``.
    public var margin: Double = 10
    /// Largest estimated cost of a 16-bit plan relative to fp32 (above it fp32 is as fast and exact).
    public var maxRelativeCost: Double = 0.9
    /// Smallest measured bf16 speed-up over fp32 (``ArithmeticRates/bf16SpeedUp``) for which bf16 plans are tried at
    /// all; below it `auto` keeps fp32 without a calibration pass. The estimates above assume 2×.
    public var minimumBF16SpeedUp: Double = ArithmeticRates.worthwhileBF16SpeedUp

    public init(bound: Double = 0.9999, probes: Int = 4, margin: Double? = nil, maxRelativeCost: Double = 0.9,
                target: CalibrationTarget = .embedding) {
        self.bound = bound; self.probes = probes; self.margin = margin ?? target.defaultMargin
        self.maxRelativeCost = maxRelativeCost
        self.target = target
    }

    /// The cosine the probes must keep: `1 − (1 − bound) / margin`.
    public var probeBound: Double { 1 - (1 - bound) / max(margin, 1) }
}
