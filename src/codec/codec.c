/* Codec helpers shared by the type-specific files: block names for diagnostics and the single
 * place that words a corruption error, so every decoder reports the same way. */
#include "codec/codec.h"

#include <stdarg.h>
#include <stdio.h>

const char *codec_block_name(int block) {
    switch (block) {
    case CB_RAW64:
        return "raw64";
    case CB_INT:
        return "int";
    case CB_F64_GORILLA:
        return "gorilla";
    case CB_F64_DECIMAL:
        return "decimal";
    case CB_BOOL_BYTES:
        return "bytes";
    case CB_BOOL_BITS:
        return "bits";
    case CB_BOOL_CONST:
        return "const";
    case CB_BOOL_RUNS:
        return "runs";
    case CB_STR_PLAIN:
        return "plain";
    case CB_STR_ZSTD:
        return "zstd";
    case CB_STR_SNAPPY:
        return "snappy";
    case CB_STR_GZIP:
        return "gzip";
    case CB_STR_ZLIB:
        return "zlib";
    case CB_STR_BZIP:
        return "bzip2";
    case CB_STR_LZ4:
        return "lz4";
    case CB_STR_DICT:
        return "dict";
    default:
        return "?";
    }
}

int codec_corrupt(err *e, const char *type, const char *fmt, ...) {
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return err_set(e, 500, EC_STORAGE, "corrupt %s block: %s", type, detail);
}
