import NN
import Tensor

extension CLIPModel {
    /// Inference precision of the image tower's convolutions (eval mode, no gradient recording): the engine's
    /// packed-weight kernels in `precision` (weights packed once, on first use). fp32 is the default on AVX-512 CPUs;
    /// bf16 rounds weights and activations to bfloat16 (round-to-nearest-even) per GEMM with fp32 accumulation.
    /// Returns false (nothing changed) where the CPU lacks the kernels (bf16: AVX-512 BF16). Training is unaffected.
    ///
    /// ```swift
    /// clip.eval()
    /// clip.setPrecision(.bf16)
    /// let e = withoutGradients { clip.encodeImage(Var(pixels)) }
    /// ```
    @discardableResult
    public func setPrecision(_ precision: Precision) -> Bool { visual.prepareInference(precision: precision) }

    /// Applies a plan from ``choosePrecision(_:resolution:calibration:upgrade:)`` again (e.g. after a temporary switch
    /// to fp32). Stages the plan does not name keep their precision.
    public func apply(_ decision: PrecisionDecision) {
        let plan = ModifiedResNet.stageNames.map { decision.stages[$0] }
        for (convs, p) in zip(visual.stageConvolutions(), plan) { if let p { for c in convs { c.inferencePrecision = p } } }
    }
}
