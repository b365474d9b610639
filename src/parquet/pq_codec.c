/* Page compression through the libraries Strata links: snappy, zlib (gzip), zstd, lz4 (raw
 * blocks, and the Hadoop framing of the older LZ4 codec) and brotli. A page's uncompressed size
 * comes from its header, so decompression writes into a buffer of exactly that size and fails
 * if the data gives more or less. */
#include "parquet/pq_int.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

const char *pq_codec_name(int codec) {
    static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                        "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    return codec >= 0 && codec < 8 ? names[codec] : "unknown";
}

static int bad(int codec, err *e) {
    return err_set(e, 422, EC_QUERY_INTERNAL, PQ_ERR "damaged %s page data", pq_codec_name(codec));
}

static int gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t out_len, err *e) {
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 32) != Z_OK) return bad(CODEC_GZIP, e);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)out_len;
    int rc;
    for (;;) {
        rc = inflate(&z, Z_FINISH);
        /* concatenated gzip members: start the next one */
        if (rc == Z_STREAM_END && z.avail_in > 0 && z.avail_out > 0) {
            if (inflateReset(&z) != Z_OK) break;
            continue;
        }
        break;
    }
    size_t got = out_len - z.avail_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END || got != out_len) return bad(CODEC_GZIP, e);
    return 0;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The LZ4 codec as Hadoop frames it (sizes big-endian before each block), else a raw block. */
static int lz4_hadoop(const uint8_t *in, size_t n, uint8_t *out, size_t out_len, err *e) {
    size_t ip = 0, op = 0;
    while (ip + 8 <= n) {
        uint32_t ulen = be32(in + ip), clen = be32(in + ip + 4);
        if (clen > n - ip - 8 || ulen > out_len - op) break;
        int got =
            LZ4_decompress_safe((const char *)in + ip + 8, (char *)out + op, (int)clen, (int)ulen);
        if (got < 0 || (uint32_t)got != ulen) break;
        ip += 8 + clen;
        op += ulen;
        if (ip == n && op == out_len) return 0;
    }
    int got = LZ4_decompress_safe((const char *)in, (char *)out, (int)n, (int)out_len);
    if (got < 0 || (size_t)got != out_len) return bad(CODEC_LZ4, e);
    return 0;
}

int pq_decompress(int codec, const uint8_t *in, size_t n, uint8_t *out, size_t out_len, err *e) {
    if (n > INT32_MAX || out_len > INT32_MAX) return bad(codec, e);
    switch (codec) {
    case CODEC_UNCOMPRESSED:
        if (n != out_len) return bad(codec, e);
        if (n) memcpy(out, in, n);
        return 0;
    case CODEC_SNAPPY: {
        size_t ulen;
        if (snappy_uncompressed_length((const char *)in, n, &ulen) != SNAPPY_OK || ulen != out_len)
            return bad(codec, e);
        if (snappy_uncompress((const char *)in, n, (char *)out, &ulen) != SNAPPY_OK ||
            ulen != out_len)
            return bad(codec, e);
        return 0;
    }
    case CODEC_GZIP:
        return gunzip(in, n, out, out_len, e);
    case CODEC_ZSTD: {
        size_t got = ZSTD_decompress(out, out_len, in, n);
        if (ZSTD_isError(got) || got != out_len) return bad(codec, e);
        return 0;
    }
    case CODEC_LZ4_RAW: {
        int got = LZ4_decompress_safe((const char *)in, (char *)out, (int)n, (int)out_len);
        if (got < 0 || (size_t)got != out_len) return bad(codec, e);
        return 0;
    }
    case CODEC_LZ4:
        return lz4_hadoop(in, n, out, out_len, e);
    case CODEC_BROTLI: {
        size_t got = out_len;
        if (BrotliDecoderDecompress(n, in, &got, out) != BROTLI_DECODER_RESULT_SUCCESS ||
            got != out_len)
            return bad(codec, e);
        return 0;
    }
    default:
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: the Parquet compression codec %s",
                       pq_codec_name(codec));
    }
}

int pq_compress(int codec, const uint8_t *in, size_t n, buf *b, err *e) {
    switch (codec) {
    case CODEC_UNCOMPRESSED:
        buf_append(b, in, n);
        return 0;
    case CODEC_SNAPPY: {
        size_t cap = snappy_max_compressed_length(n);
        buf_reserve(b, cap);
        if (snappy_compress((const char *)in, n, b->p + b->len, &cap) != SNAPPY_OK) break;
        b->len += cap;
        return 0;
    }
    case CODEC_GZIP: {
        z_stream z = {0};
        if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) break;
        size_t cap = deflateBound(&z, n) + 32;
        buf_reserve(b, cap);
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)b->p + b->len;
        z.avail_out = (uInt)cap;
        int rc = deflate(&z, Z_FINISH);
        size_t got = cap - z.avail_out;
        deflateEnd(&z);
        if (rc != Z_STREAM_END) break;
        b->len += got;
        return 0;
    }
    case CODEC_ZSTD: {
        size_t cap = ZSTD_compressBound(n);
        buf_reserve(b, cap);
        size_t got = ZSTD_compress(b->p + b->len, cap, in, n, 3);
        if (ZSTD_isError(got)) break;
        b->len += got;
        return 0;
    }
    case CODEC_LZ4_RAW: {
        int cap = LZ4_compressBound((int)n);
        buf_reserve(b, (size_t)cap);
        int got = LZ4_compress_default((const char *)in, b->p + b->len, (int)n, cap);
        if (got <= 0 && n) break;
        b->len += (size_t)got;
        return 0;
    }
    case CODEC_BROTLI: {
        size_t cap = BrotliEncoderMaxCompressedSize(n);
        if (!cap) cap = n + 1024;
        buf_reserve(b, cap);
        if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, n, in, &cap,
                                   (uint8_t *)b->p + b->len))
            break;
        b->len += cap;
        return 0;
    }
    default:
        break;
    }
    return err_set(e, 500, EC_INTERNAL, "Parquet: %s compression failed", pq_codec_name(codec));
}
