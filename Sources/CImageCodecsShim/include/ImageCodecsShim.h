// Small C wrappers over libjpeg(-turbo), libpng and libwebp for the Imaging target.
//
// libjpeg and libpng report fatal errors by calling an error handler that must not return
// (libjpeg's default calls exit()); Swift cannot use setjmp/longjmp, so these wrappers install
// handlers that longjmp back here and turn every failure into a return code plus a message.
//
// Every decoder returns 0 on success and fills `out`; on failure it returns a nonzero
// IC_STATUS_* code and writes a NUL-terminated message into `out->message`.
// Pixel buffers are allocated with malloc and must be released with ic_free.
#ifndef IMAGE_CODECS_SHIM_H
#define IMAGE_CODECS_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    IC_STATUS_OK = 0,
    IC_STATUS_CORRUPT = 1,      // the codec rejected the data
    IC_STATUS_TRUNCATED = 2,    // the data ends before the image does
    IC_STATUS_UNSUPPORTED = 3,  // valid file but a feature we do not decode (e.g. animation)
    IC_STATUS_TOO_LARGE = 4,    // dimensions above IC_MAX_PIXELS
    IC_STATUS_NO_MEMORY = 5,
};

/// Largest accepted width * height (Pillow's decompression-bomb error threshold).
#define IC_MAX_PIXELS 178956970ULL

/// Kind of samples a decoder produced in `pixels`.
enum {
    IC_LAYOUT_RGB8 = 0,   // 3 bytes per pixel, final
    IC_LAYOUT_CMYK8 = 1,  // 4 bytes per pixel, as stored in the JPEG (Adobe inverted polarity)
};

typedef struct {
    unsigned char *pixels;  // malloc'ed; width * height * (3 or 4) bytes
    int width;
    int height;
    int layout;             // IC_LAYOUT_*
    char message[200];
} ICDecoded;

/// Decodes a JPEG (baseline / progressive; gray, YCbCr, RGB, CMYK, YCCK) with libjpeg defaults
/// (islow DCT, fancy upsampling). Gray is expanded to RGB; CMYK/YCCK come back as raw CMYK.
/// "Premature end of JPEG file" and "premature end of data segment" warnings are failures.
int ic_jpeg_decode(const unsigned char *data, size_t size, ICDecoded *out);

/// Decodes a PNG to 8-bit RGB following Pillow's `convert("RGB")`: alpha and tRNS are ignored,
/// palettes are expanded, 1/2/4-bit gray is scaled to 8 bits, 16-bit colour or gray+alpha keeps
/// the high byte, 16-bit gray (no alpha) is clipped to 255.
int ic_png_decode(const unsigned char *data, size_t size, ICDecoded *out);

/// Decodes a still WebP (lossy or lossless) to 8-bit RGB; alpha is dropped.
int ic_webp_decode(const unsigned char *data, size_t size, ICDecoded *out);

/// Encodes 8-bit interleaved RGB as a PNG (default zlib level). On success `*png` is malloc'ed.
int ic_png_encode_rgb(const unsigned char *rgb, int width, int height,
                      unsigned char **png, size_t *pngSize, char *message, size_t messageSize);

void ic_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
