import Testing
@testable import Tensor
@testable import NN

/// A small composite resembling a CLIP residual block inside a list, to test naming and recursion.
private final class Block: Module {
    var isTraining = true
    let ln: LayerNorm
    let attn: MultiheadAttention
    let fc: Linear
    let drop = Dropout(0.5, seed: 3)
    let stats = Tensor(zeros: [4])
    init(rng: inout SeededGenerator) {
        ln = LayerNorm(4)
        attn = MultiheadAttention(4, heads: 2, rng: &rng)
        fc = Linear(4, 4, bias: false, rng: &rng)
    }
    var localBuffers: [(String, Tensor)] { [("running_mean", stats)] }
    var children: [(String, any Module)] { [("ln_1", ln), ("attn", attn), ("c_fc", fc), ("drop", drop)] }
}

private final class Net: Module {
    var isTraining = true
    let blocks: ModuleList<Block>
    let scale = Var(Tensor(scalar: 2.5), requiresGrad: true)
    init(rng: inout SeededGenerator) { blocks = ModuleList([Block(rng: &rng), Block(rng: &rng)]) }
    var localParameters: [(String, Var)] { [("logit_scale", scale)] }
    var children: [(String, any Module)] { [("resblocks", blocks)] }
}

@Suite("Modules and state dicts")
struct ModuleTests {
    @Test("recursive names equal PyTorch state_dict keys, parameters before children, buffers listed separately")
    func names() {
        var rng = SeededGenerator(seed: 81)
        let net = Net(rng: &rng)
        let names = net.namedParameters().map(\.0)
        #expect(names.prefix(7) == ["logit_scale", "resblocks.0.ln_1.weight", "resblocks.0.ln_1.bias",
                                    "resblocks.0.attn.in_proj_weight", "resblocks.0.attn.in_proj_bias",
                                    "resblocks.0.attn.out_proj.weight", "resblocks.0.attn.out_proj.bias"])
        #expect(names.contains("resblocks.1.c_fc.weight") && !names.contains("resblocks.1.c_fc.bias"))
        #expect(net.namedBuffers().map(\.0) == ["resblocks.0.running_mean", "resblocks.1.running_mean"])
        #expect(net.parameterCount == 1 + 2 * (8 + 48 + 12 + 16 + 4 + 16))
        #expect(Set(net.stateDict().keys).count == names.count + 2)
    }

    @Test("loadStateDict with a missing, an unexpected and a mis-shaped key throws ONE error listing all three, and writes nothing")
    func strictErrors() throws {
        var rng = SeededGenerator(seed: 82)
        let net = Net(rng: &rng)
        var dict = net.stateDict()
        dict["resblocks.0.ln_1.weight"] = nil
        dict["resblocks.0.ghost"] = Tensor(zeros: [3])
        dict["resblocks.1.c_fc.weight"] = Tensor(zeros: [4, 5])
        dict["logit_scale"] = Tensor(scalar: 9)
        let err = try #require(throws: StateDictError.self) { try net.loadStateDict(dict, source: "model.pt") }
        #expect(err.missing == [.init(key: "resblocks.0.ln_1.weight", shape: [4])])
        #expect(err.unexpected == [.init(key: "resblocks.0.ghost", shape: [3])])
        #expect(err.mismatched == [.init(key: "resblocks.1.c_fc.weight", expected: [4, 4], found: [4, 5])])
        let message = err.localizedDescription
        for part in ["model.pt", "resblocks.0.ln_1.weight", "resblocks.0.ghost", "resblocks.1.c_fc.weight", "[4, 5]"] {
            #expect(message.contains(part), "\(message)")
        }
        #expect(net.scale.value.item == 2.5, "nothing is written when the dict does not fit")
    }

    @Test("loadStateDict copies values (parameters and buffers, in place); non-strict ignores missing/unexpected keys but not shapes")
    func loading() throws {
        var rng = SeededGenerator(seed: 83)
        let a = Net(rng: &rng), b = Net(rng: &rng)
        a.blocks[1].stats.fill(7)
        let storage = b.blocks[0].fc.weight.value.storage
        try b.loadStateDict(a.stateDict())
        #expect(b.blocks[0].fc.weight.value.storage === storage)
        #expect(b.stateDict().keys.allSatisfy { b.stateDict()[$0]!.array == a.stateDict()[$0]!.array })
        #expect(b.blocks[1].stats.array == [7, 7, 7, 7])
        try b.loadStateDict(["logit_scale": Tensor(scalar: 1), "extra": Tensor(zeros: [1])], strict: false)
        #expect(b.scale.value.item == 1)
        #expect(throws: StateDictError.self) { try b.loadStateDict(["logit_scale": Tensor(zeros: [2])], strict: false) }
    }

    @Test("freeze/unfreeze by whole-component prefix; setTraining reaches every descendant")
    func freezeAndTraining() {
        var rng = SeededGenerator(seed: 84)
        let net = Net(rng: &rng)
        #expect(net.freeze(prefix: "resblocks.0") == 7)
        #expect(net.namedParameters().filter { !$0.1.requiresGrad }.allSatisfy { $0.0.hasPrefix("resblocks.0.") })
        #expect(net.trainableParameterCount == net.parameterCount - (8 + 48 + 12 + 16 + 4 + 16))
        #expect(keyIsUnder("layer1.0.conv1.weight", prefix: "layer1") && !keyIsUnder("layer10.weight", prefix: "layer1"))
        net.unfreeze()
        #expect(net.trainableParameterCount == net.parameterCount)
        net.eval()
        #expect(net.namedModules().allSatisfy { !$0.1.isTraining })
        let x = Var(Tensor(shape: [2, 4], repeating: 1))
        #expect(net.blocks[0].drop(x) === x, "dropout is the identity in eval mode")
        net.train()
        let y = net.blocks[0].drop(x).value.array
        #expect(y.allSatisfy { $0 == 0 || $0 == 2 } && y.contains(0) && y.contains(2))
    }

    @Test("Linear init: weight and bias within PyTorch's ±1/√in bounds, reproducible from the seed")
    func linearInit() {
        var r1 = SeededGenerator(seed: 85), r2 = SeededGenerator(seed: 85)
        let a = Linear(16, 8, rng: &r1), b = Linear(16, 8, rng: &r2)
        #expect(a.weight.value.array == b.weight.value.array)
        #expect(a.weight.value.array.allSatisfy { abs($0) <= 0.25 } && a.bias!.value.array.allSatisfy { abs($0) <= 0.25 })
        #expect(a.weight.shape == [8, 16] && a.namedParameters().map(\.0) == ["weight", "bias"])
    }
}
