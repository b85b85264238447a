import Foundation
import ParserFuzzing

// The libFuzzer driver shared by every target: `runFuzzer(.zip)` starts libFuzzer (from the executable's own entry
// point, since SwiftPM renames `main`) with every input going to that `FuzzEntry`.

nonisolated(unsafe) private var selectedEntry: FuzzEntry = .checkpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    selectedEntry.run(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// Runs libFuzzer with the process's arguments, feeding every input to `entry`; exits with libFuzzer's status.
public func runFuzzer(_ entry: FuzzEntry) -> Never {
    selectedEntry = entry
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
}
