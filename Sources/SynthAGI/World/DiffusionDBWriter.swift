import Foundation

/// Writes a corpus in the DiffusionDB layout: `part-000001/`, `part-000002/`, … each holding up to `partSize`
/// images and its `part-00000k.json` (as in an unzipped DiffusionDB part), mapping file name →
/// `{"p": prompt, "se": seed, "c": cfg, "st": steps, "sa": sampler, "mismatched": Bool, "generator": name?}`.
/// The root also gets `corpus.json` (spec, seed, names of mismatched pairs). A part is complete once its JSON
/// exists (written last, atomically); a resumed write skips complete parts; the root completion marker is written
/// last of all. Large corpora are rendered part by part, never held in memory whole.
///
/// ```swift
/// let world = try SynthWorld(seed: 42)
/// try DiffusionDBWriter.write(world: world, spec: CorpusSpec(count: 5_000, style: .agi, mismatchFraction: 0.1),
///                             to: URL(fileURLWithPath: "synth/diffusiondb"), writePNG: ImageCodec.writePNG)
/// ```
public enum DiffusionDBWriter {
    /// DiffusionDB's fixed generation settings recorded for every image.
    public static let guidanceScale = 7.0
    public static let steps = 50
    public static let sampler = "k_lms"

    /// One JSON entry.
    ///
    /// ```swift
    /// let entries = try JSONDecoder().decode([String: DiffusionDBWriter.Entry].self, from: data)
    /// ```
    public struct Entry: Codable, Sendable, Equatable {
        public let p: String
        public let se: Int
        public let c: Double
        public let st: Int
        public let sa: String
        public let mismatched: Bool
        public let generator: String?
    }

    struct CorpusInfo: Codable {
        let seed: UInt64
        let spec: CorpusSpec
        let partSize: Int
        let parts: [String]
        let mismatched: [String]
    }

    /// Renders and writes `spec` from `world`, one part at a time.
    @discardableResult
    public static func write(world: SynthWorld, spec: CorpusSpec, to folder: URL, partSize: Int = 1000,
                             writePNG: (SynthImage, URL) throws -> Void) throws -> WriteOutcome {
        try write(seed: world.seed, configFingerprint: world.config.fingerprint, spec: spec, to: folder, partSize: partSize,
                  pairs: { try world.corpusPairs(spec, range: $0) }, writePNG: writePNG)
    }

    /// Writes an already made corpus.
    @discardableResult
    public static func write(_ corpus: SynthCorpus, to folder: URL, partSize: Int = 1000,
                             writePNG: (SynthImage, URL) throws -> Void) throws -> WriteOutcome {
        try write(seed: corpus.seed, configFingerprint: corpus.configFingerprint, spec: corpus.spec, to: folder,
                  partSize: partSize, pairs: { Array(corpus.pairs[$0]) }, writePNG: writePNG)
    }

    /// `part-00000k` for part number k (1-based).
    public static func partName(_ k: Int) -> String {
        let digits = String(k)
        return "part-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    static func write(seed: UInt64, configFingerprint: String, spec: CorpusSpec, to folder: URL, partSize: Int,
                      pairs: (Range<Int>) throws -> [CorpusPair], writePNG: (SynthImage, URL) throws -> Void) throws -> WriteOutcome {
        guard partSize >= 1 else {
            throw SynthError.invalidArgument(name: "partSize", value: "\(partSize)", reason: "must be ≥ 1")
        }
        let fingerprint = "synthagi-diffusiondb seed=\(seed) count=\(spec.count) style=\(spec.style.rawValue) "
            + "mismatch=\(spec.mismatchFraction) part=\(partSize) config=\(configFingerprint)"
        if try FileOutput.begin(folder, fingerprint: fingerprint) { return .skipped }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var written = 0
        var partNames: [String] = []
        var mismatchedNames: [String] = []
        let partCount = (spec.count + partSize - 1) / partSize
        for k in 1...max(1, partCount) {
            let name = partName(k)
            partNames.append(name)
            let partFolder = folder.appendingPathComponent(name)
            let jsonURL = partFolder.appendingPathComponent(name + ".json")
            let range = ((k - 1) * partSize)..<min(spec.count, k * partSize)
            if let data = FileManager.default.contents(atPath: jsonURL.path),
               let entries = try? JSONDecoder().decode([String: Entry].self, from: data), entries.count == range.count {
                mismatchedNames += entries.filter(\.value.mismatched).map { name + "/" + $0.key }.sorted()
                continue
            }
            do {
                try FileManager.default.createDirectory(at: partFolder, withIntermediateDirectories: true)
            } catch {
                throw SynthError.writeFailed(path: partFolder.path, reason: error.localizedDescription)
            }
            var entries: [String: Entry] = [:]
            for pair in try pairs(range) {
                try FileOutput.writeImage(pair.image, to: partFolder.appendingPathComponent(pair.name), writePNG: writePNG)
                entries[pair.name] = Entry(p: pair.prompt, se: pair.imageSeed, c: guidanceScale, st: steps, sa: sampler,
                                           mismatched: pair.mismatched, generator: pair.generatorName)
                if pair.mismatched { mismatchedNames.append(name + "/" + pair.name) }
                written += 1
            }
            let data: Data
            do { data = try encoder.encode(entries) } catch {
                throw SynthError.writeFailed(path: jsonURL.path, reason: error.localizedDescription)
            }
            try FileOutput.writeAtomically(data, to: jsonURL)
        }
        let info = CorpusInfo(seed: seed, spec: spec, partSize: partSize, parts: partNames, mismatched: mismatchedNames)
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.sortedKeys, .prettyPrinted]
        let infoData: Data
        do { infoData = try pretty.encode(info) } catch {
            throw SynthError.writeFailed(path: folder.appendingPathComponent("corpus.json").path, reason: error.localizedDescription)
        }
        try FileOutput.writeAtomically(infoData, to: folder.appendingPathComponent("corpus.json"))
        try FileOutput.finish(folder, fingerprint: fingerprint)
        return .written(images: written)
    }
}
