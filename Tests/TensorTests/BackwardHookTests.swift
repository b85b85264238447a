import Tensor
import TensorTestSupport
import Testing

@Suite("Var.backward(onGradientReady:): each trainable leaf once, after its last use")
struct BackwardHookTests {
    @Test("a leaf used twice fires only after both uses; the hook sees the final gradient; frozen leaves never fire")
    func hookOrder() { ThreadCountLock.exclusive { hookOrderLocked() } }

    private func hookOrderLocked() {
        // loss = sum(relu(w·x) * w·x + v), w used by two nodes (linear, then mul through both branches), x frozen.
        let x = Var(Tensor(shape: [2, 3], values: [1, -2, 0.5, 3, 1, -1]))
        let w = Var(Tensor(shape: [2, 3], values: [0.2, -0.1, 0.4, 0.3, 0.5, -0.2]), requiresGrad: true)
        let v = Var(Tensor(shape: [2, 2], values: [1, 2, 3, 4]), requiresGrad: true)
        let h = linear(x, w)
        let loss = sum(add(mul(relu(h), linear(x, w)), v))
        var fired: [(Var, [Float])] = []
        loss.backward { leaf in fired.append((leaf, Array(UnsafeBufferPointer(start: leaf.grad!.pointer, count: leaf.grad!.count)))) }
        #expect(fired.count == 2)
        #expect(Set(fired.map { ObjectIdentifier($0.0) }) == [ObjectIdentifier(w), ObjectIdentifier(v)])
        for (leaf, seen) in fired {
            // The gradient the hook saw is the final one (nothing was added after it fired).
            #expect(seen == Array(UnsafeBufferPointer(start: leaf.grad!.pointer, count: leaf.grad!.count)))
        }
        // w's final gradient has both uses: the same as a plain backward pass.
        let w2 = Var(w.value, requiresGrad: true), v2 = Var(v.value, requiresGrad: true)
        sum(add(mul(relu(linear(x, w2)), linear(x, w2)), v2)).backward()
        #expect(Array(UnsafeBufferPointer(start: w2.grad!.pointer, count: 6)) == fired.first { $0.0 === w }!.1)
    }

    @Test("a leaf that is both parents of one node fires once, after that node")
    func sameParentTwice() {
        let a = Var(Tensor(shape: [3], values: [1, 2, 3]), requiresGrad: true)
        var count = 0
        sum(mul(a, a)).backward { leaf in
            count += 1
            #expect(leaf === a)
            #expect(Array(UnsafeBufferPointer(start: leaf.grad!.pointer, count: 3)) == [2, 4, 6])
        }
        #expect(count == 1)
    }
}
