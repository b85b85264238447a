/// The words of the synthetic world: shapes, colours, placements, backgrounds and counts. Prompts are built only
/// from these, so every prompt word has a visual meaning the renderer draws.
///
/// ```swift
/// ShapeKind.star.noun(count: 2)          // "stars"
/// ColourName.orange.rgb                  // (240, 140, 30)
/// Placement.topLeft.phrase               // "at the top left"
/// ```
public enum ShapeKind: String, CaseIterable, Codable, Sendable {
    case circle, square, triangle, star, cross, ring

    /// Singular or plural noun.
    public func noun(count: Int) -> String {
        if count == 1 { return rawValue }
        return self == .cross ? "crosses" : rawValue + "s"
    }
}

/// Eight object colours, as 8-bit sRGB triples (flat "natural" colours; the "agi" style shades them).
///
/// ```swift
/// ColourName.red.rgb   // (215, 40, 40)
/// ```
public enum ColourName: String, CaseIterable, Codable, Sendable {
    case red, orange, yellow, green, blue, purple, white, black

    public var rgb: (Float, Float, Float) {
        switch self {
        case .red: return (215, 40, 40)
        case .orange: return (240, 140, 30)
        case .yellow: return (240, 215, 40)
        case .green: return (50, 170, 60)
        case .blue: return (40, 80, 210)
        case .purple: return (140, 60, 180)
        case .white: return (245, 245, 245)
        case .black: return (25, 25, 25)
        }
    }
}

/// Where a group sits: a cell of a 3 × 3 grid (column, row ∈ 0…2), said in words as in "at the top left".
///
/// ```swift
/// Placement.left.isSeparated(from: .right)   // true; .left vs .centre: false
/// ```
public enum Placement: String, CaseIterable, Codable, Sendable {
    case topLeft = "top left", top, topRight = "top right"
    case left, centre, right
    case bottomLeft = "bottom left", bottom, bottomRight = "bottom right"

    public var column: Int {
        switch self {
        case .topLeft, .left, .bottomLeft: return 0
        case .top, .centre, .bottom: return 1
        case .topRight, .right, .bottomRight: return 2
        }
    }

    public var row: Int {
        switch self {
        case .topLeft, .top, .topRight: return 0
        case .left, .centre, .right: return 1
        case .bottomLeft, .bottom, .bottomRight: return 2
        }
    }

    /// The prompt phrase: "at the top left", "on the left", "in the centre", …
    public var phrase: String {
        switch self {
        case .left, .right: return "on the " + rawValue
        case .centre: return "in the centre"
        default: return "at the " + rawValue
        }
    }

    /// Whether two groups at these placements are far enough apart not to overlap (Chebyshev grid distance 2).
    public func isSeparated(from other: Placement) -> Bool {
        max(abs(column - other.column), abs(row - other.row)) >= 2
    }
}

/// Background patterns, drawn in neutral mid-tones.
///
/// ```swift
/// BackgroundKind.dots.adjective   // "dotted"
/// ```
public enum BackgroundKind: String, CaseIterable, Codable, Sendable {
    case plain, gradient, stripes, dots

    /// The prompt adjective: "plain", "gradient", "striped", "dotted".
    public var adjective: String {
        switch self {
        case .plain: return "plain"
        case .gradient: return "gradient"
        case .stripes: return "striped"
        case .dots: return "dotted"
        }
    }
}

/// Number words used in prompts ("a"/"an", "two", "three", "four").
enum CountWords {
    static func word(_ count: Int, before next: String) -> String {
        switch count {
        case 1: return "aeiou".contains(next.first ?? "x") ? "an" : "a"
        case 2: return "two"
        case 3: return "three"
        case 4: return "four"
        default: return String(count)
        }
    }
}
