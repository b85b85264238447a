// swift-tools-version:6.0
// IP-IQA in Swift: image–prompt quality assessment of AI-generated images on a CLIP RN50 backbone.
import PackageDescription

let optimized: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "IPIQA",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "IPIQA", targets: [
            "Tensor", "NN", "Checkpoints", "CLIPTokenizer", "CLIP", "Imaging", "IQAData", "IQAMetrics", "IQA", "SynthAGI",
        ]),
        .executable(name: "ipiqa", targets: ["ipiqa"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian -dev packages).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CImageCodecs", path: "Sources/CImageCodecs"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Own C wrappers over the codecs (setjmp/longjmp error handling that Swift cannot express).
        .target(name: "CImageCodecsShim", linkerSettings: [
            .linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp"),
        ]),

        // Zip / gzip / deflate reading (checkpoints, .xlsx, the BPE vocabulary).
        .target(name: "Archive", dependencies: ["CZlib"]),
        // Own AVX-512 (fp32 / bf16) packed-weight GEMM microkernels, runtime-dispatched.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // Numbers engine: storage, kernels, autodiff, threading.
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimized),
        // Layers, parameters, optimizers, losses.
        .target(name: "NN", dependencies: ["Tensor", "CKernels"], swiftSettings: optimized),
        // Safe checkpoint readers: pickle (no code execution), PyTorch zip, TorchScript, safetensors.
        .target(name: "Checkpoints", dependencies: ["Archive"]),
        // Exact port of CLIP's SimpleTokenizer.
        .target(name: "CLIPTokenizer", dependencies: ["Archive"], resources: [.copy("Resources")]),
        // Image decoding/encoding and PIL-compatible resampling.
        .target(name: "Imaging", dependencies: ["CImageCodecs", "CImageCodecsShim"], swiftSettings: optimized),
        // CLIP ModifiedResNet + text Transformer.
        .target(name: "CLIP", dependencies: ["NN", "Tensor", "Checkpoints", "CLIPTokenizer", "Imaging"], swiftSettings: optimized),
        // Dataset readers, split protocols.
        .target(name: "IQAData", dependencies: ["Archive", "Imaging"], resources: [.copy("Resources")]),
        // SRCC / PLCC / KRCC / RMSE, logistic mapping, summaries, plots.
        .target(name: "IQAMetrics", dependencies: []),
        // IP-IQA model, Image2Prompt, trainer, evaluation.
        .target(name: "IQA", dependencies: ["Archive", "CLIP", "CLIPTokenizer", "NN", "Tensor", "IQAData", "IQAMetrics", "Imaging", "Checkpoints"], swiftSettings: optimized),
        // Embedded synthetic AGIQA world for `ipiqa demo`.
        .target(name: "SynthAGI", dependencies: ["Archive", "IQA", "CLIP", "CLIPTokenizer", "IQAData", "IQAMetrics", "Imaging", "NN", "Tensor"],
                exclude: ["World/MOS.md"], swiftSettings: optimized),
        // Thin CLI.
        .executableTarget(name: "ipiqa", dependencies: [
            "IQA", "CLIP", "CLIPTokenizer", "IQAData", "IQAMetrics", "SynthAGI", "Checkpoints", "Imaging", "NN", "Tensor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "ArchiveTests", dependencies: ["Archive"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "NN"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CLIPTokenizerTests", dependencies: ["CLIPTokenizer"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CLIPTests", dependencies: ["CLIP", "Checkpoints", "Tensor", "NN"], resources: [.copy("Fixtures")]),
        .testTarget(name: "IQADataTests", dependencies: ["IQAData"], resources: [.copy("Fixtures")]),
        .testTarget(name: "IQAMetricsTests", dependencies: ["IQAMetrics"], resources: [.copy("Fixtures")]),
        .testTarget(name: "IQATests", dependencies: ["IQA", "CLIP", "CLIPTokenizer", "NN", "Tensor", "IQAData", "Imaging", "Checkpoints"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CLITests", dependencies: ["CLIP", "Checkpoints", "Imaging", "IQAData"]),
        .testTarget(name: "SynthAGITests", dependencies: ["SynthAGI", "IQA", "CLIP", "CLIPTokenizer", "Imaging", "Tensor"]),
    ]
)
