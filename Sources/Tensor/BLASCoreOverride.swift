import CBLAS
import Foundation

/// Picks OpenBLAS's kernel family for this CPU when OpenBLAS itself cannot.
///
/// OpenBLAS 0.3.21 (Debian) does not recognise recent Xeons (e.g. CPU model 207) and falls back to its generic
/// "Prescott" (SSE3) kernels: sgemm ~55 GFLOP/s on 2 cores instead of ~265 with `OPENBLAS_CORETYPE=SkylakeX`.
/// The choice is made when the library loads, so a process can only change it by re-executing itself with the
/// variable set. The rule (``decide(coreName:environment:cpuFlags:)``):
///
///     override = nil                 if IPIQA_NO_BLAS_OVERRIDE=1, OPENBLAS_CORETYPE is set, or the core is not "Prescott"
///              = "SkylakeX"          if the CPU has avx512f, avx512dq, avx512bw and avx512vl
///              = "Haswell"           if it has avx2 and fma
///
/// After the relaunch ``selfCheckPasses()`` compares a small sgemm with a naive loop; on a mismatch the process
/// relaunches once more without the override (and with `IPIQA_NO_BLAS_OVERRIDE=1`), warning on stderr.
///
/// ```swift
/// BLASCoreOverride.relaunchIfNeeded(verbose: false)   // first thing in main(); returns only if no relaunch happens
/// ```
public enum BLASCoreOverride {
    /// Environment variable that disables the override (`IPIQA_NO_BLAS_OVERRIDE=1`).
    public static let optOutVariable = "IPIQA_NO_BLAS_OVERRIDE"
    /// Environment variable OpenBLAS reads at load time.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"
    /// Set (to the core type) by the relaunch, so that the relaunched process knows to run the self-check.
    public static let relaunchMarker = "IPIQA_BLAS_RELAUNCHED"

    /// The `OPENBLAS_CORETYPE` worth relaunching with, or nil (see the type's documentation for the rule).
    public static func decide(coreName: String, environment: [String: String], cpuFlags: Set<String>) -> String? {
        if environment[optOutVariable] == "1" || environment[coreTypeVariable] != nil || coreName != "Prescott" { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512dq", "avx512bw", "avx512vl"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The override this process would relaunch with (``decide(coreName:environment:cpuFlags:)`` on the live values).
    public static func betterCoreType() -> String? {
        decide(coreName: coreName(), environment: ProcessInfo.processInfo.environment, cpuFlags: cpuFlags())
    }

    /// The CPU feature flags of the first processor in `/proc/cpuinfo` (empty where unreadable).
    public static func cpuFlags(cpuinfo path: String = "/proc/cpuinfo") -> Set<String> {
        guard let info = try? String(contentsOfFile: path, encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }

    /// The kernel family OpenBLAS selected at load time (`openblas_get_corename`), or "unknown".
    public static func coreName() -> String {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "openblas_get_corename") else { return "unknown" }
        typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?
        guard let name = unsafeBitCast(symbol, to: CoreName.self)() else { return "unknown" }
        return String(cString: name)
    }

    /// What ``relaunchIfNeeded(verbose:)`` should do in this process.
    public enum Action: Equatable, Sendable {
        /// Nothing: keep the loaded kernels.
        case keep
        /// Re-execute with `OPENBLAS_CORETYPE` set to the value.
        case relaunch(coreType: String)
        /// The relaunched process failed its self-check: re-execute without the override.
        case revert(coreType: String)
    }

    /// The action for a process: `selfCheck` is only consulted in a relaunched process.
    public static func action(coreName: String, environment: [String: String], cpuFlags: Set<String>,
                              selfCheck: () -> Bool) -> Action {
        if let marked = environment[relaunchMarker], environment[coreTypeVariable] == marked {
            return selfCheck() ? .keep : .revert(coreType: marked)
        }
        return decide(coreName: coreName, environment: environment, cpuFlags: cpuFlags).map { .relaunch(coreType: $0) } ?? .keep
    }

    /// Decides and, where needed, re-executes `/proc/self/exe` with the same arguments (returns only when the process
    /// keeps running as it is). `verbose` prints what happened on stderr; a failed self-check always warns.
    public static func relaunchIfNeeded(verbose: Bool) {
        let env = ProcessInfo.processInfo.environment
        let action = action(coreName: coreName(), environment: env, cpuFlags: cpuFlags(), selfCheck: selfCheckPasses)
        switch action {
        case .keep:
            if verbose {
                let core = coreName()
                note("OpenBLAS core \(core)" + (env[relaunchMarker] != nil ? " (relaunched with \(coreTypeVariable)=\(core))" : ""))
            }
        case .relaunch(let core):
            if verbose { note("OpenBLAS chose its generic Prescott kernels; relaunching with \(coreTypeVariable)=\(core)") }
            setenv(coreTypeVariable, core, 1)
            setenv(relaunchMarker, core, 1)
            exec()
            unsetenv(coreTypeVariable); unsetenv(relaunchMarker)
            note("note: could not relaunch with \(coreTypeVariable)=\(core); continuing with the generic kernels")
        case .revert(let core):
            note("warning: OpenBLAS with \(coreTypeVariable)=\(core) failed its sgemm self-check; relaunching with the default kernels")
            unsetenv(coreTypeVariable); unsetenv(relaunchMarker)
            setenv(optOutVariable, "1", 1)
            exec()
            note("warning: could not relaunch; results may be wrong — set \(optOutVariable)=1")
        }
    }

    /// A 37×29×53 sgemm (both transposes) against a naive double-precision loop: relative error ≤ 1e-4.
    public static func selfCheckPasses() -> Bool {
        let m = 37, n = 29, k = 53
        var rng = SeededGenerator(seed: 7)
        let a = (0..<(k * m)).map { _ in rng.nextFloat() - 0.5 }   // stored k × m (transposed)
        let b = (0..<(n * k)).map { _ in rng.nextFloat() - 0.5 }   // stored n × k (transposed)
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            sgemm(transA: true, transB: true, m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!)
        } } }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0, mag = 0.0
                for p in 0..<k { let t = Double(a[p * m + i]) * Double(b[j * k + p]); s += t; mag += abs(t) }
                worst = max(worst, abs(Double(c[i * n + j]) - s) / max(mag, 1e-6))
            }
        }
        return worst <= 1e-4
    }

    private static func exec() {
        let args = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        for p in argv { free(p) }
    }

    private static func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}
