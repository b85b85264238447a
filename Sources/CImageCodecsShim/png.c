// PNG decoding and encoding through libpng with longjmp error handling.
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include "common.h"

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
    int truncated;
    char message[200];
} ICPngReader;

static void ic_png_read(png_structp png, png_bytep target, size_t length) {
    ICPngReader *reader = (ICPngReader *)png_get_io_ptr(png);
    if (reader->size - reader->offset < length) {
        reader->truncated = 1;
        png_error(png, "data ends before the image does");
    }
    memcpy(target, reader->data + reader->offset, length);
    reader->offset += length;
}

static void ic_png_error(png_structp png, png_const_charp message) {
    ICPngReader *reader = (ICPngReader *)png_get_error_ptr(png);
    if (reader) snprintf(reader->message, sizeof reader->message, "%s", message);
    png_longjmp(png, 1);
}

static void ic_png_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

int ic_png_decode(const unsigned char *data, size_t size, ICDecoded *out) {
    ICPngReader reader = {data, size, 0, 0, {0}};
    png_structp png = NULL;
    png_infop info = NULL;
    unsigned char *volatile raw = NULL;
    png_bytep *volatile rows = NULL;
    unsigned char *volatile pixels = NULL;
    memset(out, 0, sizeof *out);
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) return ic_fail(out, IC_STATUS_CORRUPT, "not a PNG signature");

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, ic_png_error, ic_png_warning);
    if (!png) return ic_fail(out, IC_STATUS_NO_MEMORY, "out of memory");
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return ic_fail(out, IC_STATUS_NO_MEMORY, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(raw);
        free(rows);
        free(pixels);
        return ic_fail(out, reader.truncated ? IC_STATUS_TRUNCATED : IC_STATUS_CORRUPT, "%s", reader.message);
    }
    png_set_read_fn(png, &reader, ic_png_read);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info);
    int colorType = png_get_color_type(png, info);
    if (!ic_dimensions_ok(width, height)) png_error(png, "image is too large");

    // Palette -> RGB (tRNS not expanded: alpha is dropped anyway); low gray depths -> 8 bits (scaled).
    if (colorType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colorType == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_alpha(png);  // also drops the alpha that palette/tRNS expansion would add
    int gray16 = colorType == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (depth == 16 && !gray16) png_set_strip_16(png);  // keeps the high byte, as Pillow's ;16B unpackers
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t rowBytes = png_get_rowbytes(png, info);
    int channels = png_get_channels(png, info);
    raw = malloc(rowBytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    pixels = malloc((size_t)width * height * 3);
    if (!raw || !rows || !pixels) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = raw + rowBytes * y;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    size_t count = (size_t)width * height;
    if (gray16) {
        // Pillow opens 16-bit gray as mode "I;16"; convert("RGB") clips each value to 255.
        for (size_t i = 0; i < count; i++) {
            unsigned value = ((unsigned)raw[2 * i] << 8) | raw[2 * i + 1];
            unsigned char v = value > 255 ? 255 : (unsigned char)value;
            pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = v;
        }
    } else if (channels == 1) {
        for (size_t i = 0; i < count; i++) pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = raw[i];
    } else if (channels == 3) {
        memcpy(pixels, raw, count * 3);
    } else {
        png_error(png, "unexpected channel count after transformations");
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(raw);
    free(rows);
    out->width = (int)width;
    out->height = (int)height;
    out->layout = IC_LAYOUT_RGB8;
    out->pixels = pixels;
    return IC_STATUS_OK;
}

typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
    int failed;
    char message[200];
} ICPngWriter;

static void ic_png_write(png_structp png, png_bytep source, size_t length) {
    ICPngWriter *writer = (ICPngWriter *)png_get_io_ptr(png);
    if (writer->capacity - writer->size < length) {
        size_t capacity = writer->capacity ? writer->capacity : 4096;
        while (capacity - writer->size < length) capacity *= 2;
        unsigned char *grown = realloc(writer->data, capacity);
        if (!grown) png_error(png, "out of memory");
        writer->data = grown;
        writer->capacity = capacity;
    }
    memcpy(writer->data + writer->size, source, length);
    writer->size += length;
}

static void ic_png_flush(png_structp png) { (void)png; }

static void ic_png_write_error(png_structp png, png_const_charp message) {
    ICPngWriter *writer = (ICPngWriter *)png_get_error_ptr(png);
    if (writer) snprintf(writer->message, sizeof writer->message, "%s", message);
    png_longjmp(png, 1);
}

int ic_png_encode_rgb(const unsigned char *rgb, int width, int height,
                      unsigned char **png_out, size_t *pngSize, char *message, size_t messageSize) {
    ICPngWriter writer = {NULL, 0, 0, 0, {0}};
    png_bytep *volatile rows = NULL;
    *png_out = NULL;
    *pngSize = 0;
    if (!ic_dimensions_ok(width, height)) {
        snprintf(message, messageSize, "cannot encode a %dx%d image", width, height);
        return IC_STATUS_TOO_LARGE;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &writer, ic_png_write_error, ic_png_warning);
    if (!png) {
        snprintf(message, messageSize, "out of memory");
        return IC_STATUS_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        free(rows);
        free(writer.data);
        snprintf(message, messageSize, "%s", info ? writer.message : "out of memory");
        return IC_STATUS_CORRUPT;
    }
    png_set_write_fn(png, &writer, ic_png_write, ic_png_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)rgb + (size_t)y * (size_t)width * 3;
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *png_out = writer.data;
    *pngSize = writer.size;
    return IC_STATUS_OK;
}
