/// Error measures shared by the parity and equality tests.

/// `max |a − b| / max |b|` (b the reference; infinity when the counts differ).
public func maxRelativeError(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var diff = 0.0, scale = 0.0
    for (x, y) in zip(a, b) { diff = max(diff, Double(abs(x - y))); scale = max(scale, Double(abs(y))) }
    return diff / max(scale, 1e-30)
}

/// `‖a − b‖₂ / ‖b‖₂` (b the reference; infinity when the counts differ).
public func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) { num += Double(x - y) * Double(x - y); den += Double(y) * Double(y) }
    return (num / max(den, 1e-30)).squareRoot()
}
