import Foundation
import Testing
@testable import Checkpoints

@Suite("Untrusted checkpoint files: duplicate keys, devices")
struct UntrustedFileTests {
    @Test("a tensor or metadata key given twice in a safetensors header is an error (readers disagree on which counts)")
    func duplicateHeaderKeys() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let eight = [UInt8](repeating: 0, count: 8)
        let tensor = try Fixtures.safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                                     data: eight, in: dir, name: "dup_tensor.safetensors")
        expectCheckpointError(.safetensors, mentioning: [tensor.path, "'a' twice"]) { _ = try CheckpointLoader.load(tensor) }
        let meta = try Fixtures.safetensors(#"{"__metadata__":{"clip_config":"{}","clip_config":"x"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                                   data: eight, in: dir, name: "dup_meta.safetensors")
        expectCheckpointError(.safetensors, mentioning: [meta.path, "'clip_config' twice"]) { _ = try CheckpointLoader.load(meta) }
    }

    @Test("/dev/null as a checkpoint is 'not a regular file', not a permission message")
    func deviceAsCheckpoint() {
        expectCheckpointError(.unreadable, mentioning: ["/dev/null", "not a regular file"]) {
            _ = try CheckpointLoader.load(URL(fileURLWithPath: "/dev/null"))
        }
    }
}
