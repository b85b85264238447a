/// One group of identical objects: `count` × (`colour`, `shape`) at `placement`.
///
/// ```swift
/// let g = ObjectGroup(shape: .triangle, colour: .red, count: 2, placement: .topLeft)
/// g.phrase   // "two red triangles at the top left"
/// ```
public struct ObjectGroup: Codable, Sendable, Equatable, Hashable {
    public var shape: ShapeKind
    public var colour: ColourName
    public var count: Int
    public var placement: Placement

    public init(shape: ShapeKind, colour: ColourName, count: Int, placement: Placement) {
        self.shape = shape
        self.colour = colour
        self.count = count
        self.placement = placement
    }

    /// "<count> <colour> <shape(s)> <placement phrase>".
    public var phrase: String {
        "\(CountWords.word(count, before: colour.rawValue)) \(colour.rawValue) \(shape.noun(count: count)) \(placement.phrase)"
    }
}

/// An RGB colour in 0…255.
///
/// ```swift
/// let grey = RGB(128, 128, 128)
/// ```
public struct RGB: Codable, Sendable, Equatable, Hashable {
    public var r: Float
    public var g: Float
    public var b: Float

    public init(_ r: Float, _ g: Float, _ b: Float) {
        self.r = r
        self.g = g
        self.b = b
    }
}

/// A background: pattern `kind` in two neutral mid-tones. Geometry is in fractions of the image width so a scene
/// renders the same at any size. Gradient: `base` → `accent` along direction `angle`; stripes: bands of period
/// `period`·W across direction `angle`; dots: a grid of spacing `period`·W, radius `dotRadius`·W.
///
/// ```swift
/// Background(kind: .stripes, base: RGB(120, 120, 120), accent: RGB(90, 90, 90), angle: .pi / 4, period: 0.15)
/// ```
public struct Background: Codable, Sendable, Equatable, Hashable {
    public var kind: BackgroundKind
    public var base: RGB
    public var accent: RGB
    public var angle: Float
    public var period: Float
    public var dotRadius: Float

    public init(kind: BackgroundKind, base: RGB, accent: RGB, angle: Float = 0, period: Float = 0.15, dotRadius: Float = 0.03) {
        self.kind = kind
        self.base = base
        self.accent = accent
        self.angle = angle
        self.period = period
        self.dotRadius = dotRadius
    }
}

/// A scene: 1–2 object groups (at most ``WorldConstants/maxObjects`` objects) on a background. The same type
/// describes what a prompt asks for (the intended scene) and what a generator made (groups may then be altered or
/// missing).
///
/// Prompt grammar: `<group phrase> [and <group phrase>], on a <adjective> background`, e.g.
/// "two red triangles at the top left and a blue ring on the right, on a striped background".
///
/// ```swift
/// let s = Scene(groups: [ObjectGroup(shape: .ring, colour: .blue, count: 1, placement: .right)], background: bg)
/// s.prompt   // "a blue ring on the right, on a plain background" (for a plain bg)
/// ```
public struct Scene: Codable, Sendable, Equatable, Hashable {
    public var groups: [ObjectGroup]
    public var background: Background

    public init(groups: [ObjectGroup], background: Background) {
        self.groups = groups
        self.background = background
    }

    /// The prompt text describing this scene.
    public var prompt: String {
        let objects = groups.isEmpty ? "nothing" : groups.map(\.phrase).joined(separator: " and ")
        return "\(objects), on a \(background.kind.adjective) background"
    }

    /// Total number of objects.
    public var objectCount: Int { groups.reduce(0) { $0 + $1.count } }
}
