import Foundation
import ParserFuzzing

/// libFuzzer entry: every input goes to ``FuzzEntry/checkpoint``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzEntry.checkpoint.run(Data(bytes: bytes, count: count))
    return 0
}
