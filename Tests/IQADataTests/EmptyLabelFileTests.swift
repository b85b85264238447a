import Foundation
import Testing
import IQATestSupport
@testable import IQAData

@Suite("Label files without data")
struct EmptyLabelFileTests {
    @Test("a label file with a header and no rows is an error naming the file, for CSV and AGIQA-3k layouts")
    func headerOnly() throws {
        let scratch = try ScratchFolder("header-only")
        defer { scratch.remove() }
        let csv = scratch.file("labels.csv")
        try "image,prompt,mos\n".write(to: csv, atomically: true, encoding: .utf8)
        let e = try Fixtures.dataError { _ = try DatasetLoader.load(.csv, labels: csv, csvColumns: CSVColumns(scores: ["mos"])) }
        #expect(e == .noRows(file: csv.path))
        #expect(e.localizedDescription.contains(csv.path) && e.localizedDescription.contains("no data rows"))
        let agiqa = scratch.file("data.csv")
        try "name,prompt,adj1,adj2,style,mos_quality,std_quality,mos_align,std_align\n".write(to: agiqa, atomically: true, encoding: .utf8)
        #expect(try Fixtures.dataError { _ = try DatasetLoader.load(.agiqa3k, labels: agiqa) } == .noRows(file: agiqa.path))
    }

    @Test("a folder or a device given as the label file is described in words")
    func notAFile() throws {
        let scratch = try ScratchFolder("labels-folder")
        defer { scratch.remove() }
        let e = try Fixtures.dataError { _ = try DatasetLoader.load(.csv, labels: scratch.url, csvColumns: CSVColumns(scores: ["mos"])) }
        #expect(e.localizedDescription.contains(scratch.url.path) && e.localizedDescription.contains("is a folder"))
        #expect(!e.localizedDescription.contains("NSCocoaErrorDomain"))
    }
}
