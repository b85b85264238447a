import Foundation
import Testing
import Tensor
@testable import SynthAGI

@Suite("SynthAGI rendering: each error type changes the picture")
struct RenderingTests {
    let base = Scene(groups: [ObjectGroup(shape: .circle, colour: .red, count: 1, placement: .left)],
                     background: plainBackground())

    func draw(_ scene: Scene, style: RenderStyle = .natural, seed: UInt64 = 4) -> SynthImage {
        var rng = SeededGenerator(seed: seed)
        return SceneRenderer.image(scene, style: style, size: 64, using: &rng)
    }

    var empty: SynthImage { draw(Scene(groups: [], background: base.background)) }

    @Test("wrong colour turns red object pixels blue")
    func colourError() {
        var blue = base
        blue.groups[0].colour = .blue
        let a = draw(base), b = draw(blue)
        let mask = objectMask(a, background: empty)
        let (ra, _, ba) = meanColour(a, mask), (rb, _, bb) = meanColour(b, mask)
        #expect(ra > ba + 100 && bb > rb + 100)
    }

    @Test("wrong shape, wrong count and a missing object change the object area")
    func shapeCountMissing() {
        var shape = base, count = base, missing = base
        shape.groups[0].shape = .ring
        count.groups[0].count = 3
        missing.groups = []
        let area = { (img: SynthImage) in objectMask(img, background: self.empty).filter { $0 }.count }
        let a0 = area(draw(base))
        #expect(a0 > 100)
        #expect(area(draw(shape)) < a0 - 40)        // a ring has a hole
        #expect(area(draw(count)) > a0 + 40)        // three smaller circles cover more
        #expect(area(draw(missing)) == 0)
    }

    @Test("wrong position moves the object centroid from left to right")
    func positionError() {
        var moved = base
        moved.groups[0].placement = .right
        func centroidX(_ img: SynthImage) -> Double {
            let mask = objectMask(img, background: empty)
            let xs = mask.indices.filter { mask[$0] }.map { Double($0 % 64) }
            return xs.reduce(0, +) / Double(max(1, xs.count))
        }
        #expect(centroidX(draw(base)) < 20 && centroidX(draw(moved)) > 44)
    }

    @Test("SceneCorruptor records only visible errors and keeps groups apart")
    func corruptor() {
        let two = Scene(groups: [ObjectGroup(shape: .star, colour: .green, count: 2, placement: .topLeft),
                                 ObjectGroup(shape: .square, colour: .white, count: 1, placement: .bottomRight)],
                        background: plainBackground())
        var rng = SeededGenerator(seed: 2)
        let weights = WorldConfiguration().alignmentKindWeights
        for _ in 0..<300 {
            let (made, errors) = SceneCorruptor.corrupt(two, errorCount: 3, kindWeights: weights, using: &rng)
            let missing = Set(errors.filter { $0.kind == .missing }.map(\.group))
            #expect(made.groups.count == 2 - missing.count)
            #expect(errors.allSatisfy { !missing.contains($0.group) || $0.kind == .missing })
            if made.groups.count == 2 { #expect(made.groups[0].placement.isSeparated(from: made.groups[1].placement)) }
            if errors.isEmpty { #expect(made == two) } else { #expect(made != two) }
        }
    }

    @Test("blur lowers and noise raises high-frequency energy, monotonically in severity")
    func blurAndNoise() {
        let img = draw(base, style: .agi)
        func degrade(_ kind: QualityKind, _ s: Double) -> SynthImage {
            var rng = SeededGenerator(seed: 8)
            return Degrader.apply([QualityDegradation(kind: kind, severity: s)], to: img, using: &rng)
        }
        let e0 = highFrequencyEnergy(img)
        #expect(highFrequencyEnergy(degrade(.blur, 0.2)) < 0.8 * e0)
        #expect(highFrequencyEnergy(degrade(.blur, 1)) < 0.5 * highFrequencyEnergy(degrade(.blur, 0.2)))
        #expect(highFrequencyEnergy(degrade(.noise, 0.3)) > 1.5 * e0)
        #expect(highFrequencyEnergy(degrade(.noise, 1)) > 2 * highFrequencyEnergy(degrade(.noise, 0.3)))
    }

    @Test("blockiness adds 8×8 block edges, colour cast shifts the mean colour, smear changes pixels")
    func blockCastSmear() {
        let img = draw(Scene(groups: [ObjectGroup(shape: .star, colour: .yellow, count: 3, placement: .centre)],
                             background: Background(kind: .gradient, base: RGB(100, 110, 120), accent: RGB(150, 150, 140), angle: 0.7)),
                       style: .agi)
        var rng = SeededGenerator(seed: 3)
        let blocky = Degrader.apply([QualityDegradation(kind: .blockiness, severity: 1)], to: img, using: &rng)
        func boundaryRatio(_ im: SynthImage) -> Double {
            var edge = 0.0, inner = 0.0
            for y in 0..<64 {
                for x in 0..<63 {
                    let i = (y * 64 + x) * 3
                    let d = abs(Double(im.pixels[i + 1]) - Double(im.pixels[i + 4]))
                    if x % 8 == 7 { edge += d } else { inner += d / 6 }
                }
            }
            return edge / max(inner, 1e-9)
        }
        #expect(boundaryRatio(blocky) > 1.3 * boundaryRatio(img))
        let cast = Degrader.apply([QualityDegradation(kind: .colourCast, severity: 1)], to: img, using: &rng)
        let all = [Bool](repeating: true, count: 64 * 64)
        let (r0, g0, b0) = meanColour(img, all), (r1, g1, b1) = meanColour(cast, all)
        #expect(max(abs(r1 - r0), abs(g1 - g0), abs(b1 - b0)) > 25)
        let smeared = Degrader.apply([QualityDegradation(kind: .smear, severity: 1)], to: img, using: &rng)
        let changed = zip(img.pixels, smeared.pixels).filter { abs(Int($0) - Int($1)) > 8 }.count
        #expect(changed > 300)
        #expect(highFrequencyEnergy(smeared) < highFrequencyEnergy(img))
    }

    @Test("agi style differs from natural (shadow, outline, shading) on the same scene")
    func styles() {
        let n = draw(base, style: .natural), a = draw(base, style: .agi)
        let differing = zip(n.pixels, a.pixels).filter { abs(Int($0) - Int($1)) > 10 }.count
        #expect(differing > 1000)
    }

    @Test("signed distances: exact for circle/box/ring, correct sign and edge distance for polygons (tol 1e-5)")
    func sdf() {
        #expect(abs(ShapeSDF.distance(.circle, 0.3, 0.4) - (0.5 - 0.95)) < 1e-5)
        #expect(abs(ShapeSDF.distance(.square, 2, 0) - 1.2) < 1e-5)
        #expect(abs(ShapeSDF.distance(.square, 1.8, 1.8) - Float(2).squareRoot()) < 1e-5)
        #expect(abs(ShapeSDF.distance(.ring, 0, 0) - 0.48) < 1e-5)
        #expect(ShapeSDF.distance(.ring, 0.72, 0) < 0)
        // Triangle base edge is y = 0.6: a point below it at (0, 1) is 0.4 away; the centre is inside.
        #expect(abs(ShapeSDF.distance(.triangle, 0, 1) - 0.4) < 1e-5)
        #expect(ShapeSDF.distance(.triangle, 0, 0.1) < 0)
        #expect(ShapeSDF.distance(.star, 0, 0) < 0 && ShapeSDF.distance(.star, 0, -1.0) < 0)
        #expect(ShapeSDF.distance(.star, 0, 0.8) > 0)   // between the two lower points
        #expect(abs(ShapeSDF.distance(.cross, 0, 1.2) - 0.25) < 1e-5 && ShapeSDF.distance(.cross, 0.6, 0.6) > 0)
    }
}

@Suite("SynthAGI kernels against scipy / Pillow")
struct KernelReferenceTests {
    @Test("JPEG quantisation tables equal Pillow/libjpeg's at qualities 5, 20, 50, 80, 92 (exact)")
    func jpegTables() {
        for (q, (luma, chroma)) in ReferenceValues.jpegTables {
            #expect(BlockQuantizer.table(BlockQuantizer.luma, quality: Float(q)) == luma, "quality \(q)")
            #expect(BlockQuantizer.table(BlockQuantizer.chroma, quality: Float(q)) == chroma, "quality \(q)")
        }
    }

    @Test("8×8 DCT equals scipy dctn(norm=ortho) (abs tol 1e-3) and inverts exactly (tol 1e-3)")
    func dct() {
        var block = ReferenceValues.dctInput, tmp = [Float](repeating: 0, count: 64)
        BlockQuantizer.transform(&block, &tmp, inverse: false)
        #expect(zip(block, ReferenceValues.dctOutput).allSatisfy { abs($0 - $1) < 1e-3 })
        BlockQuantizer.transform(&block, &tmp, inverse: true)
        #expect(zip(block, ReferenceValues.dctInput).allSatisfy { abs($0 - $1) < 1e-3 })
    }

    @Test("Gaussian blur equals scipy gaussian_filter(mode=nearest, truncate=3) for σ = 1, 1.5 (abs tol 1e-3)")
    func blur() {
        for (sigma, expected) in [(Float(1), ReferenceValues.blurSigma1), (1.5, ReferenceValues.blurSigma15)] {
            var canvas = Canvas(width: ReferenceValues.blurSize.width, height: ReferenceValues.blurSize.height)
            canvas.data = ReferenceValues.blurInput
            Degrader.blur(&canvas, sigma: sigma)
            let err = zip(canvas.data, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(err < 1e-3, "σ = \(sigma): max error \(err)")
        }
    }
}
