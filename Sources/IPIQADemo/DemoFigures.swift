import Foundation
import Imaging

/// The demo's pictures: a scatter plot of IP-IQA's predictions against the MOS (quality and alignment side by
/// side), and a grid of cross-modality attention overlays — each test image upscaled, the head-averaged attention
/// of the prompt's query over the `g × g` feature grid (mean token dropped) blended in (`Plot.attentionOverlay`),
/// with the prompt, MOS and prediction written underneath.
///
/// ```swift
/// try DemoFigures.writeScatter(figures, to: dir.appendingPathComponent("scatter.png"))
/// ```
enum DemoFigures {
    static let tile = 160
    static let columns = 4
    static let captionLines = 5

    static func writeScatter(_ f: DemoFigureData, to url: URL) throws {
        let names = ["QUALITY", "ALIGNMENT"]
        let plots = (0..<2).map { k in
            Plot.scatter(x: f.mos.map { $0[k] }, y: f.predictions.map { $0[k] }, title: f.title + " " + names[k] + " (TEST SPLIT 1)",
                         xLabel: "MOS", yLabel: "PREDICTED")
        }
        var canvas = Imaging.Canvas(width: plots[0].width * 2, height: plots[0].height)
        for (k, p) in plots.enumerated() { blit(p, into: &canvas, x: k * plots[0].width, y: 0) }
        try write(canvas.image, to: url)
    }

    static func writeAttention(_ f: DemoFigureData, grid: Int, to url: URL) throws {
        let n = f.attention.count
        guard n > 0 else { return }
        let lineHeight = BitmapFont.textHeight(scale: 1) + 3
        let cellHeight = tile + captionLines * lineHeight + 8
        let rows = (n + columns - 1) / columns
        let header = 8 + lineHeight
        var canvas = Imaging.Canvas(width: columns * (tile + 8) + 8, height: header + rows * cellHeight + 8)
        canvas.drawText(f.title + ": CROSS-MODALITY ATTENTION (TEST SPLIT 1)", x: 8, y: 6)
        for (k, i) in f.shown.prefix(n).enumerated() {
            let x = 8 + (k % columns) * (tile + 8), y = header + (k / columns) * cellHeight
            let image = try ImageCodec.decode(contentsOf: f.images[i])
            let big = resize(image, width: tile, height: tile)
            let weights = Array(f.attention[k].dropFirst())
            blit(Plot.attentionOverlay(big, weights: weights, gridWidth: grid, gridHeight: grid), into: &canvas, x: x, y: y)
            var lines = wrap(f.prompts[i].uppercased(), width: tile / BitmapFont.advance)
            lines = Array(lines.prefix(captionLines - 2))
            lines.append(String(format: "MOS Q %.2f A %.2f", f.mos[i][0], f.mos[i][1]))
            lines.append(String(format: "PRED Q %.2f A %.2f", f.predictions[i][0], f.predictions[i][1]))
            for (k, line) in lines.enumerated() { canvas.drawText(line, x: x, y: y + tile + 4 + k * lineHeight) }
        }
        try write(canvas.image, to: url)
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], current = ""
        for word in text.split(separator: " ") {
            if current.isEmpty { current = String(word) } else if current.count + 1 + word.count <= width { current += " " + word } else {
                lines.append(current); current = String(word)
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    static func blit(_ image: RGBImage, into canvas: inout Imaging.Canvas, x: Int, y: Int) {
        for py in 0..<image.height {
            for px in 0..<image.width {
                let i = (py * image.width + px) * 3
                canvas.setPixel(x: x + px, y: y + py, color: RGBColor(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]))
            }
        }
    }

    static func write(_ image: RGBImage, to url: URL) throws {
        do { try DemoFiles.writeAtomically(try ImageCodec.encodePNG(image), to: url) } catch let e as DemoError { throw e } catch {
            throw DemoError.writeFailed(path: url.path, reason: error.localizedDescription)
        }
    }
}
