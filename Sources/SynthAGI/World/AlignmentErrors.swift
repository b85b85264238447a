import Tensor

/// Kinds of image–prompt misalignment a generator can make.
///
/// ```swift
/// AlignmentErrorKind.allCases.map(\.rawValue)   // ["colour", "shape", "count", "position", "missing"]
/// ```
public enum AlignmentErrorKind: String, CaseIterable, Codable, Sendable {
    case colour, shape, count, position, missing
}

/// One number per ``AlignmentErrorKind`` (MOS penalties, or how often each kind is drawn).
///
/// ```swift
/// MOSModel().alignmentPenalties[.missing]   // 1.8
/// ```
public struct AlignmentValues: Codable, Sendable, Equatable {
    public var colour: Double
    public var shape: Double
    public var count: Double
    public var position: Double
    public var missing: Double

    public init(colour: Double, shape: Double, count: Double, position: Double, missing: Double) {
        self.colour = colour
        self.shape = shape
        self.count = count
        self.position = position
        self.missing = missing
    }

    public subscript(kind: AlignmentErrorKind) -> Double {
        switch kind {
        case .colour: return colour
        case .shape: return shape
        case .count: return count
        case .position: return position
        case .missing: return missing
        }
    }

    var array: [Double] { AlignmentErrorKind.allCases.map { self[$0] } }
}

/// An alignment error made on group `group` of the intended scene; `detail` says what changed ("red → blue").
///
/// ```swift
/// AlignmentError(kind: .colour, group: 0, detail: "red → blue")
/// ```
public struct AlignmentError: Codable, Sendable, Equatable {
    public var kind: AlignmentErrorKind
    public var group: Int
    public var detail: String

    public init(kind: AlignmentErrorKind, group: Int, detail: String) {
        self.kind = kind
        self.group = group
        self.detail = detail
    }
}

/// Turns an intended scene into what a generator "made", by drawing `errorCount` (group, kind) errors.
///
/// Each (group, kind) pair is used at most once; a missing group carries no other error; a position error must
/// keep the two groups apart (``Placement/isSeparated(from:)``) and is dropped when no placement can. Only the
/// errors that changed the scene are returned, so MOS penalties count visible errors only.
///
/// ```swift
/// var rng = SeededGenerator(seed: 3)
/// let (made, errors) = SceneCorruptor.corrupt(scene, errorCount: 2, kindWeights: weights, using: &rng)
/// ```
public enum SceneCorruptor {
    public static func corrupt(_ intended: Scene, errorCount: Int, kindWeights: AlignmentValues,
                               using rng: inout SeededGenerator) -> (made: Scene, errors: [AlignmentError]) {
        let n = intended.groups.count
        guard n > 0, errorCount > 0 else { return (intended, []) }
        let kinds = AlignmentErrorKind.allCases
        let weights = kindWeights.array
        var picks: [(group: Int, kind: AlignmentErrorKind)] = []
        for _ in 0..<errorCount {
            for _ in 0..<20 {
                let kind = kinds[rng.weightedIndex(weights)]
                let group = rng.int(below: n)
                if picks.contains(where: { $0.group == group && ($0.kind == kind || $0.kind == .missing) }) { continue }
                if kind == .missing { picks.removeAll { $0.group == group } }
                picks.append((group, kind))
                break
            }
        }

        var groups = intended.groups
        var missing = [Bool](repeating: false, count: n)
        var errors: [AlignmentError] = []
        for pick in picks {
            let g = pick.group
            var group = groups[g]
            switch pick.kind {
            case .colour:
                let old = group.colour
                group.colour = pickOther(ColourName.allCases, excluding: old, using: &rng)
                errors.append(AlignmentError(kind: .colour, group: g, detail: "\(old.rawValue) → \(group.colour.rawValue)"))
            case .shape:
                let old = group.shape
                group.shape = pickOther(ShapeKind.allCases, excluding: old, using: &rng)
                errors.append(AlignmentError(kind: .shape, group: g, detail: "\(old.rawValue) → \(group.shape.rawValue)"))
            case .count:
                let old = group.count
                let up = old <= 1 || (old < WorldConstants.maxObjects && rng.bernoulli(0.5))
                group.count = up ? old + 1 : old - 1
                errors.append(AlignmentError(kind: .count, group: g, detail: "\(old) → \(group.count)"))
            case .position:
                let old = group.placement
                let others = (0..<n).filter { $0 != g && !missing[$0] }.map { groups[$0].placement }
                let candidates = Placement.allCases.filter { p in p != old && others.allSatisfy { p.isSeparated(from: $0) } }
                if candidates.isEmpty { continue }
                group.placement = candidates[rng.int(below: candidates.count)]
                errors.append(AlignmentError(kind: .position, group: g, detail: "\(old.rawValue) → \(group.placement.rawValue)"))
            case .missing:
                missing[g] = true
                errors.append(AlignmentError(kind: .missing, group: g, detail: "no \(group.shape.noun(count: 2))"))
            }
            groups[g] = group
        }
        let made = Scene(groups: (0..<n).filter { !missing[$0] }.map { groups[$0] }, background: intended.background)
        return (made, errors)
    }

    private static func pickOther<T: Equatable>(_ all: [T], excluding value: T, using rng: inout SeededGenerator) -> T {
        let others = all.filter { $0 != value }
        return others[rng.int(below: others.count)]
    }
}
