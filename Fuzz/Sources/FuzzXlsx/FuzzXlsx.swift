import Foundation
import ParserFuzzing

/// libFuzzer entry: every input goes to ``FuzzEntry/xlsx``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzEntry.xlsx.run(Data(bytes: bytes, count: count))
    return 0
}
