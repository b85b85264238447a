import Foundation

/// Writes a ``SynthIQASet`` in the AGIQA-3k layout that the AGIQA-3k reader takes: one folder holding
/// `<generator>_<nnn>.png` images and `data.csv` with header
/// `name,prompt,adj1,adj2,style,mos_quality,std_quality,mos_align,std_align` (RFC-4180 quoting; adj1, adj2 and
/// style empty). Also writes `coupled.csv` (`name,prompt,mos,std`: the AGIQA-1k-like coupled score, readable as a
/// generic CSV dataset) and `world.json` (seed, generators and each image's errors and clean scores, for
/// reporting). Atomic and idempotent: a folder whose completion marker matches is skipped; one holding another
/// dataset is refused.
///
/// ```swift
/// let set = try SynthWorld(seed: 42).makeIQASet()
/// try AGIQA3kWriter.write(set, to: URL(fileURLWithPath: "synth/agiqa"), writePNG: ImageCodec.writePNG)
/// ```
public enum AGIQA3kWriter {
    public static let header = "name,prompt,adj1,adj2,style,mos_quality,std_quality,mos_align,std_align"
    public static let coupledHeader = "name,prompt,mos,std"

    @discardableResult
    public static func write(_ set: SynthIQASet, to folder: URL,
                             writePNG: (SynthImage, URL) throws -> Void) throws -> WriteOutcome {
        let fingerprint = "synthagi-agiqa3k seed=\(set.seed) prompts=\(set.scenes.count) generators=\(set.generators.count) "
            + "size=\(set.imageSize) config=\(set.configFingerprint)"
        if try FileOutput.begin(folder, fingerprint: fingerprint) { return .skipped }
        for sample in set.samples {
            try FileOutput.writeImage(sample.image, to: folder.appendingPathComponent(sample.name), writePNG: writePNG)
        }
        try FileOutput.writeAtomically(Data(dataCSV(set).utf8), to: folder.appendingPathComponent("data.csv"))
        try FileOutput.writeAtomically(Data(coupledCSV(set).utf8), to: folder.appendingPathComponent("coupled.csv"))
        try FileOutput.writeAtomically(try manifest(set), to: folder.appendingPathComponent("world.json"))
        try FileOutput.finish(folder, fingerprint: fingerprint)
        return .written(images: set.samples.count)
    }

    /// The `data.csv` text (LF line ends, trailing newline).
    public static func dataCSV(_ set: SynthIQASet) -> String {
        var lines = [header]
        for s in set.samples {
            lines.append([s.name, FileOutput.csvField(s.prompt), "", "", "",
                          FileOutput.number(s.mos.quality), FileOutput.number(s.mos.qualityStd),
                          FileOutput.number(s.mos.alignment), FileOutput.number(s.mos.alignmentStd)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `coupled.csv` text.
    public static func coupledCSV(_ set: SynthIQASet) -> String {
        var lines = [coupledHeader]
        for s in set.samples {
            lines.append([s.name, FileOutput.csvField(s.prompt), FileOutput.number(s.mos.coupled),
                          FileOutput.number(s.mos.coupledStd)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    struct Manifest: Codable {
        struct Image: Codable {
            let name: String
            let promptID: Int
            let generator: String
            let alignmentErrors: [AlignmentError]
            let quality: [QualityDegradation]
            let scores: MOSScores
        }
        let seed: UInt64
        let imageSize: Int
        let generators: [GeneratorProfile]
        let prompts: [String]
        let images: [Image]
    }

    static func manifest(_ set: SynthIQASet) throws -> Data {
        let m = Manifest(seed: set.seed, imageSize: set.imageSize, generators: set.generators, prompts: set.prompts,
                         images: set.samples.map {
                             Manifest.Image(name: $0.name, promptID: $0.promptID, generator: $0.generatorName,
                                            alignmentErrors: $0.alignmentErrors, quality: $0.quality, scores: $0.mos)
                         })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        do { return try encoder.encode(m) } catch {
            throw SynthError.writeFailed(path: "world.json", reason: error.localizedDescription)
        }
    }
}
