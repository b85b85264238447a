import Foundation
import Testing
@testable import IQAData

/// `--dataset aigciqa2023` reads the database as published (MOS in `DATA/MOS/mosz{1,2,3}.mat`, the image index and
/// prompts in two header-less workbooks) on a miniature of that layout (Scripts/fixtures_matfile.py: 2 prompts × 4
/// images, MOS `10k + i` for image `i` of file `k`, exact).
@Suite("AIGCIQA2023 in its published layout")
struct AIGCIQA2023PublishedTests {
    static func folder() throws -> URL { try Fixtures.url("MAT/aigciqa2023") }

    static func check(_ ds: Dataset) {
        #expect(ds.samples.map(\.image) == (0..<8).map { "\($0).png" })
        #expect(ds.samples.map(\.prompt) == Array(repeating: "a corgi", count: 4) + Array(repeating: "a girl", count: 4))
        #expect(ds.samples.map(\.group) == ds.samples.map(\.prompt))
        #expect(ds.samples.enumerated().allSatisfy { $0.element.scores == [10 + Double($0.offset), 20 + Double($0.offset), 30 + Double($0.offset)] })
        #expect(ds.scoreNames == ["quality", "authenticity", "correspondence"])
        #expect(ds.warnings.contains { $0.message.contains("8 images, expected 2400 for aigciqa2023") })
    }

    @Test("the database folder, its DATA/MOS folder and one .mat file all load the same samples")
    func loadsPublishedLayout() throws {
        let root = try Self.folder()
        for labels in [root, root.appendingPathComponent("DATA/MOS"), root.appendingPathComponent("DATA/MOS/mosz1.mat")] {
            Self.check(try DatasetLoader.load(.aigciqa2023, labels: labels, root: root))
        }
    }

    @Test("a missing workbook names the file and where to get it; a missing MOS file names it")
    func missingFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aigc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: try Self.folder(), to: dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("pic-index.xlsx"))
        let noIndex = try Fixtures.dataError { _ = try DatasetLoader.load(.aigciqa2023, labels: dir) }.localizedDescription
        #expect(noIndex.contains("pic-index.xlsx") && noIndex.contains("github.com/wangjiarui153/AIGCIQA2023"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("DATA/MOS/mosz3.mat"))
        let noMOS = try Fixtures.dataError { _ = try DatasetLoader.load(.aigciqa2023, labels: dir) }.localizedDescription
        #expect(noMOS.contains("mosz3.mat") && noMOS.contains("missing"))
        let emptyFolder = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: emptyFolder, withIntermediateDirectories: true)
        let empty = try Fixtures.dataError { _ = try DatasetLoader.load(.aigciqa2023, labels: emptyFolder) }
        #expect(empty.localizedDescription.contains("no mosz1.mat"))
    }

    @Test("MOS files of different lengths, or a non-MAT file in their place, are refused by name")
    func inconsistentFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aigc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: try Self.folder(), to: dir)
        let mos3 = dir.appendingPathComponent("DATA/MOS/mosz3.mat")
        try FileManager.default.removeItem(at: mos3)
        try FileManager.default.copyItem(at: try Fixtures.url("MAT/plain.mat"), to: mos3)
        let short = try Fixtures.dataError { _ = try DatasetLoader.load(.aigciqa2023, labels: dir) }.localizedDescription
        #expect(short.contains("mosz3.mat: not a readable MAT-file: 5 values, but") && short.contains("has 8"))
        try Data("name,prompt\n".utf8).write(to: mos3)
        let csv = try Fixtures.dataError { _ = try DatasetLoader.load(.aigciqa2023, labels: dir) }.localizedDescription
        #expect(csv.contains("mosz3.mat: not a readable MAT-file"))
    }

    @Test("image names of pic-index.xlsx are parsed as PPP-k.png")
    func promptNumbers() {
        #expect(AIGCIQA2023Published.promptNumber("099-4.png") == 99)
        #expect(AIGCIQA2023Published.promptNumber("000-1.PNG") == 0)
        for bad in ["099.png", "a-1.png", "1-2-3.png", "-1.png", "12-1.jpg", ""] {
            #expect(AIGCIQA2023Published.promptNumber(bad) == nil, "\(bad)")
        }
    }
}
