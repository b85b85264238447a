/// Copies one tensor view out of its raw little-endian storage into contiguous Float32.
///
/// A view is `(offset, shape, stride)` in elements, as PyTorch's `as_strided`. Contiguous views convert in one
/// tight pass over the bytes; others gather along the innermost dimension. Before touching memory it checks that
/// dims, strides and offset are non-negative, that no size product overflows, that the storage bytes hold the
/// declared element count, and that the furthest element `offset + Σ (size−1)·stride` lies inside the storage.
enum TensorMaterializer {
    static func materialize(_ ref: TensorRef, storage: UnsafeRawBufferPointer) throws(CollectError) -> CheckpointTensor {
        let dtype = ref.storage.dtype
        let elementSize = dtype.byteSize
        guard ref.storage.count <= storage.count / elementSize else {
            throw CollectError(message: "storage '\(ref.storage.key)' declares \(ref.storage.count) \(dtype) elements but holds only \(storage.count) bytes")
        }
        guard ref.offset >= 0 else { throw CollectError(message: "negative storage offset \(ref.offset)") }
        guard ref.shape.allSatisfy({ $0 >= 0 }), ref.stride.allSatisfy({ $0 >= 0 }) else {
            throw CollectError(message: "negative size or stride (size \(ref.shape), stride \(ref.stride))")
        }
        var count = 1
        var furthest = ref.offset
        for (size, stride) in zip(ref.shape, ref.stride) {
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            guard !o1 else { throw CollectError(message: "size \(ref.shape) overflows") }
            count = c
            if size > 0 {
                let (reach, o2) = (size - 1).multipliedReportingOverflow(by: stride)
                let (f, o3) = furthest.addingReportingOverflow(reach)
                guard !o2, !o3 else { throw CollectError(message: "stride \(ref.stride) overflows") }
                furthest = f
            }
        }
        if count > 0, furthest >= ref.storage.count {
            throw CollectError(message: "view (offset \(ref.offset), size \(ref.shape), stride \(ref.stride)) reaches element \(furthest) of storage '\(ref.storage.key)' with \(ref.storage.count) elements")
        }
        guard count > 0, let base = storage.baseAddress else {
            return CheckpointTensor(shape: ref.shape, dtype: dtype, values: [])
        }
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            let dst = out.baseAddress!
            if isContiguous(ref.shape, ref.stride) {
                FloatConversion.convert(base + ref.offset * elementSize, dtype: dtype, count: count, into: dst)
            } else {
                gather(base, ref, into: dst)
            }
            initialized = count
        }
        return CheckpointTensor(shape: ref.shape, dtype: dtype, values: values)
    }

    /// Row-major strides, ignoring dimensions of size 1 (whose stride is irrelevant).
    static func isContiguous(_ shape: [Int], _ stride: [Int]) -> Bool {
        var expected = 1
        for d in stride.indices.reversed() where shape[d] != 1 {
            if stride[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    private static func gather(_ base: UnsafeRawPointer, _ ref: TensorRef, into dst: UnsafeMutablePointer<Float>) {
        let dtype = ref.storage.dtype
        let rank = ref.shape.count
        let inner = ref.shape[rank - 1], innerStride = ref.stride[rank - 1]
        var index = [Int](repeating: 0, count: rank)   // outer counters; index[rank-1] unused
        var written = 0
        var start = ref.offset
        while true {
            for i in 0..<inner {
                dst[written] = FloatConversion.element(base, dtype: dtype, index: start + i * innerStride)
                written += 1
            }
            // Advance the outer multi-index (odometer), moving `start` along the strides.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                start += ref.stride[d]
                if index[d] < ref.shape[d] { break }
                start -= ref.stride[d] * ref.shape[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }
}
