import Foundation
import ParserFuzzing

/// libFuzzer entry: every input goes to ``FuzzEntry/zip``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzEntry.zip.run(Data(bytes: bytes, count: count))
    return 0
}
