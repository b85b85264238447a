import Foundation
import Testing
@testable import Checkpoints

@Suite("safetensors writer and float conversions")
struct SafetensorsWriterTests {
    private func sample() throws -> [(String, shape: [Int], values: [Float])] {
        let sd = try CheckpointLoader.load(Fixtures.url("tiny_text_f32.safetensors"))
        return sd.keys.map { ($0, shape: sd.tensors[$0]!.shape, values: sd.tensors[$0]!.values) }
    }

    @Test("F32 round trip is exact; F16 and BF16 round trips equal the torch-written F16/BF16 files bit for bit")
    func roundTrip() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tensors = try sample()
        for (dtype, reference) in [(DType.f32, "tiny_text_f32"), (.f16, "tiny_text_f16"), (.bf16, "tiny_text_bf16")] {
            let url = dir.appendingPathComponent("out-\(dtype).safetensors")
            try SafetensorsWriter.write(tensors, dtype: dtype, metadata: ["format": "pt", "q\"uote": "a\\b\n"], to: url)
            let back = try CheckpointLoader.load(url)
            let torch = try CheckpointLoader.load(Fixtures.url(reference + ".safetensors"))
            #expect(back.keys == tensors.map(\.0))
            #expect(back.metadata == ["format": "pt", "q\"uote": "a\\b\n"])
            for (name, shape, _) in tensors {
                #expect(back.tensors[name]?.shape == shape)
                #expect(back.tensors[name]?.dtype == dtype)
                #expect(back.tensors[name]?.values == torch.tensors[name]?.values, "\(dtype) \(name)")
            }
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int
            let header = try Data(contentsOf: url).prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            #expect(header % 8 == 0)
            #expect(size == 8 + header + tensors.reduce(0) { $0 + $1.values.count * dtype.byteSize })
        }
    }

    @Test("writes are atomic: no temp file remains after success or failure, a failed write leaves the old file")
    func atomicity() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("w.safetensors")
        try SafetensorsWriter.write([("a", shape: [2], values: [1, 2])], to: url)
        try SafetensorsWriter.write([("a", shape: [3], values: [1, 2, 3])], to: url)     // overwrite
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["w.safetensors"])
        #expect(try CheckpointLoader.load(url).tensors["a"]?.values == [1, 2, 3])
        #expect(throws: CheckpointError.self) {
            try SafetensorsWriter.write([("a", shape: [2, 2], values: [1, 2, 3])], to: url)
        }
        #expect(throws: CheckpointError.self) {
            try SafetensorsWriter.write([("a", shape: [1], values: [1]), ("a", shape: [1], values: [2])], to: url)
        }
        #expect(throws: CheckpointError.self) { try SafetensorsWriter.write([], dtype: .i64, to: url) }
        #expect(throws: CheckpointError.self) {
            try SafetensorsWriter.write([("a", shape: [Int.max, 3], values: [1])], to: url)    // overflowing shape
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["w.safetensors"])
        #expect(try CheckpointLoader.load(url).tensors["a"]?.values == [1, 2, 3])
        let missingDir = dir.appendingPathComponent("no/such/dir/x.safetensors")
        expectCheckpointError(.write, mentioning: [missingDir.path]) {
            try SafetensorsWriter.write([("a", shape: [1], values: [1])], to: missingDir)
        }
    }

    @Test("half conversion: every finite half survives half→float→half; rounding, overflow and subnormal cases")
    func halfConversion() {
        var mismatches: [UInt16] = []
        for h in UInt16.min...UInt16.max {
            let f = FloatConversion.halfToFloat(h)
            let back = FloatConversion.floatToHalf(f)
            if f.isNaN ? (back & 0x7C00 != 0x7C00 || back & 0x3FF == 0) : back != h { mismatches.append(h) }
        }
        #expect(mismatches.isEmpty, "first mismatching halves: \(mismatches.prefix(5))")
        #expect(FloatConversion.halfToFloat(0x0001) == 0x1p-24)
        #expect(FloatConversion.halfToFloat(0x03FF) == 1023 * 0x1p-24)
        #expect(FloatConversion.halfToFloat(0x7BFF) == 65504)
        #expect(FloatConversion.halfToFloat(0x7C00) == .infinity)
        #expect(FloatConversion.floatToHalf(65519) == 0x7BFF)        // below the rounding midpoint
        #expect(FloatConversion.floatToHalf(65520) == 0x7C00)        // midpoint rounds to even → Inf
        #expect(FloatConversion.floatToHalf(1 + 0x1p-11) == 0x3C00)  // tie → even
        #expect(FloatConversion.floatToHalf(1 + 3 * 0x1p-11) == 0x3C02)
        #expect(FloatConversion.floatToHalf(0x1p-25) == 0)            // tie at half the smallest subnormal → 0
        #expect(FloatConversion.floatToHalf(0x1.8p-25) == 1)
        #expect(FloatConversion.floatToHalf(-0.0) == 0x8000)
        #expect(FloatConversion.floatToBF16(1 + 0x1p-8) == 0x3F80)     // tie → even
        #expect(FloatConversion.floatToBF16(1 + 3 * 0x1p-8) == 0x3F82)
        #expect(FloatConversion.bf16ToFloat(0x3F80) == 1)
        #expect(FloatConversion.floatToBF16(.nan) & 0x7FC0 == 0x7FC0)
    }
}
