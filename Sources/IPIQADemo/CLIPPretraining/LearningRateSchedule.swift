import Foundation

/// Linear warm-up then cosine decay to zero, the schedule CLIP was trained with:
///
///     lr(s) = base · (s + 1) / warmup                                   for s < warmup
///     lr(s) = base · ½ (1 + cos(π · (s − warmup) / (total − warmup)))   otherwise      (s = 0-based step)
///
/// ```swift
/// let schedule = CosineSchedule(base: 1e-3, warmup: 20, total: 400)
/// optimizer.groups[0].learningRate = schedule(step)
/// ```
public struct CosineSchedule: Codable, Sendable, Equatable {
    public var base: Double
    public var warmup: Int
    public var total: Int

    public init(base: Double, warmup: Int, total: Int) {
        self.base = base
        self.warmup = max(0, warmup)
        self.total = max(1, total)
    }

    public func callAsFunction(_ step: Int) -> Double {
        if step < warmup { return base * Double(step + 1) / Double(warmup) }
        let span = max(1, total - warmup)
        let t = min(1, Double(step - warmup) / Double(span))
        return base * 0.5 * (1 + cos(Double.pi * t))
    }
}
