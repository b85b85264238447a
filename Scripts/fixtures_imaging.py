#!/usr/bin/env python3
"""Reference fixtures for the Imaging target (Tests/ImagingTests/Fixtures), produced with Pillow + numpy.

Run from the repository root:  python3 Scripts/fixtures_imaging.py
Needs: pillow (with JPEG/WebP), numpy; a C compiler + libjpeg headers for the optional YCCK JPEG.

Writes
  decode/*.{jpg,png,webp}  encoded inputs, each with  *.rgb  = Image.open(f).convert("RGB").tobytes()
  bad/*                    corrupt / truncated / unsupported inputs (must raise a clean error)
  resize.json              PIL Image.resize results for a procedural source image (FNV-1a 64 hash + samples)
  preprocess.json          CLIP / squash preprocessing references (uint8 geometry hash + float samples)
  preprocess_*.f32         full float32 HWC outputs for small preprocess cases
The procedural source image (same formula in the Swift tests):
  v(x, y, c) = (3x² + 5y² + 7xy + 85c + 11·(x xor y) + (x·y·c) mod 13 · 17) mod 256
"""
import io
import json
import os
import struct
import subprocess
import tempfile
import zlib

import numpy as np
import PIL
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ImagingTests", "Fixtures")
DECODE = os.path.join(ROOT, "decode")
BAD = os.path.join(ROOT, "bad")
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def procedural(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    out = np.zeros((h, w, 3), dtype=np.uint8)
    for c in range(3):
        v = 3 * x * x + 5 * y * y + 7 * x * y + 85 * c + 11 * (x ^ y) + ((x * y * c) % 13) * 17
        out[..., c] = (v % 256).astype(np.uint8)
    return Image.fromarray(out, "RGB")


def photo_like(w=64, h=48, seed=0):
    """Smooth gradients + a disc + mild noise: a JPEG-friendly test picture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 9.0) * np.cos(y / 7.0)
    g = 255 * x / (w - 1)
    b = 255 * y / (h - 1)
    disc = (x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (min(w, h) * 0.25) ** 2
    r[disc], g[disc], b[disc] = 240, 40, 30
    img = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).round().astype(np.uint8)


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def save_decode_case(name, encoded: bytes):
    write(os.path.join(DECODE, name), encoded)
    im = Image.open(io.BytesIO(encoded))
    info = f"{im.format} {im.mode} {im.size}"
    rgb = im.convert("RGB")
    write(os.path.join(DECODE, name + ".rgb"), rgb.tobytes())
    print(f"  {name}: {info}")


def pil_bytes(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


# ---------------------------------------------------------------- PNG writer (all colour types / depths)
def png_chunk(tag, payload):
    return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload) & 0xFFFFFFFF)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def adam7_rows(pixels: np.ndarray):
    """Row byte strings of the seven Adam7 passes of an [H, W, C] byte-aligned image, in file order."""
    rows = []
    for x0, y0, dx, dy in ADAM7:
        sub = pixels[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:
            rows += [r.tobytes() for r in sub]
    return rows


def png_encode(rows_bytes, width, height, depth, color_type, plte=None, trns=None, interlace=0):
    raw = b"".join(b"\x00" + r for r in rows_bytes)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, interlace))
    if plte is not None:
        out += png_chunk(b"PLTE", plte)
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    out += png_chunk(b"IDAT", zlib.compress(raw, 9))
    out += png_chunk(b"IEND", b"")
    return out


def pack_bits(values, depth):
    """Pack a row of small integers MSB-first at `depth` bits each."""
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(values), per):
        byte = 0
        chunk = list(values[i:i + per]) + [0] * (per - len(values[i:i + per]))
        for v in chunk:
            byte = (byte << depth) | int(v)
        out.append(byte)
    return bytes(out)


def make_pngs():
    w, h = 40, 30
    rng = np.random.default_rng(1)
    rgb8 = photo_like(w, h, 1)
    save_decode_case("rgb8.png", pil_bytes(Image.fromarray(rgb8, "RGB"), "PNG"))
    rgba8 = np.concatenate([rgb8, rng.integers(0, 256, (h, w, 1), dtype=np.uint8)], -1)
    save_decode_case("rgba8.png", pil_bytes(Image.fromarray(rgba8, "RGBA"), "PNG"))
    gray8 = rgb8[..., 1]
    save_decode_case("gray8.png", pil_bytes(Image.fromarray(gray8, "L"), "PNG"))
    la8 = np.stack([gray8, rgb8[..., 0]], -1)
    save_decode_case("gray_alpha8.png", pil_bytes(Image.fromarray(la8, "LA"), "PNG"))
    pal = Image.fromarray(rgb8, "RGB").quantize(colors=37)
    save_decode_case("palette.png", pil_bytes(pal, "PNG"))
    save_decode_case("palette_trns.png", pil_bytes(pal, "PNG", transparency=bytes(range(0, 256, 7))[:37]))
    # 16-bit variants through the hand-written encoder.
    rgb16 = (rgb8.astype(np.uint16) * 257 + rng.integers(0, 257, (h, w, 3))).astype(">u2")
    save_decode_case("rgb16.png", png_encode([r.tobytes() for r in rgb16], w, h, 16, 2))
    rgba16 = np.concatenate([rgb16, (rng.integers(0, 65536, (h, w, 1))).astype(">u2")], -1)
    save_decode_case("rgba16.png", png_encode([r.tobytes() for r in rgba16], w, h, 16, 6))
    gray16 = (np.arange(w * h).reshape(h, w) * 53 % 700).astype(">u2")  # values above and below 255
    save_decode_case("gray16.png", png_encode([r.tobytes() for r in gray16], w, h, 16, 0))
    la16 = np.stack([(gray8.astype(np.uint16) * 257), np.full((h, w), 40000, np.uint16)], -1).astype(">u2")
    save_decode_case("gray_alpha16.png", png_encode([r.tobytes() for r in la16], w, h, 16, 4))
    for depth in (1, 2, 4):
        vals = (np.arange(w * h).reshape(h, w) * 7 + np.arange(h)[:, None]) % (1 << depth)
        save_decode_case(f"gray{depth}.png", png_encode([pack_bits(r, depth) for r in vals], w, h, depth, 0))
    idx = (np.arange(w * h).reshape(h, w) * 5) % 16
    plte = bytes(np.array([[i * 16, 255 - i * 16, (i * 77) % 256] for i in range(16)], np.uint8).tobytes())
    save_decode_case("palette4_trns.png",
                     png_encode([pack_bits(r, 4) for r in idx], w, h, 4, 3, plte=plte, trns=bytes([0, 128, 255])))
    save_decode_case("interlaced_rgb8.png", png_encode(adam7_rows(rgb8), w, h, 8, 2, interlace=1))
    save_decode_case("interlaced_rgba16.png", png_encode(adam7_rows(rgba16), w, h, 16, 6, interlace=1))
    save_decode_case("gray8_trns.png", png_encode([r.tobytes() for r in gray8], w, h, 8, 0, trns=b"\x00\x80"))


# ---------------------------------------------------------------- JPEG
YCCK_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
/* Writes a W x H CMYK JPEG with YCCK colour transform from raw CMYK (Adobe polarity) on stdin. */
int main(int argc, char **argv) {
    int w = atoi(argv[1]), h = atoi(argv[2]);
    unsigned char *buf = malloc((size_t)w * h * 4);
    if (fread(buf, 1, (size_t)w * h * 4, stdin) != (size_t)w * h * 4) return 1;
    struct jpeg_compress_struct c; struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e); jpeg_create_compress(&c); jpeg_stdio_dest(&c, stdout);
    c.image_width = w; c.image_height = h; c.input_components = 4; c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c); jpeg_set_colorspace(&c, JCS_YCCK); jpeg_set_quality(&c, 92, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) { JSAMPROW r = buf + (size_t)c.next_scanline * w * 4; jpeg_write_scanlines(&c, &r, 1); }
    jpeg_finish_compress(&c); jpeg_destroy_compress(&c); return 0;
}
"""


def make_ycck(cmyk_adobe: np.ndarray):
    h, w, _ = cmyk_adobe.shape
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "ycck.c"), os.path.join(d, "ycck")
        with open(src, "w") as f:
            f.write(YCCK_C)
        try:
            subprocess.run(["cc", src, "-o", exe, "-ljpeg"], check=True, capture_output=True)
            return subprocess.run([exe, str(w), str(h)], input=cmyk_adobe.tobytes(), check=True,
                                  capture_output=True).stdout
        except (OSError, subprocess.CalledProcessError) as err:
            print("  (skipping YCCK JPEG: %s)" % err)
            return None


def make_jpegs():
    img = Image.fromarray(photo_like(64, 48, 2), "RGB")
    save_decode_case("baseline420.jpg", pil_bytes(img, "JPEG", quality=85))
    save_decode_case("baseline422.jpg", pil_bytes(img, "JPEG", quality=90, subsampling=1))
    save_decode_case("baseline444.jpg", pil_bytes(img, "JPEG", quality=95, subsampling=0))
    save_decode_case("progressive.jpg", pil_bytes(img, "JPEG", quality=80, progressive=True))
    save_decode_case("odd_size.jpg", pil_bytes(Image.fromarray(photo_like(37, 23, 3), "RGB"), "JPEG", quality=88))
    save_decode_case("gray.jpg", pil_bytes(img.convert("L"), "JPEG", quality=90))
    cmyk = img.convert("CMYK")
    save_decode_case("cmyk.jpg", pil_bytes(cmyk, "JPEG", quality=92))
    # YCCK: raw Adobe-polarity CMYK (= 255 - Pillow CMYK) of a picture with real black ink.
    arr = np.array(cmyk).astype(np.int32)
    k = np.minimum(arr[..., 0], np.minimum(arr[..., 1], arr[..., 2])) // 2
    arr[..., :3] -= k[..., None]
    arr[..., 3] = k
    data = make_ycck((255 - arr).astype(np.uint8))
    if data is not None:
        save_decode_case("ycck.jpg", data)


def make_webps():
    rgb = photo_like(48, 32, 4)
    save_decode_case("lossless.webp", pil_bytes(Image.fromarray(rgb, "RGB"), "WEBP", lossless=True))
    save_decode_case("lossy.webp", pil_bytes(Image.fromarray(rgb, "RGB"), "WEBP", quality=80))
    alpha = np.full((32, 48, 1), 255, np.uint8)
    alpha[8:24, 10:30] = 90
    rgba = Image.fromarray(np.concatenate([rgb, alpha], -1), "RGBA")
    save_decode_case("lossy_alpha.webp", pil_bytes(rgba, "WEBP", quality=80))
    save_decode_case("lossless_alpha.webp", pil_bytes(rgba, "WEBP", lossless=True, exact=True))


def make_bad():
    img = Image.fromarray(photo_like(64, 48, 5), "RGB")
    jpg = pil_bytes(img, "JPEG", quality=90)
    write(os.path.join(BAD, "truncated.jpg"), jpg[: len(jpg) // 2])
    write(os.path.join(BAD, "header_only.jpg"), jpg[:120])
    progressive = pil_bytes(img, "JPEG", quality=90, progressive=True)
    write(os.path.join(BAD, "truncated_progressive.jpg"), progressive[: len(progressive) * 2 // 3])
    png = pil_bytes(img, "PNG")
    write(os.path.join(BAD, "truncated.png"), png[: len(png) // 2])
    broken = bytearray(png)
    broken[60] ^= 0xFF  # inside the first IDAT payload: CRC mismatch
    write(os.path.join(BAD, "bad_crc.png"), bytes(broken))
    webp = pil_bytes(img, "WEBP", quality=80)
    write(os.path.join(BAD, "truncated.webp"), webp[: len(webp) // 2])
    write(os.path.join(BAD, "image.gif"), pil_bytes(img.convert("P"), "GIF"))
    write(os.path.join(BAD, "image.bmp"), pil_bytes(img.resize((8, 6)), "BMP"))
    write(os.path.join(BAD, "empty.jpg"), b"")
    write(os.path.join(BAD, "random.bin"), np.random.default_rng(9).integers(0, 256, 300, dtype=np.uint8).tobytes())


# ---------------------------------------------------------------- resampling and preprocessing
RESIZE_CASES = [  # (src w, src h, dst w, dst h, filter)
    (1024, 768, 512, 512, "bicubic"),
    (333, 500, 512, 512, "bicubic"),
    (333, 500, 224, 336, "bicubic"),
    (501, 333, 337, 224, "bicubic"),
    (64, 48, 37, 29, "bicubic"),
    (20, 15, 57, 41, "bicubic"),
    (97, 61, 97, 30, "bicubic"),      # vertical only
    (97, 61, 40, 61, "bicubic"),      # horizontal only
    (7, 5, 300, 2, "bicubic"),
    (333, 500, 224, 336, "bilinear"),
    (20, 15, 57, 41, "bilinear"),
    (333, 500, 224, 336, "nearest"),
    (20, 15, 57, 41, "nearest"),
]
FILTERS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
           "nearest": Image.Resampling.NEAREST}


def samples(arr: np.ndarray, n=24):
    flat = arr.reshape(-1)
    idx = np.linspace(0, flat.size - 1, n).round().astype(int)
    return [[int(i), float(flat[i]) if flat.dtype.kind == "f" else int(flat[i])] for i in idx]


def make_resize():
    cases = []
    for sw, sh, dw, dh, flt in RESIZE_CASES:
        out = procedural(sw, sh).resize((dw, dh), FILTERS[flt])
        data = out.tobytes()
        cases.append({"srcWidth": sw, "srcHeight": sh, "dstWidth": dw, "dstHeight": dh, "filter": flt,
                      "fnv1a64": fnv1a64(data), "samples": samples(np.frombuffer(data, np.uint8))})
    meta = {"pillow": PIL.__version__, "cases": cases}  # Pillow >= 13 may run the vertical pass first
    write(os.path.join(ROOT, "resize.json"), json.dumps(meta, indent=1).encode())
    print(f"  resize.json: {len(cases)} cases")


def clip_geometry(im: Image.Image, size: int) -> Image.Image:
    """torchvision Resize(size, BICUBIC) + CenterCrop(size) on a PIL image, re-implemented."""
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.Resampling.BICUBIC)
    top = int(round((nh - size) / 2.0))
    left = int(round((nw - size) / 2.0))
    return im.crop((left, top, left + size, top + size))


def normalise(im: Image.Image) -> np.ndarray:
    x = np.asarray(im, dtype=np.uint8).astype(np.float32) / np.float32(255)
    return ((x - MEAN) / STD).astype(np.float32)


PREPROCESS_CASES = [  # (src w, src h, size, mode, store full floats)
    (61, 47, 32, "clip", True),
    (47, 61, 32, "clip", True),
    (37, 53, 40, "squash", True),
    (32, 32, 32, "none", True),
    (333, 500, 224, "clip", False),
    (501, 333, 224, "clip", False),
    (225, 400, 224, "clip", False),   # long side offset (400*224/225 → 398, odd margin)
    (1024, 768, 224, "squash", False),
]


def make_preprocess():
    cases = []
    for sw, sh, size, mode, full in PREPROCESS_CASES:
        src = procedural(sw, sh)
        geo = clip_geometry(src, size) if mode == "clip" else (
            src.resize((size, size), Image.Resampling.BICUBIC) if mode == "squash" else src)
        floats = normalise(geo)
        entry = {"srcWidth": sw, "srcHeight": sh, "size": size, "mode": mode,
                 "geometryFnv1a64": fnv1a64(geo.tobytes()), "samples": samples(floats, 40)}
        if full:
            name = f"preprocess_{mode}_{sw}x{sh}_{size}.f32"
            write(os.path.join(ROOT, name), floats.astype("<f4").tobytes())
            entry["floats"] = name
        cases.append(entry)
    write(os.path.join(ROOT, "preprocess.json"), json.dumps({"cases": cases}, indent=1).encode())
    print(f"  preprocess.json: {len(cases)} cases")


if __name__ == "__main__":
    print("PNG");  make_pngs()
    print("JPEG"); make_jpegs()
    print("WebP"); make_webps()
    print("bad");  make_bad()
    print("resize"); make_resize()
    print("preprocess"); make_preprocess()
