import Archive
import Foundation

/// Reads PyTorch zip checkpoints: `torch.save` files (PyTorch ≥ 1.6) and TorchScript archives (`torch.jit.save`).
///
/// Layout (the top folder `<dir>` varies: `archive`, `RN50`, the file's stem …):
/// `<dir>/data.pkl` (the pickled object), `<dir>/data/<key>` (raw little-endian storages), `<dir>/byteorder`;
/// TorchScript adds `<dir>/code/…` and `<dir>/constants.pkl` (compiled-code constants, not part of the state dict).
/// `data.pkl` is run through ``PickleMachine``, tensors are collected by ``TensorCollector`` and copied out of their
/// storages by ``TensorMaterializer``; a storage's bytes are read (CRC-checked) once and dropped after its last use.
enum TorchArchiveReader {
    static func load(_ zip: ZipArchive, url: URL, normalization: KeyNormalization) throws -> StateDict {
        let file = url.path
        guard let pickleEntry = zip.entries.first(where: isRootPickle) else {
            throw CheckpointError(file: file, kind: .unknownFormat,
                                  message: "zip archive has no '<folder>/data.pkl' member: not a PyTorch checkpoint")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        if let order = zip.entry(named: prefix + "byteorder") {
            let text = String(decoding: try read(zip, order, file), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text == "little" else {
                throw CheckpointError(file: file, kind: .unsupported, message: "\(order.name) says '\(text)'; only little-endian checkpoints are supported")
            }
        }
        let isScript = zip.entry(named: prefix + "constants.pkl") != nil || zip.entries.contains { $0.name.hasPrefix(prefix + "code/") }

        guard pickleEntry.uncompressedSize <= CheckpointLimits.maxPickleBytes else {
            throw CheckpointError(file: file, kind: .pickle, message: "\(pickleEntry.name) declares \(pickleEntry.uncompressedSize) bytes, more than the \(CheckpointLimits.maxPickleBytes)-byte limit of a pickle")
        }
        let pickleBytes = try read(zip, pickleEntry, file)
        let (root, heap): (PickleValue, PickleHeap) = try pickleBytes.withUnsafeBytes { raw in
            var machine = PickleMachine(bytes: raw)
            do { return (try machine.run(), machine.heap) } catch let e as PickleError {
                throw e.inFile(file, member: pickleEntry.name)
            }
        }
        var collector = TensorCollector(heap: heap, wrapperKeys: isScript ? [] : normalization.wrapperKeys)
        let refs: [(String, TensorRef)]
        do { refs = try normalization.apply(try collector.collect(root), file: file) } catch let e as CollectError {
            throw CheckpointError(file: file, kind: .pickle, message: "\(pickleEntry.name): \(e.message)")
        }

        // Read each storage once; drop it after its last use.
        var remainingUses: [String: Int] = [:]
        for (_, r) in refs { remainingUses[r.storage.key, default: 0] += 1 }
        var cache: [String: Data] = [:]
        var tensors: [String: CheckpointTensor] = [:]
        tensors.reserveCapacity(refs.count)
        for (key, ref) in refs {
            let storageKey = ref.storage.key
            let bytes: Data
            if let cached = cache[storageKey] { bytes = cached } else {
                let member = prefix + "data/" + storageKey
                guard let entry = zip.entry(named: member) else {
                    throw CheckpointError(file: file, kind: .tensor, message: "tensor '\(key)': storage member '\(member)' is missing")
                }
                // Only what the storage declares is inflated: a larger member is never expanded in full.
                let (needed, overflow) = ref.storage.count.multipliedReportingOverflow(by: ref.storage.dtype.byteSize)
                guard !overflow, ref.storage.count >= 0 else {
                    throw CheckpointError(file: file, kind: .tensor, message: "tensor '\(key)': storage '\(storageKey)' declares \(ref.storage.count) elements")
                }
                bytes = try read(zip, entry, file, prefix: needed)
            }
            remainingUses[storageKey, default: 1] -= 1
            cache[storageKey] = remainingUses[storageKey] == 0 ? nil : bytes
            do {
                tensors[key] = try bytes.withUnsafeBytes { raw in try TensorMaterializer.materialize(ref, storage: raw) }
            } catch let e as CollectError {
                throw CheckpointError(file: file, kind: .tensor, message: "tensor '\(key)': \(e.message)")
            }
        }
        var dict = StateDict(source: url, format: isScript ? .torchScript : .torchZip, tensors: tensors, loadOrder: refs.map(\.0))
        if !isScript {
            do { dict.object = try PickledObject.from(root, heap: heap) } catch {
                throw CheckpointError(file: file, kind: .pickle, message: "\(pickleEntry.name): \(error.message)")
            }
        }
        return dict
    }

    /// `data.pkl` at the root or one folder down (never deeper: nested archives are not the checkpoint).
    private static func isRootPickle(_ e: ZipEntry) -> Bool {
        guard e.name.hasSuffix("data.pkl") else { return false }
        let folder = e.name.dropLast("data.pkl".count)
        if folder.isEmpty { return true }
        return folder.hasSuffix("/") && !folder.dropLast().contains("/")
    }

    private static func read(_ zip: ZipArchive, _ entry: ZipEntry, _ file: String, prefix: Int? = nil) throws -> Data {
        do { return try zip.data(for: entry, prefix: prefix) } catch { throw CheckpointError.archive(file, error) }
    }
}
