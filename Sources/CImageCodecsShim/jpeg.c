// JPEG decoding through libjpeg(-turbo) with a longjmp error manager.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#include "common.h"

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    int status;
    char message[JMSG_LENGTH_MAX];
} ICJpegError;

static void ic_jpeg_error_exit(j_common_ptr cinfo) {
    ICJpegError *err = (ICJpegError *)cinfo->err;
    err->base.format_message(cinfo, err->message);
    err->status = IC_STATUS_CORRUPT;
    longjmp(err->jump, 1);
}

// Warnings that mean pixels were invented (grey fill) are promoted to errors; others are ignored
// as Pillow ignores them.
static void ic_jpeg_emit_message(j_common_ptr cinfo, int level) {
    ICJpegError *err = (ICJpegError *)cinfo->err;
    if (level >= 0) return;  // trace messages
    int code = err->base.msg_code;
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) {
        err->base.format_message(cinfo, err->message);
        err->status = code == JWRN_JPEG_EOF ? IC_STATUS_TRUNCATED : IC_STATUS_CORRUPT;
        longjmp(err->jump, 1);
    }
    err->base.num_warnings++;
}

static void ic_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

int ic_jpeg_decode(const unsigned char *data, size_t size, ICDecoded *out) {
    struct jpeg_decompress_struct cinfo;
    ICJpegError err;
    unsigned char *volatile pixels = NULL;
    memset(out, 0, sizeof *out);
    if (size == 0) return ic_fail(out, IC_STATUS_TRUNCATED, "empty data");

    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = ic_jpeg_error_exit;
    err.base.emit_message = ic_jpeg_emit_message;
    err.base.output_message = ic_jpeg_output_message;
    err.status = IC_STATUS_OK;
    err.message[0] = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return ic_fail(out, err.status, "%s", err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    if (cmyk) {
        cinfo.out_color_space = JCS_CMYK;
    } else if (cinfo.num_components == 1 || cinfo.num_components == 3) {
        cinfo.out_color_space = JCS_RGB;  // gray is replicated into R = G = B
    } else {
        snprintf(err.message, sizeof err.message, "unsupported JPEG with %d components", cinfo.num_components);
        err.status = IC_STATUS_UNSUPPORTED;
        longjmp(err.jump, 1);
    }
    jpeg_start_decompress(&cinfo);
    if (!ic_dimensions_ok(cinfo.output_width, cinfo.output_height)) {
        snprintf(err.message, sizeof err.message, "image of %ux%u pixels is too large",
                 cinfo.output_width, cinfo.output_height);
        err.status = IC_STATUS_TOO_LARGE;
        longjmp(err.jump, 1);
    }
    int channels = cinfo.output_components;
    size_t stride = (size_t)cinfo.output_width * (size_t)channels;
    pixels = malloc(stride * cinfo.output_height);
    if (!pixels) {
        snprintf(err.message, sizeof err.message, "out of memory");
        err.status = IC_STATUS_NO_MEMORY;
        longjmp(err.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    out->width = (int)cinfo.output_width;
    out->height = (int)cinfo.output_height;
    out->layout = cmyk ? IC_LAYOUT_CMYK8 : IC_LAYOUT_RGB8;
    out->pixels = pixels;
    jpeg_destroy_decompress(&cinfo);
    return IC_STATUS_OK;
}

void ic_free(void *pointer) { free(pointer); }
