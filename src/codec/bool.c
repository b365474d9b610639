/* BOOLEAN codec. Layouts after the block byte:
 *   CB_BOOL_BYTES  n bytes, each 0 or 1 (codec NULL).
 *   CB_BOOL_BITS   ceil(n/8) bytes, value i in bit i%8 of byte i/8, padding bits zero.
 *   CB_BOOL_CONST  one byte 0 or 1: every value (n >= 1).
 *   CB_BOOL_RUNS   one byte 0 or 1: the first value; then LEB128 run lengths (each >= 1,
 *                  values alternating) summing to exactly n.
 * DEFAULT and BITPACK pick the smallest of the last three; an empty page is CB_BOOL_BITS. */
#include "codec/codec.h"

#include <string.h>

static unsigned bool_varint_len(uint32_t v) {
    unsigned k = 1;
    while (v >= 0x80) v >>= 7, k++;
    return k;
}

int codec_encode_bool(const bool *v, uint32_t n, int codec, buf *out, err *e) {
    if (codec == CODEC_USE_PLAIN) {
        buf_reserve(out, 1 + (size_t)n);
        buf_putc(out, CB_BOOL_BYTES);
        for (uint32_t i = 0; i < n; i++) out->p[out->len++] = v[i] ? 1 : 0;
        return 0;
    }
    /* Size of the run-length form; stop counting once it loses to the bitmap. */
    size_t bits_sz = ((size_t)n + 7) / 8, runs_sz = 1;
    uint32_t first_run = n;
    for (uint32_t i = 0; i < n && runs_sz <= bits_sz;) {
        uint32_t j = i + 1;
        while (j < n && v[j] == v[i]) j++;
        if (i == 0) first_run = j;
        runs_sz += bool_varint_len(j - i);
        i = j;
    }
    if (n > 0 && first_run == n) {
        buf_putc(out, CB_BOOL_CONST);
        buf_putc(out, v[0] ? 1 : 0);
    } else if (n > 0 && runs_sz < bits_sz) {
        buf_putc(out, CB_BOOL_RUNS);
        buf_putc(out, v[0] ? 1 : 0);
        for (uint32_t i = 0; i < n;) {
            uint32_t j = i + 1;
            while (j < n && v[j] == v[i]) j++;
            buf_put_uvarint(out, j - i);
            i = j;
        }
    } else {
        buf_reserve(out, 1 + bits_sz);
        buf_putc(out, CB_BOOL_BITS);
        unsigned char *d = (unsigned char *)out->p + out->len;
        memset(d, 0, bits_sz);
        for (uint32_t i = 0; i < n; i++) d[i >> 3] |= (unsigned char)((v[i] ? 1u : 0u) << (i & 7));
        out->len += bits_sz;
    }
    return 0;
}

int codec_decode_bool(const void *in, size_t len, uint32_t n, bool *out, err *e) {
    const unsigned char *p = in, *end = p + len;
    const char *type = "boolean";
    if (len == 0) return codec_corrupt(e, type, "empty");
    unsigned tag = *p++;
    switch (tag) {
    case CB_BOOL_BYTES:
        if ((size_t)(end - p) != n)
            return codec_corrupt(e, type, "%zu bytes for %u values", (size_t)(end - p), n);
        for (uint32_t i = 0; i < n; i++) {
            if (p[i] > 1) return codec_corrupt(e, type, "byte %u is %u", i, p[i]);
            out[i] = p[i];
        }
        return 0;
    case CB_BOOL_BITS: {
        size_t nb = ((size_t)n + 7) / 8;
        if ((size_t)(end - p) != nb)
            return codec_corrupt(e, type, "%zu bytes for %u values", (size_t)(end - p), n);
        if ((n & 7) && (p[nb - 1] >> (n & 7)))
            return codec_corrupt(e, type, "nonzero padding bits");
        for (uint32_t i = 0; i < n; i++) out[i] = (p[i >> 3] >> (i & 7)) & 1;
        return 0;
    }
    case CB_BOOL_CONST:
        if (n == 0 || end - p != 1 || p[0] > 1) return codec_corrupt(e, type, "bad constant block");
        for (uint32_t i = 0; i < n; i++) out[i] = p[0];
        return 0;
    case CB_BOOL_RUNS: {
        if (n == 0 || p >= end || p[0] > 1) return codec_corrupt(e, type, "bad run header");
        bool cur = p[0];
        p++;
        uint32_t k = 0;
        while (k < n) {
            uint64_t r = 0;
            unsigned shift = 0;
            /* Run lengths are at most n < 2^32: five bytes. */
            for (;;) {
                if (p >= end) return codec_corrupt(e, type, "truncated run at value %u", k);
                unsigned c = *p++;
                r |= (uint64_t)(c & 0x7f) << shift;
                if (!(c & 0x80)) break;
                shift += 7;
                if (shift > 28) return codec_corrupt(e, type, "run length too long");
            }
            if (r == 0 || r > n - k)
                return codec_corrupt(e, type, "bad run length %llu", (unsigned long long)r);
            for (uint32_t i = 0; i < (uint32_t)r; i++) out[k + i] = cur;
            k += (uint32_t)r;
            cur = !cur;
        }
        if (p != end) return codec_corrupt(e, type, "%zu trailing bytes", (size_t)(end - p));
        return 0;
    }
    default:
        return codec_corrupt(e, type, "unknown encoding %u", tag);
    }
}
