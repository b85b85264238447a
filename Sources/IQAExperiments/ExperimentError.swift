import Foundation

/// Failures of the baselines and experiment grids; each names the file (or the setting) and the problem.
///
/// ```swift
/// do { _ = try ExperimentGrid.read(from: url) } catch { print(error.localizedDescription) }
/// // "grid.json: variant 'full': unknown configuration key 'epoch' …"
/// ```
public enum ExperimentError: LocalizedError, Equatable {
    case ridge(String)
    case baseline(String)
    case badGrid(file: String, reason: String)
    case badCell(directory: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .ridge(reason): return "ridge probe: \(reason)"
        case let .baseline(reason): return "baseline: \(reason)"
        case let .badGrid(file, reason): return "\(file): \(reason)"
        case let .badCell(directory, reason): return "\(directory): \(reason)"
        }
    }
}
