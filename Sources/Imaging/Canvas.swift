import Foundation

/// An 8-bit RGB colour.
///
/// ```swift
/// let orange = RGBColor(255, 127, 14)
/// ```
public struct RGBColor: Sendable, Equatable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
    public static let white = RGBColor(255, 255, 255)
    public static let black = RGBColor(0, 0, 0)
    public static let grey = RGBColor(128, 128, 128)
    public static let lightGrey = RGBColor(225, 225, 225)
    /// Matplotlib's "tab10" cycle, for series colours.
    public static let palette: [RGBColor] = [
        RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40),
        RGBColor(148, 103, 189), RGBColor(140, 86, 75), RGBColor(227, 119, 194), RGBColor(127, 127, 127),
        RGBColor(188, 189, 34), RGBColor(23, 190, 207),
    ]
}

/// A raster drawing surface (origin top-left, x right, y down). Everything is clipped to the canvas, so
/// out-of-range coordinates never crash.
///
/// ```swift
/// var canvas = Canvas(width: 200, height: 100, background: .white)
/// canvas.drawLine(x0: 10, y0: 90, x1: 190, y1: 10, color: .black, thickness: 2)
/// canvas.drawText("EPOCH 3", x: 10, y: 10, scale: 2)
/// try ImageCodec.writePNG(canvas.image, to: url)
/// ```
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    private var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGBColor = .white) {
        self.width = max(0, width)
        self.height = max(0, height)
        pixels = [UInt8](repeating: 0, count: self.width * self.height * 3)
        fillRect(x: 0, y: 0, width: self.width, height: self.height, color: background)
    }

    /// Starts from an existing image.
    public init(image: RGBImage) {
        width = image.width
        height = image.height
        pixels = image.validatedPixels
    }

    /// The drawing so far.
    public var image: RGBImage { RGBImage(uncheckedWidth: width, height: height, pixels: pixels) }

    /// Sets one pixel (ignored outside the canvas). `alpha` in [0, 1] blends over the existing colour.
    public mutating func setPixel(x: Int, y: Int, color: RGBColor, alpha: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        if alpha >= 1 {
            pixels[i] = color.r
            pixels[i + 1] = color.g
            pixels[i + 2] = color.b
            return
        }
        let a = max(0, alpha)
        func mix(_ old: UInt8, _ new: UInt8) -> UInt8 {
            UInt8(clamping: Int((Double(old) * (1 - a) + Double(new) * a).rounded()))
        }
        pixels[i] = mix(pixels[i], color.r)
        pixels[i + 1] = mix(pixels[i + 1], color.g)
        pixels[i + 2] = mix(pixels[i + 2], color.b)
    }

    /// Fills the axis-aligned rectangle `[x, x + width) × [y, y + height)`.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            for xx in x0..<x1 {
                let i = (yy * width + xx) * 3
                pixels[i] = color.r
                pixels[i + 1] = color.g
                pixels[i + 2] = color.b
            }
        }
    }

    /// Outline of a rectangle.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor) {
        fillRect(x: x, y: y, width: w, height: 1, color: color)
        fillRect(x: x, y: y + h - 1, width: w, height: 1, color: color)
        fillRect(x: x, y: y, width: 1, height: h, color: color)
        fillRect(x: x + w - 1, y: y, width: 1, height: h, color: color)
    }

    /// Bresenham line from `(x0, y0)` to `(x1, y1)`, `thickness` pixels wide (square pen).
    public mutating func drawLine(x0: Int, y0: Int, x1: Int, y1: Int, color: RGBColor, thickness: Int = 1) {
        let pen = max(1, thickness), half = (pen - 1) / 2
        // Clamp far-away endpoints so huge coordinates cannot make the loop run forever.
        let limit = 4 * max(width, height) + 16
        var x = min(max(x0, -limit), limit), y = min(max(y0, -limit), limit)
        let tx = min(max(x1, -limit), limit), ty = min(max(y1, -limit), limit)
        let dx = abs(tx - x), dy = -abs(ty - y)
        let sx = x < tx ? 1 : -1, sy = y < ty ? 1 : -1
        var error = dx + dy
        while true {
            if pen == 1 { setPixel(x: x, y: y, color: color) } else {
                fillRect(x: x - half, y: y - half, width: pen, height: pen, color: color)
            }
            if x == tx && y == ty { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
        }
    }

    /// Circle of `radius` around `(cx, cy)`: filled disc, or a 1-pixel ring when `filled` is false.
    public mutating func drawCircle(cx: Int, cy: Int, radius: Int, color: RGBColor, filled: Bool = true, alpha: Double = 1) {
        let r = max(0, radius)
        let outer = Double(r) + 0.5, inner = Double(r) - 0.5
        for dy in -r...r {
            for dx in -r...r {
                let d = (Double(dx * dx + dy * dy)).squareRoot()
                if d <= outer && (filled || d >= inner) { setPixel(x: cx + dx, y: cy + dy, color: color, alpha: alpha) }
            }
        }
    }

    /// Draws `text` with its top-left corner at `(x, y)` using `BitmapFont`, each font cell `scale × scale` pixels.
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGBColor = .black) {
        let s = max(1, scale)
        var penX = x
        for character in text {
            let rows = BitmapFont.rows(for: character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    fillRect(x: penX + column * s, y: y + row * s, width: s, height: s, color: color)
                }
            }
            penX += BitmapFont.advance * s
        }
    }

    /// Draws `text` rotated 90° counter-clockwise (reading bottom to top), its bounding box's top-left at `(x, y)`.
    public mutating func drawTextVertical(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGBColor = .black) {
        let s = max(1, scale)
        var penY = y + BitmapFont.textWidth(text, scale: s)
        for character in text {
            let rows = BitmapFont.rows(for: character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    fillRect(x: x + row * s, y: penY - (column + 1) * s, width: s, height: s, color: color)
                }
            }
            penY -= BitmapFont.advance * s
        }
    }
}
