import Foundation

/// Simple raster plots rendered to `RGBImage` (write them with `ImageCodec.writePNG`): scatter plots
/// (predicted vs. ground-truth scores), line plots (loss / SRCC curves with a legend) and attention heat-map
/// overlays. Axes carry ticks at 1-2-5 steps with numeric labels; text uses the built-in `BitmapFont`.
/// Non-finite values are skipped.
///
/// ```swift
/// let png = Plot.scatter(x: mos, y: predicted, title: "AGIQA-3K", xLabel: "MOS", yLabel: "PREDICTED")
/// try ImageCodec.writePNG(png, to: url)
/// ```
public enum Plot {
    /// Smallest accepted plot size in pixels (smaller requests are raised to it).
    public static let minimumSize = 160

    /// Scatter plot of `(x[i], y[i])` pairs (extra elements of the longer array are ignored), `size × size` pixels.
    public static func scatter(x: [Double], y: [Double], title: String, xLabel: String, yLabel: String,
                               size: Int = 480) -> RGBImage {
        let side = max(minimumSize, size)
        let n = min(x.count, y.count)
        let pairs = (0..<n).map { (x[$0], y[$0]) }.filter { $0.0.isFinite && $0.1.isFinite }
        let xAxis = PlotAxis(values: pairs.map(\.0)), yAxis = PlotAxis(values: pairs.map(\.1))
        var canvas = Canvas(width: side, height: side, background: .white)
        let frame = PlotFrame(size: side)
        frame.drawAxes(on: &canvas, x: xAxis, y: yAxis, title: title, xLabel: xLabel, yLabel: yLabel)
        let radius = pairs.count > 2000 ? 1 : 2
        for (vx, vy) in pairs {
            canvas.drawCircle(cx: xAxis.pixel(vx, from: frame.left, to: frame.right),
                              cy: yAxis.pixel(vy, from: frame.bottom, to: frame.top),
                              radius: radius, color: RGBColor.palette[0], alpha: 0.7)
        }
        return canvas.image
    }

    /// Line plot of several series against their 1-based index (epoch), with a legend in the top-right corner.
    public static func lines(series: [(name: String, values: [Double])], title: String, xLabel: String,
                             yLabel: String = "", size: Int = 480) -> RGBImage {
        let side = max(minimumSize, size)
        let longest = series.map(\.values.count).max() ?? 0
        let xAxis = PlotAxis(values: [1, Double(max(1, longest))], pad: 0.02)
        let yAxis = PlotAxis(values: series.flatMap(\.values))
        var canvas = Canvas(width: side, height: side, background: .white)
        let frame = PlotFrame(size: side)
        frame.drawAxes(on: &canvas, x: xAxis, y: yAxis, title: title, xLabel: xLabel, yLabel: yLabel)
        for (s, entry) in series.enumerated() {
            let color = RGBColor.palette[s % RGBColor.palette.count]
            var previous: (Int, Int)?
            for (i, value) in entry.values.enumerated() {
                guard value.isFinite else { previous = nil; continue }
                let point = (xAxis.pixel(Double(i + 1), from: frame.left, to: frame.right),
                             yAxis.pixel(value, from: frame.bottom, to: frame.top))
                if let p = previous {
                    canvas.drawLine(x0: p.0, y0: p.1, x1: point.0, y1: point.1, color: color, thickness: 2)
                } else if entry.values.count == 1 {
                    canvas.drawCircle(cx: point.0, cy: point.1, radius: 2, color: color)
                }
                previous = point
            }
        }
        drawLegend(on: &canvas, names: series.map(\.name), right: frame.right - 6, top: frame.top + 6)
        return canvas.image
    }

    /// Heat-map overlay: `weights` (row-major `gridHeight × gridWidth`, e.g. CLIP attention over the 7×7 grid)
    /// are min–max normalised, bilinearly upsampled to the image (pixel centres, edges clamped), coloured with
    /// `ColorMap.jet` and blended with alpha 0.5: `out = 0.5·image + 0.5·jet(w)`.
    /// If `weights.count != gridWidth · gridHeight` or the grid is empty, the image is returned unchanged.
    public static func attentionOverlay(_ image: RGBImage, weights: [Float], gridWidth: Int, gridHeight: Int) -> RGBImage {
        guard gridWidth > 0, gridHeight > 0, weights.count == gridWidth * gridHeight,
              image.width > 0, image.height > 0 else { return image }
        let finite = weights.filter { $0.isFinite }
        let lo = finite.min() ?? 0, hi = finite.max() ?? 0
        let range = hi > lo ? hi - lo : 1
        let grid = weights.map { $0.isFinite ? Double(($0 - lo) / range) : 0 }
        func coordinate(_ i: Int, _ outSize: Int, _ inSize: Int) -> (Int, Int, Double) {
            let p = min(Double(inSize - 1), max(0, (Double(i) + 0.5) * Double(inSize) / Double(outSize) - 0.5))
            let i0 = Int(p.rounded(.down))
            return (i0, min(i0 + 1, inSize - 1), p - Double(i0))
        }
        var out = image.validatedPixels
        for y in 0..<image.height {
            let (y0, y1, fy) = coordinate(y, image.height, gridHeight)
            for x in 0..<image.width {
                let (x0, x1, fx) = coordinate(x, image.width, gridWidth)
                let top = grid[y0 * gridWidth + x0] * (1 - fx) + grid[y0 * gridWidth + x1] * fx
                let bottom = grid[y1 * gridWidth + x0] * (1 - fx) + grid[y1 * gridWidth + x1] * fx
                let color = ColorMap.jet(top * (1 - fy) + bottom * fy)
                let i = (y * image.width + x) * 3
                out[i] = UInt8((Int(out[i]) + Int(color.r) + 1) / 2)
                out[i + 1] = UInt8((Int(out[i + 1]) + Int(color.g) + 1) / 2)
                out[i + 2] = UInt8((Int(out[i + 2]) + Int(color.b) + 1) / 2)
            }
        }
        return RGBImage(uncheckedWidth: image.width, height: image.height, pixels: out)
    }

    private static func drawLegend(on canvas: inout Canvas, names: [String], right: Int, top: Int) {
        guard !names.isEmpty else { return }
        let scale = PlotFrame.textScale, lineHeight = 14
        let textWidth = names.map { BitmapFont.textWidth($0, scale: scale) }.max() ?? 0
        let boxWidth = textWidth + 34, boxHeight = names.count * lineHeight + 8
        let left = right - boxWidth
        canvas.fillRect(x: left, y: top, width: boxWidth, height: boxHeight, color: .white)
        canvas.strokeRect(x: left, y: top, width: boxWidth, height: boxHeight, color: .grey)
        for (i, name) in names.enumerated() {
            let y = top + 4 + i * lineHeight + lineHeight / 2
            let color = RGBColor.palette[i % RGBColor.palette.count]
            canvas.drawLine(x0: left + 6, y0: y, x1: left + 24, y1: y, color: color, thickness: 3)
            canvas.drawText(name, x: left + 30, y: y - BitmapFont.textHeight(scale: scale) / 2, scale: scale)
        }
    }
}
