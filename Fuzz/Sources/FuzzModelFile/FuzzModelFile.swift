import Foundation
import ParserFuzzing

/// libFuzzer entry: every input goes to ``FuzzEntry/modelFile``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzEntry.modelFile.run(Data(bytes: bytes, count: count))
    return 0
}
