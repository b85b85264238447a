import Tensor

/// `(0..<count).map(body)` computed in parallel chunks (``parallelChunks``); each index is computed exactly
/// once by a pure function of the index, so the result does not depend on the thread count.
func parallelMap<T>(_ count: Int, costPerItem: Int, _ body: (Int) -> T) -> [T] {
    var results = [T?](repeating: nil, count: count)
    results.withUnsafeMutableBufferPointer { out in
        let target = UncheckedSendable(out)
        parallelChunks(count, costPerItem: costPerItem) { range in
            for i in range { target.value[i] = body(i) }
        }
    }
    return results.map { $0! }
}
