import NN
import Tensor

/// Port of openai/CLIP `clip/model.py` `Bottleneck`: 1×1 → 3×3 → (avg pool when strided) → 1×1 convolutions with
/// batch norm, plus a residual branch. Differences from torchvision's: every convolution has stride 1 and striding
/// is an average pool ("anti-aliased stride") — after the 3×3 convolution in the main path, and before the 1×1
/// convolution in the downsample branch. Channels-last here (`[N, H, W, C]`).
public final class Bottleneck: Module {
    public static let expansion = 4
    public var isTraining = true
    public let conv1: Conv2d, bn1: BatchNorm2d
    public let conv2: Conv2d, bn2: BatchNorm2d
    public let conv3: Conv2d, bn3: BatchNorm2d
    public let downsample: Downsample?
    public let stride: Int

    /// The residual branch: `AvgPool2d(stride)` (key `-1`, no parameters), 1×1 conv (`0`), batch norm (`1`).
    public final class Downsample: Module {
        public var isTraining = true
        public let conv: Conv2d, bn: BatchNorm2d
        public let stride: Int
        init(_ inplanes: Int, _ outplanes: Int, stride: Int, rng: inout SeededGenerator) {
            conv = Conv2d(inplanes, outplanes, kernel: 1, bias: false, rng: &rng)
            bn = BatchNorm2d(outplanes)
            self.stride = stride
        }
        public var children: [(String, any Module)] { [("0", conv), ("1", bn)] }
        func callAsFunction(_ x: Var) -> Var {
            convBatchNorm(stride > 1 ? avgPool2d(x, kernel: stride) : x, conv: conv, bn: bn, relu: false)
        }
    }

    public init(inplanes: Int, planes: Int, stride: Int = 1, rng: inout SeededGenerator) {
        conv1 = Conv2d(inplanes, planes, kernel: 1, bias: false, rng: &rng); bn1 = BatchNorm2d(planes)
        conv2 = Conv2d(planes, planes, kernel: 3, padding: 1, bias: false, rng: &rng); bn2 = BatchNorm2d(planes)
        conv3 = Conv2d(planes, planes * Self.expansion, kernel: 1, bias: false, rng: &rng); bn3 = BatchNorm2d(planes * Self.expansion)
        self.stride = stride
        if stride > 1 || inplanes != planes * Self.expansion {
            downsample = Downsample(inplanes, planes * Self.expansion, stride: stride, rng: &rng)
        } else {
            downsample = nil
        }
    }

    public var children: [(String, any Module)] {
        var c: [(String, any Module)] = [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("conv3", conv3), ("bn3", bn3)]
        if let downsample { c.append(("downsample", downsample)) }
        return c
    }

    /// `relu(bn3(conv3(pool(relu(bn2(conv2(relu(bn1(conv1(x))))))))) + identity)`; each conv + BN (+ residual) + ReLU
    /// is one fused pass in eval mode without gradients (``convBatchNorm(_:conv:bn:residual:relu:)``).
    public func callAsFunction(_ x: Var) -> Var {
        if let y = bandedInference(x) { return Var(y) }
        var out = convBatchNorm(x, conv: conv1, bn: bn1, relu: true)
        out = convBatchNorm(out, conv: conv2, bn: bn2, relu: true)
        if stride > 1 { out = avgPool2d(out, kernel: stride) }
        let identity = downsample.map { $0(x) } ?? x
        return convBatchNorm(out, conv: conv3, bn: bn3, residual: identity, relu: true)
    }

    /// The whole block band by band (``bottleneckFused(_:conv1:conv2:conv3:downsample:stride:bandBytes:minimumBandPixels:)``: same
    /// result, less memory traffic) when every unit would run fused; nil otherwise.
    private func bandedInference(_ x: Var) -> Tensor? {
        guard downsample?.stride ?? stride == stride,
              let u1 = fusedInferenceUnit(x, conv: conv1, bn: bn1, relu: true),
              let u2 = fusedInferenceUnit(x, conv: conv2, bn: bn2, relu: true),
              let u3 = fusedInferenceUnit(x, conv: conv3, bn: bn3, relu: true) else { return nil }
        var shortcut: FusedConvUnit?
        if let downsample {
            guard let u = fusedInferenceUnit(x, conv: downsample.conv, bn: downsample.bn, relu: false) else { return nil }
            shortcut = u
        }
        return bottleneckFused(x.value, conv1: u1, conv2: u2, conv3: u3, downsample: shortcut, stride: stride)
    }
}
