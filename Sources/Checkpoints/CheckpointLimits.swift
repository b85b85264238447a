/// Named limits that keep hostile or corrupt files from exhausting memory, stack or time.
enum CheckpointLimits {
    /// Most items on the pickle stack plus memo (each opcode adds at most one, so this is generous).
    static let maxPickleItems = 50_000_000
    /// Deepest container nesting followed when collecting tensors (real state dicts nest < 20 deep).
    static let maxNesting = 256
    /// Most container visits while collecting tensors (guards against shared-substructure blow-up).
    static let maxVisits = 10_000_000
    /// Longest text line a GLOBAL / PERSID opcode may carry.
    static let maxLineLength = 4096
    /// Most tensor dimensions accepted.
    static let maxRank = 32
    /// Largest `data.pkl` inflated (RN50's TorchScript pickle is under 100 KB; tensors live in separate members).
    static let maxPickleBytes = 256 << 20
    /// Largest safetensors JSON header (the reference implementation's limit is 100 MB).
    static let maxSafetensorsHeader = 100_000_000
}
