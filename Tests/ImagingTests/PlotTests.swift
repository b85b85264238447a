import Foundation
import Testing
@testable import Imaging

/// Saves a plot when IMAGING_PLOT_DIR is set (to look at it by eye), otherwise does nothing.
private func keep(_ image: RGBImage, _ name: String) throws {
    guard let dir = ProcessInfo.processInfo.environment["IMAGING_PLOT_DIR"] else { return }
    try ImageCodec.writePNG(image, to: URL(fileURLWithPath: dir).appendingPathComponent(name))
}

/// Number of distinct colours and of non-background pixels.
private func content(_ image: RGBImage, background: RGBColor = .white) -> (colors: Int, ink: Int) {
    var colors = Set<Int>(), ink = 0
    for i in stride(from: 0, to: image.pixels.count, by: 3) {
        let (r, g, b) = (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
        colors.insert(Int(r) << 16 | Int(g) << 8 | Int(b))
        if RGBColor(r, g, b) != background { ink += 1 }
    }
    return (colors.count, ink)
}

@Suite("raster plots render with the right size and real content")
struct PlotTests {
    @Test("scatter: requested size, axes/text/points drawn (≥ 2 % ink, several colours), survives NaN and empty input")
    func scatter() throws {
        let x = (0..<200).map { Double($0) / 40 }
        let y = x.map { 0.8 * $0 + sin($0 * 3) }
        let image = Plot.scatter(x: x, y: y, title: "PRED VS MOS", xLabel: "MOS", yLabel: "PREDICTED", size: 400)
        #expect(image.width == 400 && image.height == 400)
        let (colors, ink) = content(image)
        #expect(colors >= 4 && ink > 400 * 400 / 50, "colors \(colors) ink \(ink)")
        try keep(image, "scatter.png")
        let degenerate = Plot.scatter(x: [.nan, 1, .infinity], y: [2, 2], title: "", xLabel: "", yLabel: "", size: 10)
        #expect(degenerate.width == Plot.minimumSize)
        // Empty input still draws a plot of the default size (that of any plot drawn without a size).
        #expect(Plot.scatter(x: [], y: [], title: "EMPTY", xLabel: "X", yLabel: "Y").width
                == Plot.scatter(x: x, y: y, title: "", xLabel: "", yLabel: "").width)
    }

    @Test("lines: every series colour appears, legend drawn, single-point and constant series handled")
    func lines() throws {
        let loss = (0..<30).map { 1.0 / Double($0 + 1) + 0.05 }
        let srcc = (0..<30).map { 0.9 - 0.6 / Double($0 + 1) }
        let image = Plot.lines(series: [("train loss", loss), ("val srcc", srcc)], title: "TRAINING",
                               xLabel: "EPOCH", yLabel: "VALUE", size: 480)
        #expect(image.width == 480 && image.height == 480)
        var seen = Set<Int>()
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            seen.insert(Int(image.pixels[i]) << 16 | Int(image.pixels[i + 1]) << 8 | Int(image.pixels[i + 2]))
        }
        for color in RGBColor.palette.prefix(2) {
            #expect(seen.contains(Int(color.r) << 16 | Int(color.g) << 8 | Int(color.b)))
        }
        try keep(image, "lines.png")
        let odd = Plot.lines(series: [("one", [0.5]), ("flat", [1, 1, 1])], title: "T", xLabel: "E")
        #expect(content(odd).ink > 1000)
    }

    @Test("attention overlay: same size, hot cell turns red-ish, cold cell blue-ish, bad grid returns the image")
    func attention() throws {
        let image = RGBImage(width: 70, height: 70, fill: (128, 128, 128))
        var weights = [Float](repeating: 0, count: 49)
        weights[0] = 1  // top-left hot
        let overlay = Plot.attentionOverlay(image, weights: weights, gridWidth: 7, gridHeight: 7)
        #expect(overlay.width == 70 && overlay.height == 70)
        let hot = overlay.pixel(x: 2, y: 2)!, cold = overlay.pixel(x: 66, y: 66)!
        #expect(hot.r > hot.b && cold.b > cold.r, "hot \(hot) cold \(cold)")
        #expect(cold == (64, 64, 128))  // (128 + jet(0) = (0, 0, 128)) / 2, rounded
        try keep(overlay, "attention.png")
        #expect(Plot.attentionOverlay(image, weights: [1, 2], gridWidth: 7, gridHeight: 7) == image)
    }

    @Test("jet colour map endpoints and midpoint")
    func jet() {
        #expect(ColorMap.jet(0) == RGBColor(0, 0, 128))
        #expect(ColorMap.jet(0.5) == RGBColor(128, 255, 128))
        #expect(ColorMap.jet(1) == RGBColor(128, 0, 0))
        #expect(ColorMap.jet(.nan) == ColorMap.jet(0))
    }

    @Test("canvas drawing is clipped: out-of-range shapes and text never crash")
    func canvasClipping() {
        var canvas = Canvas(width: 20, height: 10, background: .black)
        canvas.drawLine(x0: -1_000_000, y0: -5, x1: 1_000_000, y1: 50, color: .white, thickness: 3)
        canvas.drawCircle(cx: 25, cy: -3, radius: 8, color: .white)
        canvas.drawText("0123456789 ABC.-:", x: -7, y: 4, scale: 2, color: .white)
        canvas.fillRect(x: 15, y: 5, width: 100, height: 100, color: .white)
        #expect(canvas.image.pixels.count == 20 * 10 * 3)
        #expect(canvas.image.pixel(x: 19, y: 9)! == (255, 255, 255))
        #expect(BitmapFont.textWidth("AB", scale: 2) == 22)
    }
}
