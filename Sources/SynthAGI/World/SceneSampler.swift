import Foundation
import Tensor

/// Draws random intended scenes: 1 group, or 2 groups with probability `twoGroupProbability`; counts 1…4 with at
/// most ``WorldConstants/maxObjects`` objects in all; two groups differ in (shape, colour) and sit at separated
/// placements; backgrounds are neutral greys (100…160, tint ±10) with an accent 25…45 lighter or darker.
///
/// ```swift
/// var rng = SeededGenerator(seed: 1)
/// let scene = SceneSampler.scene(twoGroupProbability: 0.5, using: &rng)
/// print(scene.prompt)
/// ```
public enum SceneSampler {
    public static func scene(twoGroupProbability: Double, using rng: inout SeededGenerator) -> Scene {
        let groupCount = rng.bernoulli(twoGroupProbability) ? 2 : 1
        var groups: [ObjectGroup] = []
        let shapes = ShapeKind.allCases, colours = ColourName.allCases, placements = Placement.allCases
        if groupCount == 1 {
            groups.append(ObjectGroup(shape: shapes[rng.int(below: shapes.count)], colour: colours[rng.int(below: colours.count)],
                                      count: 1 + rng.int(below: WorldConstants.maxObjects),
                                      placement: placements[rng.int(below: placements.count)]))
        } else {
            // Every placement but the centre has a separated partner.
            let starts = placements.filter { p in placements.contains { $0.isSeparated(from: p) } }
            let start = starts[rng.int(below: starts.count)]
            let partners = placements.filter { $0.isSeparated(from: start) }
            let second = partners[rng.int(below: partners.count)]
            let c1 = 1 + rng.int(below: WorldConstants.maxObjects - 1)
            let c2 = 1 + rng.int(below: WorldConstants.maxObjects - c1)
            let i1 = rng.int(below: shapes.count), k1 = colours[rng.int(below: colours.count)]
            var i2 = rng.int(below: shapes.count)
            let k2 = colours[rng.int(below: colours.count)]
            if i1 == i2 && k1 == k2 { i2 = (i1 + 1 + rng.int(below: shapes.count - 1)) % shapes.count }
            // Order groups reading-wise (top to bottom, left to right) so prompts read naturally.
            var pair = [ObjectGroup(shape: shapes[i1], colour: k1, count: c1, placement: start),
                        ObjectGroup(shape: shapes[i2], colour: k2, count: c2, placement: second)]
            pair.sort { ($0.placement.row, $0.placement.column) < ($1.placement.row, $1.placement.column) }
            groups = pair
        }
        return Scene(groups: groups, background: background(using: &rng))
    }

    public static func background(using rng: inout SeededGenerator) -> Background {
        let kinds = BackgroundKind.allCases
        let kind = kinds[rng.int(below: kinds.count)]
        let grey = rng.uniformF(WorldConstants.backgroundGrey.lowerBound, WorldConstants.backgroundGrey.upperBound)
        let t = WorldConstants.backgroundTint
        let base = RGB(grey + rng.uniformF(-t, t), grey + rng.uniformF(-t, t), grey + rng.uniformF(-t, t))
        let contrast = rng.uniformF(WorldConstants.backgroundContrast.lowerBound, WorldConstants.backgroundContrast.upperBound)
        let sign: Float = rng.bernoulli(0.5) ? 1 : -1
        let accent = RGB(base.r + sign * contrast, base.g + sign * contrast, base.b + sign * contrast)
        let angles: [Float] = [0, Float.pi / 2, Float.pi / 4, 3 * Float.pi / 4]
        var angle = angles[rng.int(below: angles.count)]
        if kind == .gradient { angle = rng.uniformF(0, 2 * Float.pi) }
        let periodRange = kind == .dots ? WorldConstants.dotSpacing : WorldConstants.stripePeriod
        let period = rng.uniformF(periodRange.lowerBound, periodRange.upperBound)
        let dotRadius = rng.uniformF(WorldConstants.dotRadius.lowerBound, WorldConstants.dotRadius.upperBound)
        return Background(kind: kind, base: base, accent: accent, angle: angle, period: period, dotRadius: dotRadius)
    }
}
