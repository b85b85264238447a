// WebP decoding through libwebp (still images, lossy or lossless; alpha dropped).
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include "common.h"

int ic_webp_decode(const unsigned char *data, size_t size, ICDecoded *out) {
    WebPBitstreamFeatures features;
    memset(out, 0, sizeof *out);
    VP8StatusCode status = WebPGetFeatures(data, size, &features);
    if (status == VP8_STATUS_NOT_ENOUGH_DATA) return ic_fail(out, IC_STATUS_TRUNCATED, "truncated WebP header");
    if (status != VP8_STATUS_OK) return ic_fail(out, IC_STATUS_CORRUPT, "invalid WebP header (status %d)", (int)status);
    if (features.has_animation) return ic_fail(out, IC_STATUS_UNSUPPORTED, "animated WebP is not supported");
    if (!ic_dimensions_ok(features.width, features.height))
        return ic_fail(out, IC_STATUS_TOO_LARGE, "image of %dx%d pixels is too large", features.width, features.height);

    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) return ic_fail(out, IC_STATUS_UNSUPPORTED, "libwebp version mismatch");
    size_t stride = (size_t)features.width * 3;
    unsigned char *pixels = malloc(stride * (size_t)features.height);
    if (!pixels) return ic_fail(out, IC_STATUS_NO_MEMORY, "out of memory");
    config.output.colorspace = MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = pixels;
    config.output.u.RGBA.stride = (int)stride;
    config.output.u.RGBA.size = stride * (size_t)features.height;
    status = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);
    if (status != VP8_STATUS_OK) {
        free(pixels);
        if (status == VP8_STATUS_NOT_ENOUGH_DATA) return ic_fail(out, IC_STATUS_TRUNCATED, "truncated WebP data");
        return ic_fail(out, IC_STATUS_CORRUPT, "corrupt WebP data (status %d)", (int)status);
    }
    out->width = features.width;
    out->height = features.height;
    out->layout = IC_LAYOUT_RGB8;
    out->pixels = pixels;
    return IC_STATUS_OK;
}
