import Foundation
import ParserFuzzing

/// libFuzzer entry: every input goes to ``FuzzEntry/jsonConfig``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzEntry.jsonConfig.run(Data(bytes: bytes, count: count))
    return 0
}
