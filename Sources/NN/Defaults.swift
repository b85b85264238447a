/// Named constants of the layer library (PyTorch's defaults), in one place.
public enum NNDefaults {
    /// `nn.LayerNorm` eps.
    public static let layerNormEps: Float = 1e-5
    /// `torch.optim.Adam(W)` betas and eps.
    public static let adamBeta1 = 0.9
    public static let adamBeta2 = 0.999
    public static let adamEps = 1e-8
    /// Default learning rate of `torch.optim.Adam(W)`.
    public static let adamLearningRate = 1e-3
    /// `torch.optim.AdamW` weight decay (Adam's is 0).
    public static let adamWWeightDecay = 0.01
    /// Added to the total norm in `clip_grad_norm_`'s coefficient `maxNorm / (norm + ε)`.
    public static let clipGradNormEps = 1e-6
}
