import Foundation
import Testing
@testable import SynthAGI

func temporaryFolder(_ tag: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("synthagi-\(tag)-\(UUID().uuidString)")
}

/// Minimal RFC-4180 split of one line (enough for the writer's output: no embedded newlines).
func csvFields(_ line: String) -> [String] {
    var fields: [String] = [], field = "", quoted = false
    var chars = Array(line)[...]
    while let c = chars.popFirst() {
        if quoted {
            if c == "\"" {
                if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
            } else { field.append(c) }
        } else if c == "\"" { quoted = true } else if c == "," { fields.append(field); field = "" } else { field.append(c) }
    }
    fields.append(field)
    return fields
}

@Suite("SynthAGI writers: AGIQA-3k and DiffusionDB layouts, atomic and idempotent")
struct WriterTests {
    @Test("AGIQA-3k layout: <generator>_<nnn>.png images, data.csv header and quoted rows, marker, skip on rerun")
    func agiqa3k() throws {
        let folder = temporaryFolder("agiqa")
        defer { try? FileManager.default.removeItem(at: folder) }
        let set = try SynthWorld(seed: 8).makeIQASet(prompts: 4, generators: 3)
        let outcome = try AGIQA3kWriter.write(set, to: folder, writePNG: writePPM)
        #expect(outcome == .written(images: 12))
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(files.filter { $0.hasSuffix(".png") }.count == 12)
        #expect(!files.contains { $0.contains(".partial") } && files.contains(".synthagi-complete"))
        #expect(!files.contains(".synthagi-pending"))
        #expect(files.contains("sketchgan_000.png") && files.contains("blockdiff_003.png"))
        let csv = try String(contentsOf: folder.appendingPathComponent("data.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines.first == "name,prompt,adj1,adj2,style,mos_quality,std_quality,mos_align,std_align")
        #expect(lines.count == 13)
        for (line, sample) in zip(lines.dropFirst(), set.samples) {
            let f = csvFields(line)
            #expect(f.count == 9 && f[0] == sample.name && f[1] == sample.prompt && f[2...4].allSatisfy(\.isEmpty))
            #expect(abs((Double(f[5]) ?? -1) - sample.mos.quality) < 1e-6 && abs((Double(f[7]) ?? -1) - sample.mos.alignment) < 1e-6)
            // The AGIQA-3k split takes the integer after the last "_".
            let stem = f[0].split(separator: ".")[0]
            #expect(Int(stem.split(separator: "_").last ?? "") == sample.promptID)
        }
        #expect(lines[1].contains("\""))   // prompts hold a comma, so they are quoted
        let coupled = try String(contentsOf: folder.appendingPathComponent("coupled.csv"), encoding: .utf8)
        #expect(coupled.hasPrefix("name,prompt,mos,std\n"))
        let image = try Data(contentsOf: folder.appendingPathComponent(set.samples[0].name))
        #expect(image.suffix(64 * 64 * 3) == Data(set.samples[0].image.pixels))

        #expect(try AGIQA3kWriter.write(set, to: folder, writePNG: writePPM) == .skipped)
        let other = try SynthWorld(seed: 9).makeIQASet(prompts: 4, generators: 3)
        #expect(throws: SynthError.self) { try AGIQA3kWriter.write(other, to: folder, writePNG: writePPM) }
    }

    @Test("DiffusionDB layout: part-00000k/ folders with images and part-00000k.json {p, se, …}; resume rewrites only missing parts")
    func diffusionDB() throws {
        let folder = temporaryFolder("ddb")
        defer { try? FileManager.default.removeItem(at: folder) }
        let world = try SynthWorld(seed: 4)
        let spec = CorpusSpec(count: 5, style: .agi, mismatchFraction: 0.5)
        #expect(try DiffusionDBWriter.write(world: world, spec: spec, to: folder, partSize: 2, writePNG: writePPM) == .written(images: 5))
        let corpus = try world.makeCorpus(count: 5, style: .agi, mismatchFraction: 0.5)
        var seen = 0
        for k in 1...3 {
            let part = DiffusionDBWriter.partName(k)
            #expect(part == String(format: "part-%06d", k))
            let data = try Data(contentsOf: folder.appendingPathComponent(part).appendingPathComponent(part + ".json"))
            let raw = try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] ?? [:]
            #expect(raw.count == (k == 3 ? 1 : 2))
            for (name, entry) in raw {
                guard let pair = corpus.pairs.first(where: { $0.name == name }) else { Issue.record("unknown \(name)"); continue }
                #expect(entry["p"] as? String == pair.prompt && entry["se"] as? Int == pair.imageSeed)
                #expect(entry["mismatched"] as? Bool == pair.mismatched)
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(part).appendingPathComponent(name).path))
                seen += 1
            }
        }
        #expect(seen == 5)
        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("corpus.json"))) as? [String: Any]
        #expect((info?["mismatched"] as? [String])?.count == corpus.mismatchedIndices.count)

        // Same corpus again: skipped. Interrupted write (part 2 JSON and the marker gone): only part 2 is redone.
        #expect(try DiffusionDBWriter.write(corpus, to: folder, partSize: 2, writePNG: writePPM) == .skipped)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("part-000002/part-000002.json"))
        try FileManager.default.removeItem(at: folder.appendingPathComponent(".synthagi-complete"))
        let fingerprint = "synthagi-diffusiondb seed=4 count=5 style=agi mismatch=0.5 part=2 config=\(world.config.fingerprint)"
        try Data((fingerprint + "\n").utf8).write(to: folder.appendingPathComponent(".synthagi-pending"))
        #expect(try DiffusionDBWriter.write(world: world, spec: spec, to: folder, partSize: 2, writePNG: writePPM) == .written(images: 2))
        #expect(throws: SynthError.self) {
            try DiffusionDBWriter.write(world: world, spec: CorpusSpec(count: 6, style: .agi), to: folder, writePNG: writePPM)
        }
    }

    @Test("a failing encoder leaves no partial file and reports the path")
    func failingEncoder() throws {
        struct Boom: Error {}
        let folder = temporaryFolder("fail")
        defer { try? FileManager.default.removeItem(at: folder) }
        let set = try SynthWorld(seed: 1).makeIQASet(prompts: 1, generators: 1)
        do {
            try AGIQA3kWriter.write(set, to: folder) { _, url in
                try Data([1, 2, 3]).write(to: url)
                throw Boom()
            }
            Issue.record("expected an error")
        } catch let error as SynthError {
            #expect(error.localizedDescription.contains("sketchgan_000.png"))
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(!files.contains { $0.hasSuffix(".png") })
    }
}
