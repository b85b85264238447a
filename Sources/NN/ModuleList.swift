import Tensor

/// An ordered list of modules whose children are named `0`, `1`, … (PyTorch `nn.ModuleList` /
/// `nn.Sequential` naming, e.g. `transformer.resblocks.3.attn.in_proj_weight`).
///
/// ```swift
/// let blocks = ModuleList((0..<12).map { _ in ResidualBlock(width: 512, rng: &rng) })
/// var h = x
/// for block in blocks.items { h = block(h) }
/// ```
public final class ModuleList<Element: Module>: Module {
    public var isTraining = true
    public let items: [Element]

    public init(_ items: [Element]) { self.items = items }

    public var children: [(String, any Module)] { items.enumerated().map { (String($0.offset), $0.element) } }

    public var count: Int { items.count }
    public subscript(index: Int) -> Element { items[index] }
}
