import Archive
import Foundation
import NN
import Tensor

/// `--precision auto` decisions kept on disk, so that the second `ipiqa score` (or `serve`, `embed`) of the same model
/// on the same machine starts without the calibration pass (for RN50 at 512 px, about 48 image passes).
///
///     key  = format version | CPU model | bf16 fast enough | content hash of the weights the calibration reads |
///            resolution | target | bound, margin, probes, cost limit, speed-up limit | upgrade precision
///     file = <directory>/<hash of key>.json   { "key": key, "decision": PrecisionDecision }
///
/// The weights hashed are the image tower's (its trunk only for the layer4-map target), so a fine-tuned model gets its
/// own entry. A file that is missing, unreadable, of another key or not a valid decision is a miss: the calibration
/// runs and the file is rewritten (atomically). The folder: `$IPIQA_CACHE_DIR/precision`, else
/// `$XDG_CACHE_HOME/ipiqa/precision`, else `~/.cache/ipiqa/precision`; `IPIQA_NO_PRECISION_CACHE=1` turns it off.
///
/// ```swift
/// let d = try clip.choosePrecision(.auto, resolution: 512, calibration: .init(target: .trunk),
///                                  cache: PrecisionDecisionCache.standard)
/// ```
public struct PrecisionDecisionCache: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// The user's cache folder (nil when turned off or when no home folder is known).
    public static var standard: PrecisionDecisionCache? {
        let env = ProcessInfo.processInfo.environment
        if env["IPIQA_NO_PRECISION_CACHE"] == "1" { return nil }
        if let dir = env["IPIQA_CACHE_DIR"], !dir.isEmpty {
            return PrecisionDecisionCache(directory: URL(fileURLWithPath: dir).appendingPathComponent("precision"))
        }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            return PrecisionDecisionCache(directory: URL(fileURLWithPath: xdg).appendingPathComponent("ipiqa/precision"))
        }
        guard let home = env["HOME"], !home.isEmpty else { return nil }
        return PrecisionDecisionCache(directory: URL(fileURLWithPath: home).appendingPathComponent(".cache/ipiqa/precision"))
    }

    /// The key of a calibration of `clip` (see the type's documentation).
    static func key(_ clip: CLIPModel, resolution: Int, calibration c: PrecisionCalibration, upgrade: Precision,
                    bf16Fast: Bool) -> String {
        var weights = ContentHash()
        weights.add(clip.visual) { c.target == .embedding || !keyIsUnder($0, prefix: "attnpool") }
        return ["v1", ArithmeticRates.cpuModel, "bf16-fast=\(bf16Fast)", weights.hex, "r\(resolution)", c.target.rawValue,
                "bound=\(c.bound)", "margin=\(c.margin)", "probes=\(c.probes)", "cost=\(c.maxRelativeCost)",
                "speedup=\(c.minimumBF16SpeedUp)", "upgrade=\(upgrade.rawValue)"].joined(separator: "|")
    }

    func url(for key: String) -> URL {
        var h = ContentHash()
        h.add(key)
        return directory.appendingPathComponent("\(h.hex).json")
    }

    private struct Entry: Codable {
        var key: String
        var decision: PrecisionDecision
    }

    /// Largest entry read (a decision is well under 2 kB): anything bigger, or not a regular file (a FIFO, a device,
    /// a link to one), is a miss without being read.
    static let maxEntryBytes = 64 << 10

    /// The stored decision for `key`, or nil (a miss) on any problem.
    func decision(for key: String) -> PrecisionDecision? {
        let file = url(for: key)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let size = (attributes[.size] as? NSNumber)?.intValue, size <= Self.maxEntryBytes,
              let data = try? Data(contentsOf: file),
              let entry = try? JSONDecoder().decode(Entry.self, from: data), entry.key == key,
              Set(entry.decision.stages.keys) == Set(ModifiedResNet.stageNames) else { return nil }
        return entry.decision
    }

    /// Stores `decision` under `key`; returns false (nothing stored) where the folder or file cannot be written.
    @discardableResult
    func store(_ decision: PrecisionDecision, for key: String) -> Bool {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(Entry(key: key, decision: decision)), to: url(for: key))
            return true
        } catch {
            return false
        }
    }
}
