import Foundation

/// Axis range and "nice" ticks (steps of 1, 2 or 5 × 10^k) for the raster plots.
///
/// ```swift
/// let axis = PlotAxis(values: [0.12, 0.93])   // ticks 0.2, 0.4, 0.6, 0.8 over [0.12, 0.93] padded
/// ```
struct PlotAxis {
    let lower: Double
    let upper: Double
    let ticks: [Double]
    let decimals: Int

    /// Covers the finite `values` (padded by 5 % of the span); a constant or empty series gets a unit-wide range.
    init(values: [Double], targetTicks: Int = 5, pad: Double = 0.05) {
        let finite = values.filter { $0.isFinite }
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        if hi - lo <= max(abs(hi), abs(lo)) * 1e-12 {
            let half = lo == 0 ? 0.5 : abs(lo) * 0.1
            lo -= half
            hi += half
        }
        let span = hi - lo
        lo -= span * pad
        hi += span * pad
        let rawStep = (hi - lo) / Double(max(1, targetTicks))
        let magnitude = pow(10, floor(log10(rawStep)))
        let fraction = rawStep / magnitude
        let step = (fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10) * magnitude
        var ticks: [Double] = []
        var tick = (lo / step).rounded(.up) * step
        while tick <= hi + step * 1e-9 && ticks.count < 50 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        lower = lo
        upper = hi
        self.ticks = ticks
        decimals = max(0, Int(-floor(log10(step) + 1e-9)))
    }

    /// Maps a value to a pixel coordinate between `start` (value = lower) and `end` (value = upper).
    func pixel(_ value: Double, from start: Int, to end: Int) -> Int {
        let t = (value - lower) / (upper - lower)
        let p = Double(start) + t * Double(end - start)
        return Int(min(1e6, max(-1e6, p)).rounded())
    }

    func label(_ value: Double) -> String { String(format: "%.\(decimals)f", value) }
}

/// Plot frame geometry shared by `Plot.scatter` and `Plot.lines`.
struct PlotFrame {
    static let textScale = 1
    static let titleScale = 2
    let left: Int, right: Int, top: Int, bottom: Int

    init(size: Int) {
        left = 62
        right = size - 16
        top = 36
        bottom = size - 44
    }

    /// Draws title, axes, ticks with numeric labels, light grid lines and the axis labels.
    func drawAxes(on canvas: inout Canvas, x: PlotAxis, y: PlotAxis, title: String, xLabel: String, yLabel: String) {
        let scale = PlotFrame.textScale
        let titleWidth = BitmapFont.textWidth(title, scale: PlotFrame.titleScale)
        canvas.drawText(title, x: (canvas.width - titleWidth) / 2, y: 10, scale: PlotFrame.titleScale)
        for tick in x.ticks {
            let px = x.pixel(tick, from: left, to: right)
            canvas.drawLine(x0: px, y0: top, x1: px, y1: bottom, color: .lightGrey)
            canvas.drawLine(x0: px, y0: bottom, x1: px, y1: bottom + 4, color: .black)
            let text = x.label(tick)
            canvas.drawText(text, x: px - BitmapFont.textWidth(text, scale: scale) / 2, y: bottom + 8, scale: scale)
        }
        for tick in y.ticks {
            let py = y.pixel(tick, from: bottom, to: top)
            canvas.drawLine(x0: left, y0: py, x1: right, y1: py, color: .lightGrey)
            canvas.drawLine(x0: left - 4, y0: py, x1: left, y1: py, color: .black)
            let text = y.label(tick)
            canvas.drawText(text, x: left - 7 - BitmapFont.textWidth(text, scale: scale),
                            y: py - BitmapFont.textHeight(scale: scale) / 2, scale: scale)
        }
        canvas.strokeRect(x: left, y: top, width: right - left + 1, height: bottom - top + 1, color: .black)
        let xWidth = BitmapFont.textWidth(xLabel, scale: scale)
        canvas.drawText(xLabel, x: (left + right - xWidth) / 2, y: bottom + 24, scale: scale)
        let yWidth = BitmapFont.textWidth(yLabel, scale: scale)
        canvas.drawTextVertical(yLabel, x: 6, y: (top + bottom - yWidth) / 2, scale: scale)
    }
}
