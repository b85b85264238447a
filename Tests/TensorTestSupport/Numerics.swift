import Tensor

/// Error measures and tolerances shared by the parity, gradient and equality tests.

/// Tolerance for kernel and layer outputs and gradients against PyTorch (relative L2 error).
public let kernelTolerance = 1e-5
/// Tolerance of `gradientCheck` (float32 central differences).
public let gradTolerance = 1e-2

/// `‖a − b‖₂ / ‖b‖₂` (b the reference; infinity when the counts differ).
public func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) { num += (Double(x) - Double(y)) * (Double(x) - Double(y)); den += Double(y) * Double(y) }
    return (num / max(den, 1e-30)).squareRoot()
}

/// ``relativeL2(_:_:)-([Float],[Float])`` of two tensors' values.
public func relativeL2(_ a: Tensor, _ b: Tensor) -> Double {
    guard a.count == b.count else { return .infinity }
    return relativeL2(Array(UnsafeBufferPointer(start: a.pointer, count: a.count)),
                      Array(UnsafeBufferPointer(start: b.pointer, count: b.count)))
}

/// `max |a − b| / max |b|` (b the reference; infinity when the counts differ).
public func maxRelativeError(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var diff = 0.0, scale = 0.0
    for (x, y) in zip(a, b) { diff = max(diff, abs(Double(x) - Double(y))); scale = max(scale, Double(abs(y))) }
    return diff / max(scale, 1e-30)
}

/// Largest `|a − b|` (infinity when the element counts differ).
public func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Double {
    guard a.count == b.count else { return .infinity }
    var m = 0.0
    for i in 0..<a.count { m = max(m, abs(Double(a.pointer[i]) - Double(b.pointer[i]))) }
    return m
}
