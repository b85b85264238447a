// swift-tools-version:6.1
// IP-IQA in Swift: image–prompt quality assessment of AI-generated images on a CLIP RN50 backbone.
import PackageDescription

// `-Ounchecked` only for the numbers engine (Tensor, NN): pure kernels behind shape checks that stay in every build
// (`checkShape`, `enginePrecondition`), fed only by callers that validated their input. Every target that reads files,
// metadata or flags is built checked, so a bad value stops with an error instead of corrupting memory.
let engine: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]
let checked: [SwiftSetting] = [.unsafeFlags(["-wmo"], .when(configuration: .release))]

let package = Package(
    name: "IPIQA",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "IPIQA", targets: [
            "Tensor", "NN", "DataParallel", "Checkpoints", "CLIPTokenizer", "CLIP", "Imaging", "IQAData", "IQAMetrics",
            "IQAModel", "IQATraining", "IQAScoring", "Image2Prompt", "SynthAGI", "IPIQADemo", "IQAExperiments",
        ]),
        .executable(name: "ipiqa", targets: ["ipiqa"]),
        // The parsers' fuzzing entry points, for the libFuzzer targets of the separate package in Fuzz/.
        .library(name: "IPIQAParserFuzzing", targets: ["ParserFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The scoring service: HTTP server (without the swift-configuration trait, which it does not need),
        // its test client, Prometheus metrics, multipart parsing; AsyncHTTPClient drives `ipiqa bench serve`.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.30.0"),
    ],
    targets: [
        // System libraries (Debian -dev packages).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // LAPACK routines that OpenBLAS exports (the ridge probe's eigensolver).
        .systemLibrary(name: "CLAPACK", path: "Sources/CLAPACK"),
        // Open MPI (libopenmpi-dev) for data-parallel training, and own C wrappers over the handle macros
        // (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM) that Swift cannot import.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "CMPIShim", dependencies: ["CMPI"]),
        // Own C wrappers over libjpeg / libpng / libwebp (setjmp/longjmp error handling that Swift cannot express);
        // they include the system headers and link the libraries themselves.
        .target(name: "CImageCodecsShim", linkerSettings: [
            .linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp"),
        ]),

        // Zip / gzip / deflate reading (checkpoints, .xlsx, the BPE vocabulary).
        .target(name: "Archive", dependencies: ["CZlib"]),
        // Own AVX-512 (fp32 / bf16) packed-weight GEMM microkernels, runtime-dispatched.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // Numbers engine: storage, kernels, autodiff, threading.
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: engine),
        // Layers, parameters, optimizers, losses.
        .target(name: "NN", dependencies: ["Tensor", "CKernels"], swiftSettings: engine),
        // MPI binding and the data-parallel logic: communicators, batch shares, gradient buckets, BatchNorm step statistics.
        .target(name: "DataParallel", dependencies: ["CMPIShim", "NN", "Tensor"], swiftSettings: checked),
        // Safe checkpoint readers: pickle (no code execution), PyTorch zip, TorchScript, safetensors.
        .target(name: "Checkpoints", dependencies: ["Archive"]),
        // Exact port of CLIP's SimpleTokenizer.
        .target(name: "CLIPTokenizer", dependencies: ["Archive"], resources: [.copy("Resources")]),
        // Image decoding/encoding and PIL-compatible resampling.
        .target(name: "Imaging", dependencies: ["Archive", "CImageCodecsShim"], swiftSettings: checked),
        // CLIP ModifiedResNet + text Transformer.
        .target(name: "CLIP", dependencies: ["Archive", "NN", "Tensor", "Checkpoints", "CLIPTokenizer", "Imaging"], swiftSettings: checked),
        // Dataset readers, split protocols.
        .target(name: "IQAData", dependencies: ["Archive"], resources: [.copy("Resources")]),
        // SRCC / PLCC / KRCC / RMSE, logistic mapping, summaries, plots.
        .target(name: "IQAMetrics", dependencies: []),
        // The IP-IQA model: configuration and fusion, pools, heads, model file format, attention maps.
        .target(name: "IQAModel", dependencies: ["Archive", "CLIP", "Checkpoints", "Imaging", "NN", "Tensor"], swiftSettings: checked),
        // Training: trainer, steps, configuration, resume state, run results, data pipeline, feature store and modes.
        .target(name: "IQATraining", dependencies: [
            "Archive", "CLIP", "DataParallel", "CLIPTokenizer", "Checkpoints", "IQAData", "IQAMetrics", "IQAModel", "Imaging", "NN", "Tensor",
        ], swiftSettings: checked),
        // Scoring with a trained model: single images, CSV batches, output writers, shards and their gather over MPI.
        .target(name: "IQAScoring", dependencies: ["Archive", "CLIP", "CLIPTokenizer", "DataParallel", "IQAData", "IQAModel", "Imaging", "Tensor"],
                swiftSettings: checked),
        // Experiments: the baselines (CLIPScore, CLIP-IQA, ridge probes) and grids of ordinary training runs with their tables.
        .target(name: "IQAExperiments", dependencies: [
            "CBLAS", "CLAPACK", "CLIP", "CLIPTokenizer", "IQAData", "IQAMetrics", "IQATraining", "Imaging",
        ]),
        // Image2Prompt pre-training: similarity filter, image-tower trainer and the end-to-end pipeline.
        .target(name: "Image2Prompt", dependencies: ["Archive", "CLIP", "CLIPTokenizer", "DataParallel", "IQAData", "Imaging", "NN", "Tensor"], swiftSettings: checked),
        // Every benchmark (engine kernels, models, training modes); only the CLI imports it.
        .target(name: "Benchmarks", dependencies: [
            "CLIP", "CLIPTokenizer", "Checkpoints", "DataParallel", "IQAData", "IQAModel", "IQAScoring", "IQAService", "IQATraining", "Image2Prompt", "Imaging", "NN", "Tensor",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ],
                swiftSettings: checked),
        // The embedded synthetic AGIQA world (prompts, renderer, generators, MOS model, dataset writers).
        .target(name: "SynthAGI", dependencies: ["Archive", "Tensor"], exclude: ["World/MOS.md"], swiftSettings: checked),
        // `ipiqa demo`: the whole method on the synthetic world (tiny CLIP, Image2Prompt, IP-IQA variants, tables).
        .target(name: "IPIQADemo", dependencies: [
            "Archive", "CLIP", "CLIPTokenizer", "IQAData", "IQAMetrics", "IQAModel", "IQATraining", "Image2Prompt", "Imaging", "NN", "SynthAGI", "Tensor",
        ], swiftSettings: checked),
        // One entry point per parser of untrusted input (libFuzzer targets in Fuzz/; corpus replay in the tests).
        .target(name: "ParserFuzzing", dependencies: [
            "Archive", "Checkpoints", "CLIP", "CLIPTokenizer", "IQAData", "IQAModel", "IQATraining", "Imaging",
        ], swiftSettings: checked),
        // `ipiqa serve`: the HTTP scoring service (API, web page, request batching, limits, metrics); only the CLI imports it.
        .target(name: "IQAService", dependencies: [
            "CLIP", "IQAData", "IQAModel", "IQAScoring", "Imaging", "Tensor",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "MultipartKit", package: "multipart-kit"),
        ]),
        // Thin CLI: one file per subcommand, shared option groups; every dependency is imported by some command.
        .executableTarget(name: "ipiqa", dependencies: [
            "Archive", "Benchmarks", "CLIP", "DataParallel", "CLIPTokenizer", "IPIQADemo", "IQAData", "IQAExperiments", "IQAMetrics", "IQAModel", "IQAScoring", "IQATraining",
            "Image2Prompt", "Imaging", "IQAService", "Tensor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Tests: one target per library target. Leaf layers test themselves alone; from IQAData up, tests share the
        // fixture builders of IQATestSupport (scratch folders, pattern images, tiny CLIP / IP-IQA models, mini datasets).
        // Fixture reader, error measures and tolerances of the numerical tests (Tensor only, so the engine's tests stay light).
        .target(name: "TensorTestSupport", dependencies: ["NN", "Tensor"], path: "Tests/TensorTestSupport"),
        .target(name: "IQATestSupport", dependencies: ["CLIP", "Checkpoints", "IQAData", "IQAModel", "IQATraining", "Imaging", "NN", "Tensor", "TensorTestSupport"],
                path: "Tests/IQATestSupport"),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "CZlib"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "CKernels", "TensorTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor", "CKernels", "TensorTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Archive", "Checkpoints"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CLIPTokenizerTests", dependencies: ["CLIPTokenizer"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CLIPTests", dependencies: ["CLIP", "Checkpoints", "IQATestSupport", "NN", "Tensor", "TensorTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "IQADataTests", dependencies: ["IQAData", "IQATestSupport", "Imaging"], resources: [.copy("Fixtures")]),
        .testTarget(name: "IQAMetricsTests", dependencies: ["IQAMetrics"], resources: [.copy("Fixtures")]),
        .testTarget(name: "IQAModelTests", dependencies: [
            "CLIP", "CLIPTokenizer", "Checkpoints", "IQAModel", "IQAScoring", "IQATestSupport", "IQATraining", "Imaging", "NN", "Tensor",
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "IQATrainingTests", dependencies: [
            "CLIP", "CLIPTokenizer", "Checkpoints", "IQAData", "IQAModel", "IQATestSupport", "IQATraining", "Imaging", "NN", "Tensor",
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "IQAScoringTests", dependencies: ["CLIP", "DataParallel", "IQAModel", "IQAScoring", "IQATestSupport", "Tensor"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "IQAExperimentsTests", dependencies: [
            "CLIP", "IQAData", "IQAExperiments", "IQAMetrics", "IQAModel", "IQATestSupport", "IQATraining",
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "Image2PromptTests", dependencies: ["CLIP", "IQAData", "IQATestSupport", "Image2Prompt", "Imaging", "NN", "Tensor"]),
        .testTarget(name: "SynthAGITests", dependencies: ["SynthAGI", "Tensor", "TensorTestSupport"]),
        .testTarget(name: "IPIQADemoTests", dependencies: [
            "CLIP", "CLIPTokenizer", "IPIQADemo", "IQAModel", "IQATestSupport", "IQATraining", "Imaging", "SynthAGI", "Tensor",
        ]),
        // Every committed fuzzing corpus and crash-regression input (Fuzz/Corpus, Fuzz/Regressions) through its parser.
        .testTarget(name: "ParserFuzzingTests", dependencies: ["ParserFuzzing"]),
        .testTarget(name: "IQAServiceTests", dependencies: [
            "IQAModel", "IQAScoring", "IQAService", "IQATestSupport", "Imaging",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        // The data-parallel logic with one rank, and `mpirun -np 2 ipiqa train` against one process through the binary.
        .testTarget(name: "DataParallelTests", dependencies: ["Checkpoints", "DataParallel", "IQATestSupport", "NN", "Tensor", "TensorTestSupport"]),
        // End to end through the built `ipiqa` binary.
        .testTarget(name: "CLITests", dependencies: ["CLIP", "Checkpoints", "IQAModel", "IQATestSupport"]),
    ]
)
