import Tensor

extension Module {
    /// Sets every ``BatchNorm2d``'s running statistics to the batch statistics that `pass` produces (one forward pass
    /// of the tree in training mode, on calibration images), then restores each module's mode. Batch norms in training
    /// mode update `r ← (1 − m)·r + m·s` (m = momentum, s = the batch mean / unbiased variance); the statistics are
    /// recovered exactly as `s = (r_after − (1 − m)·r_before) / m`. Weights with statistics calibrated on images behave
    /// like a trained model's (channels of small variance amplify rounding), unlike random weights with the default
    /// statistics (mean 0, variance 1). Bumps ``ParameterGeneration`` (packed caches rebuild).
    ///
    /// ```swift
    /// try clip.visual.calibrateBatchNorm { _ = withoutGradients { clip.encodeImage(Var(images)) } }
    /// ```
    public func calibrateBatchNorm(_ pass: () throws -> Void) rethrows {
        let norms = namedModules().compactMap { $0.1 as? BatchNorm2d }
        let before = norms.map { ($0.runningMean.copy(), $0.runningVar.copy()) }
        let modes = namedModules().map { ($0.1, $0.1.isTraining) }
        for (m, _) in modes { m.isTraining = true }
        defer { for (m, t) in modes { m.isTraining = t } }
        try pass()
        for (bn, (mean0, var0)) in zip(norms, before) {
            let m = bn.momentum, keep = 1 - m
            for (now, old) in [(bn.runningMean, mean0), (bn.runningVar, var0)] {
                for i in 0..<now.count { now.pointer[i] = (now.pointer[i] - keep * old.pointer[i]) / m }
            }
        }
        ParameterGeneration.bump()
    }
}
