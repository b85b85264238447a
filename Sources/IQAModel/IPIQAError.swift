import Foundation

/// Errors of the IP-IQA model itself: inputs that do not fit it, model files that do not hold one, attention maps
/// that cannot be made. Messages name the file, shape or value at fault.
///
/// ```swift
/// do { _ = try IPIQACheckpoint.load(url) } catch let e as IPIQAError { print(e.localizedDescription) }
/// ```
public enum IPIQAError: LocalizedError, Equatable {
    /// A batch, feature map or text feature whose shape or count does not fit the model.
    case badInput(String)
    /// A configuration value the architecture cannot be built with (`file` names where it came from, if anywhere).
    case badConfiguration(file: String?, reason: String)
    /// A file that is not an IP-IQA model, or whose stored configuration cannot be read.
    case notAModel(file: String, reason: String)
    /// An attention map was asked for that cannot be made.
    case badAttention(String)
    /// The model has no prompt path, so it has no cross-modality attention.
    case imageOnlyModel(file: String?)

    public var errorDescription: String? {
        switch self {
        case let .badInput(m): return "IP-IQA: " + m
        case let .badConfiguration(file, reason): return (file.map { $0 + ": " } ?? "") + "invalid IP-IQA configuration: " + reason
        case let .notAModel(file, reason): return "\(file): " + reason
        case let .badAttention(m): return m
        case let .imageOnlyModel(file):
            return "\(file.map { $0 + ": " } ?? "")this is an image-only IP-IQA model (useText = false): it has no "
                + "cross-modality attention, so there is no attention map"
        }
    }
}

extension IPIQAError {
    /// A checkpoint of the official PyTorch code that cannot be used, and why (the message names the file).
    public static func officialCheckpoint(file: String, reason: String) -> IPIQAError { .notAModel(file: file, reason: reason) }
}
