// swift-tools-version:6.0
// libFuzzer targets, one per parser of untrusted input (see docs/safety.md). Built and run by `make fuzz`:
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
// Each target calls one `FuzzEntry` of the main package's `ParserFuzzing` library; the same entries replay the
// corpora (Corpus/<target>) and crash regressions (Regressions/<target>) in the main test suite.
import PackageDescription

let targets = ["FuzzCheckpoint", "FuzzModelFile", "FuzzZip", "FuzzXlsx", "FuzzCsv", "FuzzJsonConfig", "FuzzImage", "FuzzTokenizer", "FuzzMat"]

let package = Package(
    name: "IPIQAFuzz",
    dependencies: [.package(name: "IPIQA", path: "..")],
    targets: [
        .target(name: "FuzzDriver", dependencies: [.product(name: "IPIQAParserFuzzing", package: "IPIQA")], path: "Sources/FuzzDriver"),
    ] + targets.map { name in
        .executableTarget(name: name, dependencies: ["FuzzDriver"], path: "Sources/\(name)")
    }
)
