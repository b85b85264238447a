import CBLAS
import CLAPACK
import Foundation

/// Ridge regression with an unpenalised intercept, scikit-learn's `Ridge(alpha=λ, fit_intercept=True)`:
///
///     x̄, ȳ training means,  Xc = X − x̄,  yc = y − ȳ
///     w = (XcᵀXc + λI)⁻¹ Xcᵀ yc = Xcᵀ (XcXcᵀ + λI)⁻¹ yc,   b = ȳ − x̄·w,   ŷ(x) = x·w + b
///
/// One symmetric eigendecomposition (LAPACK `dsyevd`, double precision) of the smaller Gram matrix — `XcᵀXc`
/// (d × d) when d ≤ n, else the kernel `XcXcᵀ` (n × n) — serves every λ and every target column:
/// `G = V diag(e) Vᵀ` gives `(G + λI)⁻¹ r = V diag(1 / (e + λ)) Vᵀ r`.
///
/// ```swift
/// let solver = try RidgeSolver(x: rows)                 // rows: [[Double]], n × d
/// let fit = solver.solve(y: mos, lambda: 1)             // weights, intercept
/// let predicted = fit.predict(testRows)
/// ```
public final class RidgeSolver {
    public let count: Int, width: Int
    let mean: [Double]
    /// Centred rows, row-major n × d.
    let centred: [Double]
    let dual: Bool
    /// Eigenvalues (ascending) and eigenvectors (column j at offset j·m) of the m × m Gram matrix.
    let eigenvalues: [Double]
    let eigenvectors: [Double]

    public init(x: [[Double]]) throws {
        guard x.count >= 2 else { throw ExperimentError.ridge("needs at least 2 rows, got \(x.count)") }
        let d = x[0].count
        guard d > 0, x.allSatisfy({ $0.count == d }) else { throw ExperimentError.ridge("feature rows must be non-empty and of equal width") }
        if let i = x.firstIndex(where: { !$0.allSatisfy(\.isFinite) }) { throw ExperimentError.ridge("row \(i) holds a non-finite feature") }
        let n = x.count
        count = n
        width = d
        var mean = [Double](repeating: 0, count: d)
        for row in x { for j in 0..<d { mean[j] += row[j] } }
        for j in 0..<d { mean[j] /= Double(n) }
        self.mean = mean
        var c = [Double](repeating: 0, count: n * d)
        for (i, row) in x.enumerated() { for j in 0..<d { c[i * d + j] = row[j] - mean[j] } }
        centred = c
        dual = n < d
        let m = dual ? n : d
        var gram = [Double](repeating: 0, count: m * m)
        if dual {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(d), 1, c, Int32(d), c, Int32(d), 0, &gram, Int32(n))
        } else {
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(d), Int32(n), 1, c, Int32(d), c, Int32(d), 0, &gram, Int32(d))
        }
        (eigenvalues, eigenvectors) = try Self.eigen(symmetric: gram, size: m)
    }

    /// The fit for one target column and one λ > 0.
    public func solve(y: [Double], lambda: Double) -> RidgeFit {
        precondition(y.count == count && lambda > 0)
        let n = count, d = width, m = eigenvalues.count
        let yMean = y.reduce(0, +) / Double(n)
        let yc = y.map { $0 - yMean }
        // r = Xcᵀ yc (primal) or yc (dual); z = V diag(1/(e+λ)) Vᵀ r.
        var r = [Double](repeating: 0, count: m)
        if dual { r = yc } else { cblas_dgemv(CblasRowMajor, CblasTrans, Int32(n), Int32(d), 1, centred, Int32(d), yc, 1, 0, &r, 1) }
        var p = [Double](repeating: 0, count: m)
        // Column-major V: Vᵀ r = (row-major view of V is Vᵀ) · r.
        cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(m), 1, eigenvectors, Int32(m), r, 1, 0, &p, 1)
        for j in 0..<m { p[j] /= eigenvalues[j] + lambda }
        var z = [Double](repeating: 0, count: m)
        cblas_dgemv(CblasRowMajor, CblasTrans, Int32(m), Int32(m), 1, eigenvectors, Int32(m), p, 1, 0, &z, 1)
        var w = z
        if dual {
            w = [Double](repeating: 0, count: d)
            cblas_dgemv(CblasRowMajor, CblasTrans, Int32(n), Int32(d), 1, centred, Int32(d), z, 1, 0, &w, 1)
        }
        let b = yMean - zip(mean, w).reduce(0) { $0 + $1.0 * $1.1 }
        return RidgeFit(weights: w, intercept: b, lambda: lambda)
    }

    static func eigen(symmetric a: [Double], size m: Int) throws -> ([Double], [Double]) {
        var a = a
        var w = [Double](repeating: 0, count: m)
        var n = Int32(m), lda = Int32(m), info: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery = [Double](repeating: 0, count: 1), iworkQuery = [Int32](repeating: 0, count: 1)
        "V".withCString { jobz in "U".withCString { uplo in
            dsyevd_(jobz, uplo, &n, &a, &lda, &w, &workQuery, &lwork, &iworkQuery, &liwork, &info)
        } }
        guard info == 0 else { throw ExperimentError.ridge("LAPACK dsyevd workspace query failed (info \(info))") }
        lwork = Int32(workQuery[0])
        liwork = iworkQuery[0]
        var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        "V".withCString { jobz in "U".withCString { uplo in
            dsyevd_(jobz, uplo, &n, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        } }
        guard info == 0 else { throw ExperimentError.ridge("LAPACK dsyevd did not converge (info \(info))") }
        return (w, a)
    }
}

/// A fitted ridge model: `ŷ(x) = x · weights + intercept`.
public struct RidgeFit: Codable, Sendable, Equatable {
    public var weights: [Double]
    public var intercept: Double
    public var lambda: Double

    public func predict(_ x: [[Double]]) -> [Double] {
        x.map { row in zip(row, weights).reduce(intercept) { $0 + $1.0 * $1.1 } }
    }
}

/// The ridge probe's model selection: λ by grouped k-fold cross-validation on the training rows only.
///
/// Groups are numbered in order of first appearance and group `g` goes to fold `g mod k` (a prompt never lies in
/// both parts of a fold, as the split protocol's rule); the λ with the smallest mean squared error over all held-out
/// rows wins (ties: the smaller λ), per target column.
///
/// ```swift
/// let cv = try RidgeProbe.crossValidate(x: rows, ys: [quality, alignment], groups: prompts)
/// let fits = try RidgeProbe.fit(x: rows, ys: [quality, alignment], lambdas: cv.map(\.lambda))
/// ```
public enum RidgeProbe {
    /// 10⁻³ … 10³ in steps of 10^½ (13 values).
    public static let defaultLambdas: [Double] = (0...12).map { Foundation.pow(10, -3 + Double($0) / 2) }
    public static let defaultFolds = 5

    public struct CrossValidation: Codable, Sendable, Equatable {
        public var lambda: Double
        public var lambdas: [Double]
        public var meanSquaredErrors: [Double]
        public var folds: Int
    }

    /// Fold of each row and the number of folds (`folds`, or fewer when there are fewer groups).
    public static func foldAssignment(groups: [String], folds: Int) -> (fold: [Int], k: Int) {
        var index: [String: Int] = [:]
        for g in groups where index[g] == nil { index[g] = index.count }
        let k = max(1, min(folds, index.count))
        return (groups.map { index[$0]! % k }, k)
    }

    /// One ``CrossValidation`` per target column of `ys`.
    public static func crossValidate(x: [[Double]], ys: [[Double]], groups: [String], lambdas: [Double] = defaultLambdas,
                                     folds: Int = defaultFolds) throws -> [CrossValidation] {
        guard groups.count == x.count, ys.allSatisfy({ $0.count == x.count }) else {
            throw ExperimentError.ridge("\(x.count) feature rows, \(groups.count) groups and target columns of \(ys.map(\.count)) values")
        }
        guard !lambdas.isEmpty, lambdas.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw ExperimentError.ridge("λ candidates must be positive and finite") }
        if let i = ys.joined().firstIndex(where: { !$0.isFinite }) { throw ExperimentError.ridge("target value \(i) is not finite") }
        let (fold, k) = foldAssignment(groups: groups, folds: folds)
        guard k >= 2 else { throw ExperimentError.ridge("cross-validation needs at least 2 groups, got \(k)") }
        var sse = [[Double]](repeating: [Double](repeating: 0, count: lambdas.count), count: ys.count)
        for f in 0..<k {
            let train = x.indices.filter { fold[$0] != f }, held = x.indices.filter { fold[$0] == f }
            let solver = try RidgeSolver(x: train.map { x[$0] })
            let heldRows = held.map { x[$0] }
            for (t, y) in ys.enumerated() {
                let yTrain = train.map { y[$0] }
                for (l, lambda) in lambdas.enumerated() {
                    for (p, i) in zip(solver.solve(y: yTrain, lambda: lambda).predict(heldRows), held) { sse[t][l] += (p - y[i]) * (p - y[i]) }
                }
            }
        }
        return sse.map { errors in
            let mse = errors.map { $0 / Double(x.count) }
            var best = 0
            for i in mse.indices where mse[i] < mse[best] { best = i }
            return CrossValidation(lambda: lambdas[best], lambdas: lambdas, meanSquaredErrors: mse, folds: k)
        }
    }

    /// Fits each target column with its λ on all rows.
    public static func fit(x: [[Double]], ys: [[Double]], lambdas: [Double]) throws -> [RidgeFit] {
        let solver = try RidgeSolver(x: x)
        return zip(ys, lambdas).map { solver.solve(y: $0, lambda: $1) }
    }
}
