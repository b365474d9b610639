/* Bounds-checked readers of the little-endian and LEB128 encodings used by the on-disk formats.
 *
 * A reader walks [p, end); any read past the end (or a varint longer than 10 bytes) sets bad
 * and returns 0, so a decoder checks once after a group of reads instead of after each. */
#ifndef STRATA_UTIL_VARINT_H
#define STRATA_UTIL_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct byte_reader {
    const unsigned char *p, *end;
    bool bad;
} byte_reader;

static inline uint64_t br_uvarint(byte_reader *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

/* The sign is spread with unsigned arithmetic: right-shifting a negative int64 is
 * implementation-defined in C. */
static inline uint64_t zigzag_encode(int64_t v) {
    return ((uint64_t)v << 1) ^ ((uint64_t)0 - ((uint64_t)v >> 63));
}
static inline int64_t zigzag_decode(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline int64_t br_zigzag(byte_reader *r) {
    return zigzag_decode(br_uvarint(r));
}

/* n bytes, or NULL (and bad) if fewer remain. */
static inline const unsigned char *br_bytes(byte_reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *p = r->p;
    r->p += n;
    return p;
}

/* Steps over a varint without decoding it. */
static inline void br_skip_uvarint(byte_reader *r) {
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end) {
            r->bad = true;
            return;
        }
        if (!(*r->p++ & 0x80)) return;
    }
    r->bad = true;
}

static inline uint32_t br_u32(byte_reader *r) {
    const unsigned char *p = br_bytes(r, 4);
    uint32_t v = 0;
    if (p) memcpy(&v, p, 4);
    return v;
}

static inline uint64_t br_u64(byte_reader *r) {
    const unsigned char *p = br_bytes(r, 8);
    uint64_t v = 0;
    if (p) memcpy(&v, p, 8);
    return v;
}

#endif
