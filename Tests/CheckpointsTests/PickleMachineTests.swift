import Archive
import Foundation
import Testing
@testable import Checkpoints

@Suite("Safe pickle machine")
struct PickleMachineTests {
    /// Runs the machine on `bytes`; returns the root and heap, or the error.
    private func run(_ bytes: [UInt8]) -> Result<(PickleValue, PickleHeap), PickleError> {
        bytes.withUnsafeBytes { raw in
            var m = PickleMachine(bytes: raw)
            do { return .success((try m.run(), m.heap)) } catch let e as PickleError { return .failure(e) } catch {
                Issue.record("non-PickleError \(error)")
                return .failure(PickleError(kind: .pickle, offset: -1, message: "\(error)"))
            }
        }
    }

    private func error(_ bytes: [UInt8]) -> PickleError? {
        if case .failure(let e) = run(bytes) { return e }
        return nil
    }

    @Test("STACK_GLOBAL (protocol 4) naming builtins.eval is refused with the name and offset")
    func stackGlobalEval() throws {
        // PROTO 4, SHORT_BINUNICODE 'builtins', SHORT_BINUNICODE 'eval', STACK_GLOBAL, …
        let p: [UInt8] = [0x80, 4, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93, 0x8C, 1, 0x31, 0x85, 0x52, 0x2E]
        let e = try #require(error(p))
        #expect(e.kind == .disallowedGlobal)
        #expect(e.message.contains("'builtins.eval'"))
        #expect(e.offset == 18)
        #expect(e.inFile("m.pt", member: "archive/data.pkl").localizedDescription
                    .hasPrefix("m.pt: archive/data.pkl: pickle references disallowed global 'builtins.eval'"))
    }

    @Test("protocol-2 and protocol-4 pickles of a small dict decode to the same values")
    func basicValues() throws {
        // pickle.dumps({'a': 1, 'b': [2.5, True, None], 'c': (300, -70000, 2**40)}, protocol=2)
        let p2: [UInt8] = [128, 2, 125, 113, 0, 40, 88, 1, 0, 0, 0, 97, 113, 1, 75, 1, 88, 1, 0, 0, 0, 98, 113, 2, 93, 113, 3, 40, 71, 64, 4, 0, 0, 0, 0, 0, 0, 136, 78, 101, 88, 1, 0, 0, 0, 99, 113, 4, 77, 44, 1, 74, 144, 238, 254, 255, 138, 6, 0, 0, 0, 0, 0, 1, 135, 113, 5, 117, 46]
        guard case .success(let (root, heap)) = run(p2), case .dict(let d) = root else { Issue.record("no dict"); return }
        let dict = heap.dicts[d]
        guard case .int(1)? = dict.value(forKey: "a") else { Issue.record("a"); return }
        guard case .list(let l)? = dict.value(forKey: "b"), case .float(2.5) = heap.sequences[l][0],
              case .bool(true) = heap.sequences[l][1], case .none = heap.sequences[l][2] else { Issue.record("b"); return }
        guard case .tuple(let t)? = dict.value(forKey: "c"), case .int(300) = heap.sequences[t][0],
              case .int(-70000) = heap.sequences[t][1], case .int(1 << 40) = heap.sequences[t][2] else { Issue.record("c"); return }
    }

    @Test("2 000 random byte strings and 150 mutations of a real data.pkl never crash the machine")
    func fuzz() throws {
        var rng = SplitMix(seed: 42)
        for _ in 0..<2000 {
            let n = Int(rng.next() % 64) + 1
            var bytes = [UInt8](repeating: 0, count: n)
            for i in 0..<n { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
            if rng.next() % 2 == 0 { bytes[0] = 0x80; if n > 1 { bytes[1] = 2 } }
            _ = run(bytes)
        }
        let zip = try ZipArchive(url: Fixtures.url("tiny_clip_jit.pt"))
        let real = [UInt8](try zip.data(named: "tiny_clip_jit/data.pkl"))
        for _ in 0..<150 {
            var bytes = real
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            if case .success(let (root, heap)) = run(bytes) {
                var c = TensorCollector(heap: heap, wrapperKeys: [])
                _ = try? c.collect(root)
            }
        }
    }

    @Test("a real TorchScript data.pkl cut at any length fails as truncated or corrupt, never succeeds")
    func cutEverywhere() throws {
        let zip = try ZipArchive(url: Fixtures.url("tiny_clip_jit.pt"))
        let real = [UInt8](try zip.data(named: "tiny_clip_jit/data.pkl"))
        guard case .success = run(real) else { Issue.record("full pickle failed"); return }
        for cut in stride(from: 0, to: real.count - 1, by: 61) + [real.count - 1] {
            let e = error(Array(real.prefix(cut)))
            #expect(e != nil, "cut at \(cut) succeeded")
        }
    }

    @Test("a dict containing itself is reported as cyclic instead of recursing forever")
    func selfContainingDict() throws {
        // EMPTY_DICT, BINPUT 0, SHORT_BINUNICODE 'a', BINGET 0, SETITEM, STOP
        let p: [UInt8] = [0x80, 2, 0x7D, 0x71, 0, 0x8C, 1, 0x61, 0x68, 0, 0x73, 0x2E]
        guard case .success(let (root, heap)) = run(p) else { Issue.record("did not parse"); return }
        var c = TensorCollector(heap: heap, wrapperKeys: [])
        #expect(throws: CollectError.self) { _ = try c.collect(root) }
    }

    @Test("200 000 nested lists parse and are freed without exhausting the stack")
    func deepNesting() {
        let n = 200_000
        var p: [UInt8] = [0x80, 2]
        p += [UInt8](repeating: 0x5D, count: n)          // EMPTY_LIST × n
        p += [UInt8](repeating: 0x61, count: n - 1)      // APPEND × (n − 1): each list into the one below
        p.append(0x2E)
        guard case .success(let (root, _)) = run(p), case .list = root else { Issue.record("deep list"); return }
    }

    @Test("memo misses, odd SETITEMS and stack underflow are errors with offsets")
    func structuralErrors() throws {
        #expect(error([0x80, 2, 0x68, 5, 0x2E])?.message.contains("memo key 5") == true)
        #expect(error([0x80, 2, 0x7D, 0x28, 0x4B, 1, 0x75, 0x2E])?.message.contains("odd number") == true)
        #expect(error([0x80, 2, 0x2E])?.message.contains("empty stack") == true)
        #expect(error([0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F])?.kind == .truncated)
        #expect(error([0x80, 2, 0x69])?.message.contains("INST") == true)
    }
}

/// Deterministic generator for the fuzz test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
