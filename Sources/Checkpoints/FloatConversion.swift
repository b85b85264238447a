/// Exact IEEE binary16 / bfloat16 → binary32 conversion and round-to-nearest-even binary32 → binary16 / bfloat16.
///
/// - half → float: sign, exponent rebias (15 → 127), mantissa << 13; subnormals (exponent 0) are
///   `mantissa · 2⁻²⁴`, exact in float; Inf/NaN keep their payload. A 65 536-entry table is built once.
/// - bf16 → float: the 16 bits become the high half of the float.
/// - float → half: round to nearest, ties to even; overflow → ±Inf; results below half the smallest subnormal → ±0;
///   NaN stays NaN (quiet bit set). float → bf16: the same rounding on the low 16 bits (what PyTorch does).
///
/// ```swift
/// FloatConversion.halfToFloat(0x3C00)      // 1.0
/// FloatConversion.floatToHalf(65519.0)     // 0x7BFF (65504)
/// ```
public enum FloatConversion {
    /// The float value of every half bit pattern.
    static let halfTable: [Float] = (0...0xFFFF).map { halfToFloatSlow(UInt16($0)) }

    public static func halfToFloat(_ h: UInt16) -> Float { halfTable[Int(h)] }

    static func halfToFloatSlow(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    public static func bf16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    public static func floatToHalf(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        let mantissa = x & 0x7F_FFFF
        if exponent == 0xFF {
            return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(mantissa >> 13)
        }
        let e = exponent - 127 + 15
        if e >= 31 { return sign | 0x7C00 }
        if e <= 0 {
            // Subnormal half: value / 2^-24 = (1.mantissa) · 2^(e - 14 + 23 - 23) → shift the 24-bit significand.
            let shift = 14 - e
            if shift > 24 { return sign }
            let significand = mantissa | 0x80_0000
            var h = significand >> UInt32(shift)
            let rest = significand & ((1 << UInt32(shift)) - 1)
            let halfway: UInt32 = 1 << UInt32(shift - 1)
            if rest > halfway || (rest == halfway && (h & 1) == 1) { h += 1 }
            return sign | UInt16(h)
        }
        var h = (UInt32(e) << 10) | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1) { h += 1 }   // a carry into the exponent is right (→ Inf at the top)
        return sign | UInt16(h)
    }

    public static func floatToBF16(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        if f.isNaN { return UInt16(x >> 16) | 0x0040 }
        let rounded = x &+ 0x7FFF &+ ((x >> 16) & 1)
        return UInt16(rounded >> 16)
    }

    /// Converts `count` little-endian elements of `dtype` at `source` (any alignment) into `destination`.
    static func convert(_ source: UnsafeRawPointer, dtype: DType, count: Int, into destination: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .f16:
            halfTable.withUnsafeBufferPointer { table in
                let t = table.baseAddress!
                for i in 0..<count {
                    destination[i] = t[Int(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))]
                }
            }
        case .bf16:
            for i in 0..<count {
                let b = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = Float(bitPattern: UInt32(b) << 16)
            }
        case .f64:
            for i in 0..<count {
                destination[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .i64:
            for i in 0..<count { destination[i] = Float(Int64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        case .i32:
            for i in 0..<count { destination[i] = Float(Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .i16:
            for i in 0..<count { destination[i] = Float(Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .i8:
            for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: i, as: Int8.self)) }
        case .u8:
            for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: i, as: UInt8.self)) }
        case .bool:
            for i in 0..<count { destination[i] = source.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
        }
    }

    /// Reads element `index` of `dtype` at `source` as Float (the gather path for strided tensors).
    @inline(__always)
    static func element(_ source: UnsafeRawPointer, dtype: DType, index: Int) -> Float {
        var v: Float = 0
        convert(source + index * dtype.byteSize, dtype: dtype, count: 1, into: &v)
        return v
    }
}
