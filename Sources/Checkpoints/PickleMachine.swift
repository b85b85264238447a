import Foundation

/// A pickle virtual machine that builds data and never runs code (protocols 0–5, the opcodes PyTorch and
/// TorchScript checkpoints use; see ``PickleOpcode``). Follows CPython's `Lib/pickle.py` `_Unpickler`
/// semantics, but: globals resolve only through the allow-list in ``PickleGlobal/resolve(module:name:)``;
/// REDUCE / NEWOBJ / BUILD on those are interpreted as data constructors (``PickleMachine`` + Reduce);
/// persistent ids must be PyTorch storage ids; every read is bounds-checked and sizes are capped
/// (``CheckpointLimits``), so corrupt or hostile input gives a ``PickleError`` with the byte offset.
///
/// ```swift
/// var machine = PickleMachine(bytes: buffer)
/// let root = try machine.run()       // then read containers from machine.heap
/// ```
struct PickleMachine {
    let bytes: UnsafeRawBufferPointer
    var heap = PickleHeap()
    private(set) var position = 0
    /// Offset of the opcode being executed (for messages).
    private(set) var opcodeOffset = 0
    private var currentOpcode = "?"
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func fail(_ message: String, _ kind: CheckpointError.Kind = .pickle) -> PickleError {
        PickleError(kind: kind, offset: opcodeOffset, message: message)
    }

    // MARK: - Byte reads (all bounds-checked)

    private mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - position else {
            if currentOpcode == "opcode" { throw fail("pickle ends without a STOP opcode (truncated or corrupt)", .truncated) }
            throw fail("pickle ends early while reading \(currentOpcode) (needs \(n) bytes, \(bytes.count - position) left; truncated or corrupt)", .truncated)
        }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    private mutating func u8() throws -> UInt8 { try take(1)[0] }

    private mutating func uint(_ n: Int) throws -> UInt64 {
        let b = try take(n)
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(b[i]) << (8 * UInt64(i)) }
        return v
    }

    /// A length prefix of `n` bytes that must fit in what is left of the pickle.
    private mutating func length(_ n: Int) throws -> Int {
        let v = try uint(n)
        guard v <= UInt64(bytes.count - position) else {
            throw fail("\(currentOpcode) claims \(v) bytes but only \(bytes.count - position) remain (truncated or corrupt)", .truncated)
        }
        return Int(v)
    }

    private mutating func line() throws -> String {
        var end = position
        while end < bytes.count, bytes[end] != 0x0A {
            end += 1
            if end - position > CheckpointLimits.maxLineLength { throw fail("\(currentOpcode) line longer than \(CheckpointLimits.maxLineLength) bytes") }
        }
        guard end < bytes.count else { throw fail("pickle ends early inside a \(currentOpcode) text line (truncated)", .truncated) }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
        position = end + 1
        return s
    }

    /// Python 2 `str` bytes, decoded as Latin-1 (each byte one code point).
    private func latin1(_ b: UnsafeRawBufferPointer) -> String {
        String(String.UnicodeScalarView(b.map { Unicode.Scalar($0) }))
    }

    private mutating func text(_ n: Int) throws -> String { String(decoding: try take(n), as: UTF8.self) }

    /// Little-endian two's-complement integer of `n` bytes (LONG1 / LONG4).
    private mutating func signedInteger(_ n: Int) throws -> Int {
        let b = try take(n)
        if n == 0 { return 0 }
        let negative = b[n - 1] & 0x80 != 0
        // Bytes beyond the 8th must be pure sign extension.
        if n > 8 {
            for i in 8..<n where b[i] != (negative ? 0xFF : 0) { throw fail("integer wider than 64 bits in \(currentOpcode)") }
        }
        var v: UInt64 = negative ? ~0 : 0
        for i in 0..<min(n, 8) {
            v &= ~(UInt64(0xFF) << (8 * UInt64(i)))
            v |= UInt64(b[i]) << (8 * UInt64(i))
        }
        let result = Int64(bitPattern: v)
        if n > 8, (result < 0) != negative { throw fail("integer wider than 64 bits in \(currentOpcode)") }
        return Int(result)
    }

    // MARK: - Stack

    mutating func push(_ v: PickleValue) throws {
        guard stack.count + memo.count < CheckpointLimits.maxPickleItems else { throw fail("pickle stack/memo exceeds \(CheckpointLimits.maxPickleItems) items") }
        stack.append(v)
    }

    mutating func pop() throws -> PickleValue {
        if let m = marks.last, stack.count <= m { throw fail("\(currentOpcode) pops across a MARK (corrupt pickle)") }
        guard let v = stack.popLast() else { throw fail("\(currentOpcode) on an empty stack (corrupt pickle)") }
        return v
    }

    private func top() throws -> PickleValue {
        if let m = marks.last, stack.count <= m { throw fail("\(currentOpcode) needs a value above the MARK (corrupt pickle)") }
        guard let v = stack.last else { throw fail("\(currentOpcode) on an empty stack (corrupt pickle)") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("\(currentOpcode) without a MARK (corrupt pickle)") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func memoPut(_ index: Int) throws {
        guard index >= 0 else { throw fail("negative memo index \(index)") }
        memo[index] = try top()
    }

    private mutating func memoGet(_ index: Int) throws {
        guard let v = memo[index] else { throw fail("memo key \(index) was never stored (corrupt pickle)") }
        try push(v)
    }

    // MARK: - Run

    /// Executes opcodes until STOP and returns the pickled root value.
    mutating func run() throws -> PickleValue {
        while true {
            opcodeOffset = position
            currentOpcode = "opcode"
            let byte = try u8()
            guard let op = PickleOpcode(rawValue: byte) else {
                throw fail("unknown pickle opcode 0x\(String(byte, radix: 16, uppercase: false))", .unknownOpcode)
            }
            currentOpcode = op.name
            if op == .stop {
                let root = try pop()
                return root
            }
            try execute(op)
        }
    }

    private mutating func execute(_ op: PickleOpcode) throws {
        switch op {
        case .proto:
            let p = try u8()
            guard p <= 5 else { throw fail("unsupported pickle protocol \(p)") }
        case .frame: _ = try uint(8)
        case .mark: marks.append(stack.count)
        case .pop:
            if let m = marks.last, stack.count == m { marks.removeLast() } else { _ = try pop() }
        case .popMark: _ = try popMark()
        case .dup: try push(try top())
        case .none: try push(.none)
        case .newTrue: try push(.bool(true))
        case .newFalse: try push(.bool(false))
        case .binInt: try push(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))
        case .binInt1: try push(.int(Int(try u8())))
        case .binInt2: try push(.int(Int(try uint(2))))
        case .long1: try push(.int(try signedInteger(Int(try u8()))))
        case .long4:
            let n = Int(Int32(truncatingIfNeeded: try uint(4)))
            guard n >= 0 else { throw fail("negative LONG4 length") }
            try push(.int(try signedInteger(n)))
        case .int:
            let s = try line()
            if s == "01" { try push(.bool(true)) } else if s == "00" { try push(.bool(false)) } else {
                guard let v = Int(s) else { throw fail("bad INT literal '\(s.prefix(40))'") }
                try push(.int(v))
            }
        case .long:
            var s = try line()
            if s.hasSuffix("L") { s.removeLast() }
            guard let v = Int(s) else { throw fail("LONG literal '\(s.prefix(40))' is not a 64-bit integer") }
            try push(.int(v))
        case .float:
            let s = try line()
            guard let v = Double(s) else { throw fail("bad FLOAT literal '\(s.prefix(40))'") }
            try push(.float(v))
        case .binFloat:
            try push(.float(Double(bitPattern: UInt64(bigEndian: try uint(8)))))   // big-endian on the wire
        case .binUnicode: try push(.string(try text(try length(4))))
        case .shortBinUnicode: try push(.string(try text(try length(1))))
        case .binUnicode8: try push(.string(try text(try length(8))))
        case .binString: try push(.string(latin1(try take(try length(4)))))
        case .shortBinString: try push(.string(latin1(try take(try length(1)))))
        case .binBytes: try push(.bytes(Array(try take(try length(4)))))
        case .shortBinBytes: try push(.bytes(Array(try take(try length(1)))))
        case .binBytes8, .byteArray8: try push(.bytes(Array(try take(try length(8)))))
        case .emptyTuple: try push(.tuple(heap.newSequence([])))
        case .tuple1: let a = try pop(); try push(.tuple(heap.newSequence([a])))
        case .tuple2: let b = try pop(), a = try pop(); try push(.tuple(heap.newSequence([a, b])))
        case .tuple3: let c = try pop(), b = try pop(), a = try pop(); try push(.tuple(heap.newSequence([a, b, c])))
        case .tuple: try push(.tuple(heap.newSequence(try popMark())))
        case .emptyList, .emptySet: try push(.list(heap.newSequence([])))
        case .list: try push(.list(heap.newSequence(try popMark())))
        case .frozenSet: try push(.tuple(heap.newSequence(try popMark())))
        case .emptyDict: try push(.dict(heap.newDict()))
        case .dict:
            let items = try popMark()
            let d = heap.newDict()
            try setItems(d, items)
            try push(.dict(d))
        case .append:
            let v = try pop()
            try appendItems(to: try top(), [v])
        case .appends, .addItems:
            let items = try popMark()
            try appendItems(to: try top(), items)
        case .setItem:
            let v = try pop(), k = try pop()
            let target = try top()
            guard case .dict(let d) = target else { throw fail("SETITEM on a \(target.kindName), not a dict") }
            heap.dicts[d].set(k, v)
        case .setItems:
            let items = try popMark()
            let target = try top()
            guard case .dict(let d) = target else { throw fail("SETITEMS on a \(target.kindName), not a dict") }
            try setItems(d, items)
        case .binPut: try memoPut(Int(try u8()))
        case .longBinPut: try memoPut(Int(try uint(4)))
        case .memoize: try memoPut(memo.count)
        case .put:
            let s = try line()
            guard let i = Int(s) else { throw fail("bad PUT index '\(s.prefix(40))'") }
            try memoPut(i)
        case .binGet: try memoGet(Int(try u8()))
        case .longBinGet: try memoGet(Int(try uint(4)))
        case .get:
            let s = try line()
            guard let i = Int(s) else { throw fail("bad GET index '\(s.prefix(40))'") }
            try memoGet(i)
        case .global:
            let module = try line(), name = try line()
            try push(.global(try resolveGlobal(module: module, name: name)))
        case .stackGlobal:
            let nameValue = try pop(), moduleValue = try pop()
            guard case .string(let name) = nameValue, case .string(let module) = moduleValue else {
                throw fail("STACK_GLOBAL needs two strings, got \(moduleValue.kindName) and \(nameValue.kindName)")
            }
            try push(.global(try resolveGlobal(module: module, name: name)))
        case .binPersID: try push(try persistentLoad(try pop()))
        case .reduce:
            let args = try pop(), callable = try pop()
            try push(try reduce(callable, args))
        case .newObj:
            let args = try pop(), cls = try pop()
            try push(try newObject(cls, args))
        case .newObjEx:
            _ = try pop()   // kwargs
            let args = try pop(), cls = try pop()
            try push(try newObject(cls, args))
        case .build:
            let state = try pop()
            try build(try top(), state: state)
        case .stop, .persID, .string, .unicode, .inst, .obj, .ext1, .ext2, .ext4, .nextBuffer, .readonlyBuffer:
            throw fail("unsupported pickle opcode 0x\(String(op.rawValue, radix: 16)) (\(op.name))", .unknownOpcode)
        }
    }

    func resolveGlobal(module: String, name: String) throws -> PickleGlobal {
        guard let g = PickleGlobal.resolve(module: module, name: name) else {
            throw fail("pickle references disallowed global '\(module).\(name)' (\(currentOpcode)); only tensor/state-dict constructors are allowed", .disallowedGlobal)
        }
        return g
    }

    private mutating func appendItems(to target: PickleValue, _ items: [PickleValue]) throws {
        guard case .list(let l) = target else { throw fail("\(currentOpcode) on a \(target.kindName), not a list") }
        heap.sequences[l].append(contentsOf: items)
    }

    private mutating func setItems(_ d: Int, _ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw fail("\(currentOpcode) with an odd number (\(items.count)) of keys and values") }
        var i = 0
        while i < items.count { heap.dicts[d].set(items[i], items[i + 1]); i += 2 }
    }
}
