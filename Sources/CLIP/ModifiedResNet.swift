import NN
import Tensor

/// Port of openai/CLIP `clip/model.py` `ModifiedResNet`, channels-last. Differences from torchvision's ResNet
/// (as OpenAI's docstring lists): a 3-convolution stem with an average pool instead of a max pool, anti-aliased
/// strided blocks (``Bottleneck``), and an attention pool (``AttentionPool2d``) instead of global average pooling.
///
/// ```swift
/// let visual = ModifiedResNet(config: .rn50, rng: &rng)
/// let (features, embedding) = visual.forward(images)   // images [N, 224, 224, 3] → [N, 7, 7, 2048], [N, 1024]
/// ```
public final class ModifiedResNet: Module {
    public var isTraining = true
    public let conv1: Conv2d, bn1: BatchNorm2d
    public let conv2: Conv2d, bn2: BatchNorm2d
    public let conv3: Conv2d, bn3: BatchNorm2d
    public let layers: [ModuleList<Bottleneck>]
    public let attnpool: AttentionPool2d

    public init(config: CLIPConfiguration, rng: inout SeededGenerator) {
        let width = config.visionWidth
        conv1 = Conv2d(3, width / 2, kernel: 3, stride: 2, padding: 1, bias: false, rng: &rng); bn1 = BatchNorm2d(width / 2)
        conv2 = Conv2d(width / 2, width / 2, kernel: 3, padding: 1, bias: false, rng: &rng); bn2 = BatchNorm2d(width / 2)
        conv3 = Conv2d(width / 2, width, kernel: 3, padding: 1, bias: false, rng: &rng); bn3 = BatchNorm2d(width)
        var inplanes = width
        var stages: [ModuleList<Bottleneck>] = []
        for (i, blocks) in config.visionLayers.enumerated() {
            let planes = width << i
            var list = [Bottleneck(inplanes: inplanes, planes: planes, stride: i == 0 ? 1 : 2, rng: &rng)]
            inplanes = planes * Bottleneck.expansion
            for _ in 1..<max(blocks, 1) { list.append(Bottleneck(inplanes: inplanes, planes: planes, rng: &rng)) }
            stages.append(ModuleList(list))
        }
        layers = stages
        attnpool = AttentionPool2d(grid: config.nativeGrid, embedDim: width * 32, heads: config.visionHeads,
                                   outputDim: config.embedDim, rng: &rng)
    }

    public var children: [(String, any Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("conv3", conv3), ("bn3", bn3)]
            + layers.enumerated().map { ("layer\($0.offset + 1)", $0.element as any Module) }
            + [("attnpool", attnpool)]
    }

    /// Stem and the four stages: images `[N, H, W, 3]` → layer4 feature map `[N, H/32, W/32, 32·width]`.
    public func trunk(_ images: Var) -> Var {
        var x: Var
        if let stem = bandedStem(images) {
            x = Var(stem)
        } else {
            x = convBatchNorm(images, conv: conv1, bn: bn1, relu: true)
            x = convBatchNorm(x, conv: conv2, bn: bn2, relu: true)
            x = convBatchNorm(x, conv: conv3, bn: bn3, relu: true)
            x = avgPool2d(x, kernel: 2)
        }
        for stage in layers { for block in stage.items { x = block(x) } }
        return x
    }

    /// The stem band by band (``convChainFused(_:units:pool:bandBytes:minimumBandPixels:)``: same result, its maps stay in cache) when
    /// each of its units would run fused; nil otherwise.
    private func bandedStem(_ images: Var) -> Tensor? {
        var units: [FusedConvUnit] = []
        for (conv, bn) in [(conv1, bn1), (conv2, bn2), (conv3, bn3)] {
            guard let u = fusedInferenceUnit(images, conv: conv, bn: bn, relu: true) else { return nil }
            units.append(u)
        }
        return convChainFused(images.value, units: units, pool: 2)
    }

    /// The layer4 feature map and the attention-pooled embedding.
    public func forward(_ images: Var) -> (features: Var, embedding: Var) {
        let features = trunk(images)
        return (features, attnpool(features))
    }

    public func callAsFunction(_ images: Var) -> Var { forward(images).embedding }
}
