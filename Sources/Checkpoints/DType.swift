import Foundation

/// The element type a checkpoint file stored for a tensor (before conversion to Float32).
///
/// Byte sizes: f64/i64 8, f32/i32 4, f16/bf16/i16 2, i8/u8/bool 1. Names map to PyTorch storage classes
/// (`torch.HalfStorage` → ``f16``) and to safetensors dtype strings (`"BF16"` → ``bf16``).
///
/// ```swift
/// DType(safetensorsName: "F16")   // .f16
/// DType.bf16.byteSize             // 2
/// ```
public enum DType: String, Sendable, Codable, CaseIterable {
    case f32, f16, bf16, f64, i64, i32, i16, i8, u8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// The safetensors header spelling (`"F32"`, `"BF16"`, `"BOOL"` …).
    public var safetensorsName: String { rawValue.uppercased() }

    /// Parses a safetensors dtype string; nil when unknown.
    public init?(safetensorsName: String) {
        guard let d = DType(rawValue: safetensorsName.lowercased()) else { return nil }
        self = d
    }

    /// Parses a legacy typed-storage class name of module `torch` (`"HalfStorage"`); nil when unknown.
    init?(torchStorageName: String) {
        switch torchStorageName {
        case "FloatStorage": self = .f32
        case "HalfStorage": self = .f16
        case "BFloat16Storage": self = .bf16
        case "DoubleStorage": self = .f64
        case "LongStorage": self = .i64
        case "IntStorage": self = .i32
        case "ShortStorage": self = .i16
        case "CharStorage": self = .i8
        case "ByteStorage": self = .u8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }
}
