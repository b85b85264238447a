import Foundation

/// Cache keys of the demo's artefacts: a 16-hex-digit FNV-1a hash of the sorted-key JSON of every setting the
/// artefact depends on (including upstream artefacts' keys, the thread count and OpenBLAS's kernel family, which fix
/// the floating-point order of trained weights) and ``DemoConstants/cacheVersion`` (raised when the engine's numerics
/// or the training code change).
///
/// ```swift
/// let keys = DemoKeys(config, blasCore: "SkylakeX")
/// keys.clip   // "3f1c…" → ipiqa-demo/clip-3f1c….safetensors
/// ```
public struct DemoKeys: Sendable, Equatable {
    public let iqaSet: String
    public let naturalCorpus: String
    public let clip: String
    public let agiCorpus: String
    public let image2prompt: String

    public init(_ c: DemoConfiguration, blasCore: String) {
        iqaSet = Self.hash(["seed": "\(c.seed)", "world": Self.json(c.world), "prompts": "\(c.prompts)", "generators": "\(c.generators)"])
        naturalCorpus = Self.hash(["seed": "\(c.seed)", "world": Self.json(c.world), "pairs": "\(c.naturalPairs)"])
        clip = Self.hash(["version": "\(DemoConstants.cacheVersion)", "corpus": naturalCorpus, "arch": Self.json(c.architecture), "train": Self.json(c.contrastive),
                          "threads": "\(c.threads)", "blas": blasCore])
        agiCorpus = Self.hash(["seed": "\(c.seed)", "world": Self.json(c.world), "pairs": "\(c.agiPairs)", "mismatch": "\(c.agiMismatch)"])
        image2prompt = Self.hash(["clip": clip, "corpus": agiCorpus, "train": Self.json(c.image2prompt),
                                  "keep": "\(c.image2promptKeepFraction)", "threads": "\(c.threads)", "blas": blasCore])
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    static func hash(_ parts: [String: String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for (k, v) in parts.sorted(by: { $0.key < $1.key }) {
            for byte in (k + "=" + v + "\n").utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
