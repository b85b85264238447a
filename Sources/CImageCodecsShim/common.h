// Internal helpers shared by the codec wrappers.
#ifndef IMAGE_CODECS_SHIM_COMMON_H
#define IMAGE_CODECS_SHIM_COMMON_H

#include <stdarg.h>
#include <stdio.h>
#include "ImageCodecsShim.h"

static inline int ic_fail(ICDecoded *out, int status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(out->message, sizeof out->message, format, args);
    va_end(args);
    return status;
}

static inline int ic_dimensions_ok(long long width, long long height) {
    return width > 0 && height > 0 && (unsigned long long)width * (unsigned long long)height <= IC_MAX_PIXELS;
}

#endif
