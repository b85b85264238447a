import Foundation

/// A dense, row-major float32 array with a shape.
///
/// Feature maps are channels-last (`[N, H, W, C]`) everywhere in this engine; convolution weights are
/// `[Cout, kh, kw, Cin]` (PyTorch's `[Cout, Cin, kh, kw]` is permuted when a checkpoint is loaded).
///
/// ```swift
/// let x = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
/// let y = x.reshaped([3, 2])      // shares storage with x
/// ```
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public let storage: Storage
    /// Element offset of this view into `storage` (non-zero only for leading-dimension slices).
    public let offset: Int

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer + offset }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public init(shape: [Int], storage: Storage, offset: Int = 0) {
        enginePrecondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        enginePrecondition(offset + shape.reduce(1, *) <= storage.count, "Tensor: shape \(shape) does not fit its storage")
        self.shape = shape
        self.storage = storage
        self.offset = offset
    }

    /// Uninitialised tensor (every element must be written before it is read).
    public init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: Storage(uninitializedCount: shape.reduce(1, *)))
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, storage: Storage(zeroedCount: shape.reduce(1, *)))
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        pointer.update(repeating: value, count: count)
    }

    public init(shape: [Int], values: [Float]) {
        enginePrecondition(values.count == shape.reduce(1, *), "Tensor: \(values.count) values for shape \(shape)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    public init(scalar: Float) { self.init(shape: [], values: [scalar]) }

    /// The elements in row-major order.
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The single element of a one-element tensor.
    public var item: Float {
        enginePrecondition(count == 1, "Tensor.item: tensor of shape \(shape) has \(count) elements")
        return pointer[0]
    }

    /// The same elements with another shape (shares storage). One dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            enginePrecondition(known > 0 && count % known == 0, "reshape: cannot reshape \(shape) to \(newShape)")
            s[i] = count / known
        }
        checkShape(s.reduce(1, *) == count, "reshape", shape, newShape)
        return Tensor(shape: s, storage: storage, offset: offset)
    }

    /// Rows `range` of the leading dimension (shares storage).
    public func slice(rows range: Range<Int>) -> Tensor {
        enginePrecondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0], "slice: rows \(range) out of \(shape)")
        let inner = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(), storage: storage, offset: offset + range.lowerBound * inner)
    }

    /// A fresh copy that shares nothing with `self`.
    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    /// Overwrites every element with `other`'s (same element count).
    public func assign(_ other: Tensor) {
        checkShape(other.count == count, "assign", shape, other.shape)
        pointer.update(from: other.pointer, count: count)
        ParameterGeneration.bump()
    }

    public func fill(_ value: Float) {
        pointer.update(repeating: value, count: count)
        ParameterGeneration.bump()
    }

    public var description: String {
        let head = array.prefix(8).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(count > 8 ? ", …" : "")])"
    }
}
