/* Numeric codecs: the integer packer (timestamps, BIGINT, BIGINT UNSIGNED, and the mantissas of
 * the decimal DOUBLE encoding) and Gorilla XOR for DOUBLE. See codec.h for which codec name
 * picks what.
 *
 * Byte layouts (all multi-byte integers little-endian; "zz" = zigzag LEB128 varint):
 *   CB_RAW64         n × 8 bytes.
 *   CB_INT           body.
 *   CB_F64_DECIMAL   e (one byte, 0..18), body of m[i]; v[i] = (double)m[i] / 10^e.
 *   CB_F64_GORILLA   bit stream (LSB first, zero-padded to a byte):
 *                    64 bits of v[0]; then per value x = bits(v[i]) ^ bits(v[i-1]):
 *                    "0" x == 0 | "1" "0" meaningful bits in the previous window |
 *                    "1" "1" lz (5 bits) len (6 bits, 0 = 64) then len bits (x >> (64-lz-len)).
 *   body             one kind byte, then:
 *     IK_CONST  zz first, zz step            v[i] = first + i * step (n >= 1)
 *     IK_FOR    blocks over v[0..n)
 *     IK_DELTA  zz v[0], blocks over the n-1 deltas v[i] - v[i-1]
 *     IK_DOD    zz v[0], zz d[0], blocks over the n-2 delta differences
 *   block            (up to 128 values t[j]; the last one holds the rest)
 *                    header byte: bits 0-6 width w (0..64), bit 7 has-exceptions;
 *                    zz base; ceil(cnt*w/8) bytes: the low w bits of t[j] - base, packed;
 *                    with exceptions: (count-1) byte, width ew byte (w + ew <= 64), count
 *                    strictly increasing position bytes, ceil(count*ew/8) bytes: the high
 *                    parts (t[j] - base) >> w of those positions, packed.
 * All integer arithmetic is unsigned and wraps, so any int64/uint64 input round-trips. */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#ifdef __FAST_MATH__
#error "codec/num.c needs IEEE division (the decimal double encoding); do not use -ffast-math"
#endif

#define NUM_BLK 128
#define NUM_PAD 8 /* bytes the unpacker may read past the packed data */

enum { IK_CONST = 1, IK_FOR = 2, IK_DELTA = 3, IK_DOD = 4 };

/* ---- small helpers ------------------------------------------------------------------------ */

static inline uint64_t num_ld64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void num_st64(uint8_t *p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

static inline uint64_t num_zz(uint64_t v) {
    return (v << 1) ^ (0 - (v >> 63));
}
static inline uint64_t num_unzz(uint64_t z) {
    return (z >> 1) ^ (0 - (z & 1));
}
/* Two's complement reinterpretation without implementation-defined conversions. */
static inline int64_t num_u2i(uint64_t u) {
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}
static inline uint64_t num_mask(unsigned w) {
    return w >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << w) - 1;
}
static inline unsigned num_bits(uint64_t v) {
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
}
static inline unsigned num_varint_len(uint64_t v) {
    unsigned k = 1;
    while (v >= 0x80) v >>= 7, k++;
    return k;
}

/* LEB128 with bounds: fails on truncation and on encodings longer than 64 bits. */
static inline int num_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
    const uint8_t *p = *pp;
    uint64_t x = 0;
    for (unsigned shift = 0; p < end; shift += 7) {
        unsigned c = *p++;
        if (shift == 63 && c > 1) return -1;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            *pp = p;
            return 0;
        }
        if (shift == 63) return -1;
    }
    return -1;
}

/* ---- bit writer (LSB first) --------------------------------------------------------------- */

typedef struct num_bw {
    buf *b;
    uint64_t acc;
    unsigned nb; /* bits held in acc, < 64 */
} num_bw;

/* v must fit in `bits` bits (bits <= 64). */
static inline void num_bw_put(num_bw *w, uint64_t v, unsigned bits) {
    if (!bits) return;
    unsigned room = 64 - w->nb;
    w->acc |= v << w->nb;
    if (bits < room) {
        w->nb += bits;
        return;
    }
    buf_reserve(w->b, 8);
    num_st64((uint8_t *)w->b->p + w->b->len, w->acc);
    w->b->len += 8;
    w->acc = room < 64 ? v >> room : 0;
    w->nb = bits - room;
}

/* Writes the pending bits, zero-padded to a byte. */
static void num_bw_flush(num_bw *w) {
    while (w->nb) {
        buf_putc(w->b, (char)(uint8_t)w->acc);
        w->acc >>= 8;
        w->nb = w->nb > 8 ? w->nb - 8 : 0;
    }
    w->acc = 0;
}

/* ---- unpacking ---------------------------------------------------------------------------- */

/* Eight w-bit fields always end on a byte boundary, so the unpackers work in groups of eight
 * whose byte offsets and shifts are constants: one specialised function per width (generated
 * below) turns each field into a load, a constant shift and a mask, with no loop-carried bit
 * position. They fill whole groups, so out must have room for cnt rounded up to 8. */
#define NUM_GROUP_BYTES(cnt, w) ((size_t)(((cnt) + 7u) & ~7u) * (w) / 8)

/* Widths up to 56: a field and its shift fit in one unaligned 8-byte load. */
#define NUM_UNPACK_W(W)                                                                            \
    static void num_unpack_##W(const uint8_t *p, unsigned cnt, uint64_t *out) {                    \
        const uint64_t m = ((uint64_t)1 << W) - 1;                                                 \
        for (unsigned g = 0; g < cnt; g += 8, p += W, out += 8) {                                  \
            out[0] = num_ld64(p) & m;                                                              \
            out[1] = (num_ld64(p + 1 * W / 8) >> (1 * W % 8)) & m;                                 \
            out[2] = (num_ld64(p + 2 * W / 8) >> (2 * W % 8)) & m;                                 \
            out[3] = (num_ld64(p + 3 * W / 8) >> (3 * W % 8)) & m;                                 \
            out[4] = (num_ld64(p + 4 * W / 8) >> (4 * W % 8)) & m;                                 \
            out[5] = (num_ld64(p + 5 * W / 8) >> (5 * W % 8)) & m;                                 \
            out[6] = (num_ld64(p + 6 * W / 8) >> (6 * W % 8)) & m;                                 \
            out[7] = (num_ld64(p + 7 * W / 8) >> (7 * W % 8)) & m;                                 \
        }                                                                                          \
    }
/* clang-format off */
#define NUM_WIDTHS(X)                                                                       \
    X(1)  X(2)  X(3)  X(4)  X(5)  X(6)  X(7)  X(8)  X(9)  X(10) X(11) X(12) X(13) X(14)    \
    X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28)    \
    X(29) X(30) X(31) X(32) X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40) X(41) X(42)    \
    X(43) X(44) X(45) X(46) X(47) X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56)
/* clang-format on */
NUM_WIDTHS(NUM_UNPACK_W)
#define NUM_UNPACK_REF(W) [W] = num_unpack_##W,
static void (*const num_unpackers[57])(const uint8_t *, unsigned,
                                       uint64_t *) = {NUM_WIDTHS(NUM_UNPACK_REF)};

/* Widths 57..64 (rare: such pages are usually stored raw) take a ninth byte when the field
 * does not start on a byte boundary. */
static void num_unpack_wide(const uint8_t *p, unsigned cnt, unsigned w, uint64_t *out) {
    uint64_t m = num_mask(w);
    for (unsigned j = 0, b = 0; j < cnt; j++, b += w) {
        unsigned s = b & 7;
        uint64_t v = num_ld64(p + (b >> 3)) >> s;
        if (s) v |= (uint64_t)p[(b >> 3) + 8] << (64 - s);
        out[j] = v & m;
    }
}

/* out[j] = the j-th w-bit field of p, for j < cnt rounded up to 8 (see above). p must be
 * readable for NUM_GROUP_BYTES(cnt, w) + NUM_PAD bytes. */
static void num_unpack(const uint8_t *p, unsigned cnt, unsigned w, uint64_t *out) {
    if (w == 0)
        memset(out, 0, ((cnt + 7u) & ~7u) * sizeof *out);
    else if (w <= 56)
        num_unpackers[w](p, cnt, out);
    else
        num_unpack_wide(p, cnt, w, out);
}

/* Unpacks from the input when enough bytes follow it, else from a zero-padded copy of the
 * ceil(cnt*w/8) bytes that hold the fields. cnt <= NUM_BLK. */
static void num_unpack_safe(const uint8_t *p, const uint8_t *end, unsigned cnt, unsigned w,
                            uint64_t *out) {
    size_t need = NUM_GROUP_BYTES(cnt, w) + NUM_PAD;
    if ((size_t)(end - p) >= need) {
        num_unpack(p, cnt, w, out);
        return;
    }
    uint8_t pad[NUM_BLK * 8 + NUM_PAD];
    size_t pb = ((size_t)cnt * w + 7) / 8;
    memcpy(pad, p, pb);
    memset(pad + pb, 0, need - pb);
    num_unpack(pad, cnt, w, out);
}

/* ---- integer packer: encoder -------------------------------------------------------------- */

typedef struct num_plan {
    uint64_t base;
    unsigned w, ew, nexc;
    size_t bytes; /* whole block, header included */
} num_plan;

/* The transformed values t[0..cnt) of block start s (index into the transformed stream). */
static void num_xform(const uint64_t *v, int kind, uint32_t s, unsigned cnt, uint64_t *t) {
    switch (kind) {
    case IK_FOR:
        memcpy(t, v + s, cnt * sizeof *t);
        break;
    case IK_DELTA:
        for (unsigned j = 0; j < cnt; j++) t[j] = v[s + j + 1] - v[s + j];
        break;
    default: /* IK_DOD */
        for (unsigned j = 0; j < cnt; j++)
            t[j] = (v[s + j + 2] - v[s + j + 1]) - (v[s + j + 1] - v[s + j]);
        break;
    }
}

/* Best width and exceptions for a block with a given base. Values below the base wrap around
 * to 64-bit offsets and so always become exceptions. */
static void num_plan_base(const uint64_t *t, unsigned cnt, uint64_t base, num_plan *pl) {
    uint64_t any = 0;
    for (unsigned j = 0; j < cnt; j++) any |= t[j] - base;
    unsigned maxl = num_bits(any), bw = maxl, bexc = 0;
    size_t best = ((size_t)cnt * maxl + 7) / 8;
    if (maxl > 0) {
        /* Four histograms: consecutive equal lengths would otherwise serialise on one
         * counter's load-increment-store. */
        unsigned h4[4][65] = {{0}}, hist[65];
        unsigned j = 0;
        for (; j + 4 <= cnt; j += 4) {
            h4[0][num_bits(t[j] - base)]++;
            h4[1][num_bits(t[j + 1] - base)]++;
            h4[2][num_bits(t[j + 2] - base)]++;
            h4[3][num_bits(t[j + 3] - base)]++;
        }
        for (; j < cnt; j++) h4[0][num_bits(t[j] - base)]++;
        for (unsigned l = 0; l <= maxl; l++) hist[l] = h4[0][l] + h4[1][l] + h4[2][l] + h4[3][l];
        unsigned above = 0;
        for (unsigned w = maxl; w-- > 0;) {
            above += hist[w + 1];
            if (above > 64) break; /* this many exceptions never pay off */
            unsigned ew = maxl - w;
            size_t sz = ((size_t)cnt * w + 7) / 8 + 2 + above + ((size_t)above * ew + 7) / 8;
            if (sz < best) best = sz, bw = w, bexc = above;
        }
    }
    pl->base = base;
    pl->w = bw;
    pl->nexc = bexc;
    pl->ew = bexc ? maxl - bw : 0;
    pl->bytes = 1 + num_varint_len(num_zz(base)) + best;
}

/* Chooses base, width and exceptions for a block to minimise its size. The base is the
 * minimum or, when the block is wide enough for it to matter, the second or third smallest
 * distinct value, so up to two low outliers (a negative delta-of-delta after a gap, a gauge
 * dropping to zero) cost an exception each instead of widening every value. Any base decodes
 * correctly; the choice only affects size. */
static void num_plan_block(const uint64_t *t, unsigned cnt, num_plan *pl) {
    const uint64_t sign = (uint64_t)1 << 63; /* x ^ sign orders as signed */
    uint64_t m0 = t[0] ^ sign;
    for (unsigned j = 1; j < cnt; j++) {
        uint64_t x = t[j] ^ sign;
        m0 = x < m0 ? x : m0;
    }
    num_plan_base(t, cnt, m0 ^ sign, pl);
    if (pl->w < 4) return;
    uint64_t m1 = UINT64_MAX, m2 = UINT64_MAX; /* sentinels are harmless: any base works */
    for (unsigned j = 0; j < cnt; j++) {
        uint64_t x = t[j] ^ sign;
        if (x <= m0) continue;
        if (x < m1)
            m2 = m1, m1 = x;
        else if (x > m1 && x < m2)
            m2 = x;
    }
    num_plan cand;
    num_plan_base(t, cnt, m1 ^ sign, &cand);
    if (cand.bytes < pl->bytes) *pl = cand;
    if (m2 != m1) {
        num_plan_base(t, cnt, m2 ^ sign, &cand);
        if (cand.bytes < pl->bytes) *pl = cand;
    }
}

static void num_write_block(const uint64_t *t, unsigned cnt, const num_plan *pl, buf *out) {
    buf_putc(out, (char)(uint8_t)(pl->w | (pl->nexc ? 0x80 : 0)));
    buf_put_uvarint(out, num_zz(pl->base));
    num_bw bw = {out, 0, 0};
    uint64_t m = num_mask(pl->w);
    for (unsigned j = 0; j < cnt; j++) num_bw_put(&bw, (t[j] - pl->base) & m, pl->w);
    num_bw_flush(&bw);
    if (!pl->nexc) return;
    buf_putc(out, (char)(uint8_t)(pl->nexc - 1));
    buf_putc(out, (char)(uint8_t)pl->ew);
    for (unsigned j = 0; j < cnt; j++)
        if ((t[j] - pl->base) >> pl->w) buf_putc(out, (char)(uint8_t)j);
    for (unsigned j = 0; j < cnt; j++) {
        uint64_t hi = (t[j] - pl->base) >> pl->w;
        if (hi) num_bw_put(&bw, hi, pl->ew);
    }
    num_bw_flush(&bw);
}

static uint32_t num_kind_off(int kind) {
    return kind == IK_FOR ? 0 : kind == IK_DELTA ? 1 : 2;
}

/* Quick size estimate for a transform kind (IK_FOR, IK_DELTA, IK_DOD; n > 2): every value at
 * the width of its block's range, no exceptions. Only used to pick the transform. */
static size_t num_kind_estimate(const uint64_t *v, uint32_t n, int kind) {
    const uint64_t sign = (uint64_t)1 << 63;
    uint32_t m = n - num_kind_off(kind);
    size_t bits = 0;
    uint64_t t[NUM_BLK];
    for (uint32_t s = 0; s < m; s += NUM_BLK) {
        unsigned cnt = m - s < NUM_BLK ? m - s : NUM_BLK;
        num_xform(v, kind, s, cnt, t);
        uint64_t lo = UINT64_MAX, hi = 0;
        for (unsigned j = 0; j < cnt; j++) {
            uint64_t x = t[j] ^ sign;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        bits += (size_t)cnt * num_bits(hi - lo) + 8 * (1 + num_varint_len(num_zz(lo ^ sign)));
    }
    return bits / 8;
}

/* Plans the integer-packer body for v[0..n), n >= 1: the transform kind and the exact size. */
static int num_body_plan(const uint64_t *v, uint32_t n, size_t *size) {
    uint64_t step = n > 1 ? v[1] - v[0] : 0;
    uint32_t i = 2;
    while (i < n && v[i] - v[i - 1] == step) i++;
    if (i >= n) {
        *size = 1 + num_varint_len(num_zz(v[0])) + num_varint_len(num_zz(step));
        return IK_CONST;
    }
    /* n >= 3 here: a constant-step check cannot fail with fewer values. */
    int kind = IK_FOR;
    size_t best = num_kind_estimate(v, n, IK_FOR);
    size_t c = num_kind_estimate(v, n, IK_DELTA);
    if (c < best) best = c, kind = IK_DELTA;
    c = num_kind_estimate(v, n, IK_DOD);
    if (c < best) best = c, kind = IK_DOD;

    uint32_t off = num_kind_off(kind);
    size_t sz = 1;
    if (kind != IK_FOR) sz += num_varint_len(num_zz(v[0]));
    if (kind == IK_DOD) sz += num_varint_len(num_zz(v[1] - v[0]));
    uint64_t t[NUM_BLK];
    num_plan pl;
    for (uint32_t s = 0; s < n - off; s += NUM_BLK) {
        unsigned cnt = n - off - s < NUM_BLK ? n - off - s : NUM_BLK;
        num_xform(v, kind, s, cnt, t);
        num_plan_block(t, cnt, &pl);
        sz += pl.bytes;
    }
    *size = sz;
    return kind;
}

/* Appends the body for a kind chosen by num_body_plan (size is a capacity hint). */
static void num_body_write(const uint64_t *v, uint32_t n, int kind, size_t size, buf *out) {
    buf_reserve(out, size + 16);
    buf_putc(out, (char)kind);
    if (kind == IK_CONST) {
        buf_put_uvarint(out, num_zz(v[0]));
        buf_put_uvarint(out, num_zz(n > 1 ? v[1] - v[0] : 0));
        return;
    }
    uint32_t off = num_kind_off(kind);
    if (kind != IK_FOR) buf_put_uvarint(out, num_zz(v[0]));
    if (kind == IK_DOD) buf_put_uvarint(out, num_zz(v[1] - v[0]));
    uint64_t t[NUM_BLK];
    num_plan pl;
    for (uint32_t s = 0; s < n - off; s += NUM_BLK) {
        unsigned cnt = n - off - s < NUM_BLK ? n - off - s : NUM_BLK;
        num_xform(v, kind, s, cnt, t);
        num_plan_block(t, cnt, &pl);
        num_write_block(t, cnt, &pl, out);
    }
}

static void num_raw_encode(const void *v, uint32_t n, buf *out) {
    buf_reserve(out, 1 + (size_t)n * 8);
    buf_putc(out, CB_RAW64);
    uint8_t *d = (uint8_t *)out->p + out->len;
    const uint8_t *s = v;
    for (uint32_t i = 0; i < n; i++) num_st64(d + (size_t)i * 8, num_ld64(s + (size_t)i * 8));
    out->len += (size_t)n * 8;
}

/* ---- integer packer: decoder -------------------------------------------------------------- */

/* Where decoded values go: integers (iout) or doubles m / scale (fout). Only values lo..hi-1
 * of the page are stored, value i at out[i - lo]; decoding stops after the block holding
 * value hi-1, so a scan that needs the first rows of a page does not decode the rest. */
typedef struct num_sink {
    uint64_t *iout;
    double *fout;
    double scale;
    uint32_t lo, hi;
} num_sink;

/* out[j] = (double)(int64_t)m[j] / scale, bit for bit. (double) of an int64 has no SSE2
 * vector form, so while every m is within +-2^51 it is done by placing m in the low mantissa
 * bits of 1.5 * 2^52 (exact) and subtracting that again; the loop then vectorises, the division
 * included (twice the throughput of the scalar divide). Groups of eight with a scalar tail,
 * because -O2 vectorises only loops with no remainder; the range check rides along in the
 * same loop (a separate pass would not vectorise), and a page with a larger mantissa is
 * converted again the plain way. */
static inline __attribute__((always_inline)) unsigned num_to_f64_groups(const uint64_t *restrict m,
                                                                        unsigned cnt, double scale,
                                                                        double *restrict out,
                                                                        bool divide) {
    const uint64_t half = (uint64_t)1 << 51, magic = 0x4338000000000000u; /* bits of 1.5*2^52 */
    const double magic_d = 6755399441055744.0;
    unsigned j = 0, full = cnt & ~7u;
    uint64_t any = 0;
    for (; j < full; j += 8)
        for (unsigned k = 0; k < 8; k++) {
            uint64_t u = m[j + k] + magic;
            double x;
            memcpy(&x, &u, 8);
            any |= m[j + k] + half;
            out[j + k] = divide ? (x - magic_d) / scale : x - magic_d;
        }
    return any >> 52 ? 0 : j; /* how many are done */
}

/* e = 0 (whole numbers stored as doubles) needs no division at all. */
static void num_to_f64(const uint64_t *restrict m, unsigned cnt, double scale,
                       double *restrict out) {
    unsigned j = scale == 1.0 ? num_to_f64_groups(m, cnt, scale, out, false)
                              : num_to_f64_groups(m, cnt, scale, out, true);
    for (; j < cnt; j++) out[j] = (double)num_u2i(m[j]) / scale;
}

/* Stores values v[0..cnt), which are values k..k+cnt-1 of the page, as far as the sink wants
 * them. */
static void num_emit(const num_sink *sk, uint32_t k, const uint64_t *v, unsigned cnt) {
    uint32_t a = k < sk->lo ? sk->lo - k : 0;
    uint32_t b = sk->hi - k < cnt ? sk->hi - k : cnt; /* k < hi */
    if (a >= b) return;
    if (sk->iout)
        memcpy(sk->iout + (k + a - sk->lo), v + a, (size_t)(b - a) * sizeof *v);
    else
        num_to_f64(v + a, b - a, sk->scale, sk->fout + (k + a - sk->lo));
}

/* o[j] = t[j] + base (frame of reference), in groups of eight so that it vectorises. */
static inline void num_add_base(const uint64_t *restrict t, unsigned cnt, uint64_t base,
                                uint64_t *restrict o) {
    unsigned j = 0;
    for (; j + 8 <= cnt; j += 8)
        for (unsigned k = 0; k < 8; k++) o[j + k] = t[j + k] + base;
    for (; j < cnt; j++) o[j] = t[j] + base;
}

/* Undoes the transform of one block: t[0..cnt) are offsets from base in the transformed
 * domain; acc and d carry the running value and delta between blocks. */
static inline void num_untransform(int kind, const uint64_t *restrict t, unsigned cnt,
                                   uint64_t base, uint64_t *accp, uint64_t *dp,
                                   uint64_t *restrict o) {
    uint64_t acc = *accp, d = *dp;
    switch (kind) {
    case IK_FOR:
        num_add_base(t, cnt, base, o);
        break;
    case IK_DELTA:
        for (unsigned j = 0; j < cnt; j++) o[j] = acc += t[j] + base;
        break;
    default:
        for (unsigned j = 0; j < cnt; j++) {
            d += t[j] + base;
            o[j] = acc += d;
        }
        break;
    }
    *accp = acc;
    *dp = d;
}

/* num_untransform's effect on acc and d without the values: a block before the rows wanted.
 * A delta block moves acc by the sum of its deltas; a delta-of-delta block by the sum of its
 * running deltas, sum_j (d + sum_{i<=j} (t_i + base)) = cnt*d + sum_i (cnt-i)(t_i + base).
 * Sums instead of a running chain, so the loops vectorise. Wrapping arithmetic throughout. */
static inline void num_skip(int kind, const uint64_t *restrict t, unsigned cnt, uint64_t base,
                            uint64_t *accp, uint64_t *dp) {
    uint64_t s = 0, c = cnt;
    if (kind == IK_DELTA) {
        for (unsigned j = 0; j < cnt; j++) s += t[j];
        *accp += s + c * base;
        return;
    }
    uint64_t w = 0;
    for (unsigned j = 0; j < cnt; j++) {
        s += t[j];
        w += (c - j) * t[j];
    }
    *accp += c * *dp + w + base * (c * (c + 1) / 2);
    *dp += s + c * base;
}

/* One packed block's header, checked against the input. */
typedef struct num_blk {
    unsigned w, ne, ew;
    uint64_t base;
    const uint8_t *bits, *pos, *hibits; /* packed fields, exception positions and high parts */
} num_blk;

/* Parses the block of cnt values at *pp and moves *pp past it. */
static int num_blk_parse(const uint8_t **pp, const uint8_t *end, unsigned cnt, uint32_t blk,
                         num_blk *b, const char *type, err *e) {
    const uint8_t *p = *pp;
    uint64_t x;
    if (p >= end) return codec_corrupt(e, type, "truncated before block %u", blk);
    unsigned h = *p++;
    b->w = h & 0x7f;
    if (b->w > 64) return codec_corrupt(e, type, "block %u: bit width %u", blk, b->w);
    if (num_uvarint(&p, end, &x) < 0)
        return codec_corrupt(e, type, "block %u: truncated base", blk);
    b->base = num_unzz(x);
    size_t pb = ((size_t)cnt * b->w + 7) / 8;
    if ((size_t)(end - p) < pb) return codec_corrupt(e, type, "block %u: truncated", blk);
    b->bits = p;
    p += pb;
    b->ne = 0;
    if (h & 0x80) {
        if (end - p < 2) return codec_corrupt(e, type, "block %u: truncated exceptions", blk);
        b->ne = (unsigned)p[0] + 1;
        b->ew = p[1];
        p += 2;
        if (b->ne > cnt || b->ew == 0 || b->w + b->ew > 64)
            return codec_corrupt(e, type, "block %u: bad exceptions (%u of width %u)", blk, b->ne,
                                 b->ew);
        size_t hb = ((size_t)b->ne * b->ew + 7) / 8;
        if ((size_t)(end - p) < b->ne + hb)
            return codec_corrupt(e, type, "block %u: truncated exceptions", blk);
        b->pos = p;
        b->hibits = p + b->ne;
        p += b->ne + hb;
    }
    *pp = p;
    return 0;
}

/* The block's offsets from its base, exceptions patched in. t has room for NUM_BLK values. */
static int num_blk_unpack(const num_blk *b, const uint8_t *end, unsigned cnt, uint32_t blk,
                          uint64_t *t, const char *type, err *e) {
    num_unpack_safe(b->bits, end, cnt, b->w, t);
    if (!b->ne) return 0;
    uint64_t hi[NUM_BLK];
    num_unpack_safe(b->hibits, end, b->ne, b->ew, hi);
    for (unsigned j = 0; j < b->ne; j++) {
        if (b->pos[j] >= cnt || (j && b->pos[j] <= b->pos[j - 1]))
            return codec_corrupt(e, type, "block %u: bad exception position", blk);
        t[b->pos[j]] |= hi[j] << b->w;
    }
    return 0;
}

/* Decodes an integer-packer body filling [p, end) exactly into n values, storing values
 * sk->lo..sk->hi-1 (lo < hi <= n). Blocks after the last wanted value are not read, nor
 * checked; frame-of-reference blocks before the first are only parsed. */
static int num_body_decode(const uint8_t *p, const uint8_t *end, uint32_t n, const num_sink *sk,
                           const char *type, err *e) {
    if (p >= end) return codec_corrupt(e, type, "missing integer header");
    int kind = *p++;
    uint64_t acc = 0, d = 0, x;
    uint64_t t[NUM_BLK], v[NUM_BLK];
    uint32_t k = 0;
    switch (kind) {
    case IK_CONST: {
        uint64_t step;
        if (n == 0) return codec_corrupt(e, type, "constant run with no values");
        if (num_uvarint(&p, end, &x) < 0 || num_uvarint(&p, end, &step) < 0)
            return codec_corrupt(e, type, "truncated constant run");
        if (p != end) return codec_corrupt(e, type, "%zu trailing bytes", (size_t)(end - p));
        acc = num_unzz(x);
        step = num_unzz(step);
        if (sk->iout) {
            uint64_t y = acc + sk->lo * step, *o = sk->iout;
            for (uint32_t i = 0; i < sk->hi - sk->lo; i++, y += step) o[i] = y;
        } else if (step == 0) { /* the usual constant double: one division */
            double c = (double)num_u2i(acc) / sk->scale;
            for (k = sk->lo; k < sk->hi; k++) sk->fout[k - sk->lo] = c;
        } else {
            for (k = sk->lo; k < sk->hi; k += NUM_BLK) {
                unsigned cnt = sk->hi - k < NUM_BLK ? sk->hi - k : NUM_BLK;
                for (unsigned j = 0; j < cnt; j++) v[j] = acc + (k + j) * step;
                num_emit(sk, k, v, cnt);
            }
        }
        return 0;
    }
    case IK_FOR:
        break;
    case IK_DELTA:
    case IK_DOD:
        if (n < (kind == IK_DELTA ? 1u : 2u))
            return codec_corrupt(e, type, "delta run with %u values", n);
        if (num_uvarint(&p, end, &x) < 0) return codec_corrupt(e, type, "truncated first value");
        v[k++] = acc = num_unzz(x);
        if (kind == IK_DOD) {
            if (num_uvarint(&p, end, &x) < 0)
                return codec_corrupt(e, type, "truncated first delta");
            d = num_unzz(x);
            v[k++] = acc += d;
        }
        if (k > sk->lo) num_emit(sk, 0, v, k);
        break;
    default:
        return codec_corrupt(e, type, "unknown integer transform %d", kind);
    }

    for (uint32_t blk = 0; k < n && k < sk->hi; blk++) {
        unsigned cnt = n - k < NUM_BLK ? n - k : NUM_BLK;
        num_blk b = {0};
        if (num_blk_parse(&p, end, cnt, blk, &b, type, e) < 0) return -1;
        if (kind == IK_FOR && k + cnt <= sk->lo) { /* no running value to carry */
            k += cnt;
            continue;
        }
        if (num_blk_unpack(&b, end, cnt, blk, t, type, e) < 0) return -1;
        if (k + cnt <= sk->lo) { /* before the range: only the running values move on */
            num_skip(kind, t, cnt, b.base, &acc, &d);
            k += cnt;
            continue;
        }
        /* integers wanted whole go straight to the output */
        bool direct = sk->iout && k >= sk->lo && k + cnt <= sk->hi;
        uint64_t *o = direct ? sk->iout + (k - sk->lo) : v;
        num_untransform(kind, t, cnt, b.base, &acc, &d, o);
        if (!direct) num_emit(sk, k, v, cnt);
        k += cnt;
    }
    if (k >= n && p != end) return codec_corrupt(e, type, "%zu trailing bytes", (size_t)(end - p));
    return 0;
}

static int num_raw_decode(const uint8_t *p, size_t len, uint32_t n, uint32_t lo, uint32_t hi,
                          void *out, const char *type, err *e) {
    if (len != (size_t)n * 8)
        return codec_corrupt(e, type, "raw block of %zu bytes for %u values", len, n);
    uint8_t *o = out;
    for (uint32_t i = lo; i < hi; i++)
        num_st64(o + (size_t)(i - lo) * 8, num_ld64(p + (size_t)i * 8));
    return 0;
}

/* ---- timestamps and integers -------------------------------------------------------------- */

static void num_int_encode(const int64_t *v, uint32_t n, int codec, buf *out) {
    if (n == 0 || codec == CODEC_USE_PLAIN) {
        num_raw_encode(v, n, out);
        return;
    }
    /* int64_t and uint64_t may alias each other. */
    const uint64_t *u = (const uint64_t *)v;
    size_t size;
    int kind = num_body_plan(u, n, &size);
    if (size >= (size_t)n * 8) { /* incompressible: raw is smaller and faster */
        num_raw_encode(v, n, out);
        return;
    }
    buf_putc(out, CB_INT);
    num_body_write(u, n, kind, size, out);
}

/* lo <= hi <= n, checked by the callers. */
static int num_int_decode(const void *in, size_t len, uint32_t n, uint32_t lo, uint32_t hi,
                          int64_t *out, const char *type, err *e) {
    const uint8_t *p = in;
    if (len == 0) return codec_corrupt(e, type, "empty");
    switch (p[0]) {
    case CB_RAW64:
        return num_raw_decode(p + 1, len - 1, n, lo, hi, out, type, e);
    case CB_INT: {
        num_sink sk = {(uint64_t *)out, NULL, 1, lo, hi};
        return num_body_decode(p + 1, p + len, n, &sk, type, e);
    }
    default:
        return codec_corrupt(e, type, "unknown encoding %u", p[0]);
    }
}

int codec_encode_ts(const int64_t *v, uint32_t n, int codec, buf *out, err *e) {
    num_int_encode(v, n, codec, out);
    return 0;
}

/* The range entry points refuse a bad range as corruption: the caller got lo and hi from a
 * page's header, which is what would be wrong. */
static int num_range_ok(uint32_t n, uint32_t lo, uint32_t hi, const char *type, err *e) {
    if (lo > hi || hi > n)
        return codec_corrupt(e, type, "values %u..%u asked of a block of %u", lo, hi, n);
    return 0;
}

int codec_decode_ts(const void *in, size_t len, uint32_t n, int64_t *out, err *e) {
    return num_int_decode(in, len, n, 0, n, out, "timestamp", e);
}

bool codec_ts_step(const void *in, size_t len, uint32_t n, int64_t *first, int64_t *step) {
    const uint8_t *p = in, *end = p + len;
    uint64_t f, st;
    if (n == 0 || len < 2 || p[0] != CB_INT || p[1] != IK_CONST) return false;
    p += 2;
    if (num_uvarint(&p, end, &f) < 0 || num_uvarint(&p, end, &st) < 0 || p != end) return false;
    *first = num_u2i(num_unzz(f));
    *step = num_u2i(num_unzz(st));
    return true;
}

int codec_decode_ts_range(const void *in, size_t len, uint32_t n, uint32_t lo, uint32_t hi,
                          int64_t *out, err *e) {
    if (num_range_ok(n, lo, hi, "timestamp", e) < 0) return -1;
    return num_int_decode(in, len, n, lo, hi, out, "timestamp", e);
}

int codec_encode_i64(const int64_t *v, uint32_t n, int codec, buf *out, err *e) {
    num_int_encode(v, n, codec, out);
    return 0;
}

int codec_decode_i64(const void *in, size_t len, uint32_t n, int64_t *out, err *e) {
    return num_int_decode(in, len, n, 0, n, out, "integer", e);
}

int codec_decode_i64_range(const void *in, size_t len, uint32_t n, uint32_t lo, uint32_t hi,
                           int64_t *out, err *e) {
    if (num_range_ok(n, lo, hi, "integer", e) < 0) return -1;
    return num_int_decode(in, len, n, lo, hi, out, "integer", e);
}

void codec_put_uints(const uint64_t *v, uint32_t n, buf *out) {
    if (n == 0) {
        buf_putc(out, IK_FOR); /* no blocks */
        return;
    }
    size_t size;
    int kind = num_body_plan(v, n, &size);
    num_body_write(v, n, kind, size, out);
}

int codec_get_uints(const void *in, size_t len, uint32_t n, uint64_t *out, const char *type,
                    err *e) {
    const uint8_t *p = in;
    num_sink sk = {out, NULL, 1, 0, n};
    return num_body_decode(p, p + len, n, &sk, type, e);
}

/* ---- doubles: decimal scaling ------------------------------------------------------------- */

/* Powers of ten up to 10^18 are exact doubles, so m / 10^e is one correctly rounded division:
 * the same double strtod gives for the decimal text with e digits after the point. */
static const double num_p10[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                   1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
#define NUM_DEC_EMAX 18
#define NUM_2P53 9007199254740992.0

/* Whether v == (double)m / 10^e bit for bit for the m nearest v * 10^e with |m| < 2^53. The bit
 * comparison is what rejects -0.0 (m = 0 gives +0.0), NaN and the infinities. */
static inline bool num_dec_try(double v, int e, int64_t *m) {
    double x = v * num_p10[e];
    if (!(x > -NUM_2P53 && x < NUM_2P53)) return false;
    int64_t mi = (int64_t)x; /* truncates; exact range checked above */
    double frac = x - (double)mi;
    if (frac >= 0.5)
        mi++;
    else if (frac <= -0.5)
        mi--;
    double back = (double)mi / num_p10[e];
    uint64_t a, b;
    memcpy(&a, &back, 8);
    memcpy(&b, &v, 8);
    *m = mi;
    return a == b;
}

/* Appends a CB_F64_DECIMAL block if every value has an exact decimal form; false if not. */
static bool num_dec_encode(const double *v, uint32_t n, buf *out) {
    int e = 0;
    int64_t m;
    for (uint32_t i = 0; i < n; i++) {
        if (num_dec_try(v[i], e, &m)) continue;
        /* A value exact at e stays exact at larger e (same real number, same rounding) until
         * its mantissa outgrows 2^53; the second pass re-checks everything anyway. */
        while (++e <= NUM_DEC_EMAX && !num_dec_try(v[i], e, &m)) {
        }
        if (e > NUM_DEC_EMAX) return false;
    }
    uint64_t *ms = xmalloc((size_t)n * sizeof *ms);
    for (uint32_t i = 0; i < n; i++) {
        if (!num_dec_try(v[i], e, &m)) {
            free(ms);
            return false;
        }
        ms[i] = (uint64_t)m;
    }
    size_t size;
    int kind = num_body_plan(ms, n, &size);
    bool ok = size < (size_t)n * 8;
    if (ok) {
        buf_putc(out, CB_F64_DECIMAL);
        buf_putc(out, (char)e);
        num_body_write(ms, n, kind, size, out);
    }
    free(ms);
    return ok;
}

/* ---- doubles: Gorilla --------------------------------------------------------------------- */

static void num_gor_encode(const double *v, uint32_t n, buf *out) {
    buf_reserve(out, 1 + (size_t)n * 2);
    buf_putc(out, CB_F64_GORILLA);
    num_bw bw = {out, 0, 0};
    uint64_t prev;
    memcpy(&prev, &v[0], 8);
    num_bw_put(&bw, prev, 64);
    unsigned plz = 0, ptz = 0, plen = 0; /* plen 0: no window yet */
    for (uint32_t i = 1; i < n; i++) {
        uint64_t cur;
        memcpy(&cur, &v[i], 8);
        uint64_t x = cur ^ prev;
        prev = cur;
        if (!x) {
            num_bw_put(&bw, 0, 1);
            continue;
        }
        unsigned lz = (unsigned)__builtin_clzll(x), tz = (unsigned)__builtin_ctzll(x);
        if (lz > 31) lz = 31;
        unsigned len = 64 - lz - tz;
        /* Reuse the previous window (2 + plen bits) when x fits in it, unless a fresh one
         * (13 + len bits) is cheaper. */
        if (plen && lz >= plz && tz >= ptz && plen <= len + 11) {
            num_bw_put(&bw, 1, 2); /* bits "1", "0" */
            num_bw_put(&bw, x >> ptz, plen);
        } else {
            num_bw_put(&bw, 3 | (lz << 2) | ((len & 63) << 7), 13);
            num_bw_put(&bw, x >> tz, len);
            plz = lz, ptz = tz, plen = len;
        }
    }
    num_bw_flush(&bw);
}

/* 64-bit window of the stream starting at bit pos; at least 57 bits are meaningful. The safe
 * variant reads only bytes below nb and treats the rest as zeros (overrun is checked once at
 * the end); the fast one needs 8 readable bytes at pos / 8. */
static inline uint64_t num_peek(const uint8_t *p, size_t nb, uint64_t pos, bool safe) {
    size_t byte = (size_t)(pos >> 3);
    uint64_t w;
    if (!safe || (byte < nb && nb - byte >= 8)) {
        w = num_ld64(p + byte);
    } else {
        w = 0;
        for (size_t j = 0; byte < nb && j < nb - byte; j++) w |= (uint64_t)p[byte + j] << (8 * j);
    }
    return w >> (pos & 7);
}

typedef struct num_gst {
    uint64_t pos, prev;
    unsigned plen, ptz, bad;
} num_gst;

/* Decodes one value. Branch-free on the data apart from rare >57-bit fields: the control bits
 * select header length, window and width arithmetically, so mixed streams do not mispredict,
 * and the loop-carried chain is one load (the next position depends only on the header); the
 * value bits come from a second load off that chain. A malformed header only sets st->bad
 * (tested after the loop); shifts stay in range whatever the input. */
static inline __attribute__((always_inline)) uint64_t num_gor_step(const uint8_t *p, size_t nb,
                                                                   num_gst *st, bool safe) {
    uint64_t w = num_peek(p, nb, st->pos, safe);
    unsigned c0 = (unsigned)w & 1, c1 = (unsigned)(w >> 1) & 1, isnew = c0 & c1;
    unsigned nlz = (unsigned)(w >> 2) & 31, nlen = (unsigned)(w >> 7) & 63;
    nlen = nlen ? nlen : 64;
    st->bad |= isnew & (nlz + nlen > 64);
    st->bad |= c0 & (c1 ^ 1) & (st->plen == 0);
    unsigned ntz = (64 - nlz - nlen) & 63;
    unsigned len = isnew ? nlen : st->plen;
    unsigned tz = isnew ? ntz : st->ptz;
    st->plen = len;
    st->ptz = tz;
    len = c0 ? len : 0;
    unsigned hdr = c0 ? (c1 ? 13 : 2) : 1;
    uint64_t at = st->pos + hdr;
    st->pos = at + len;
    uint64_t bits = num_peek(p, nb, at, safe);
    if (__builtin_expect(len <= 57, 1)) {
        bits &= ((uint64_t)1 << len) - 1;
    } else {
        bits &= 0xffffffffu;
        bits |= (num_peek(p, nb, at + 32, safe) & num_mask(len - 32)) << 32;
    }
    st->prev ^= bits << tz;
    return st->prev;
}

/* Values lo..hi-1 of the n into out[0..hi-lo); values before lo are decoded, not stored (each
 * depends on the one before); the stream after value hi-1 is not read. */
static int num_gor_decode(const uint8_t *p, size_t nb, uint32_t n, uint32_t lo, uint32_t hi,
                          double *out, err *e) {
    const char *type = "double";
    if (n == 0) {
        if (nb) return codec_corrupt(e, type, "%zu bytes for no values", nb);
        return 0;
    }
    if (nb < 8) return codec_corrupt(e, type, "truncated first value");
    if (hi == 0) return 0;
    num_gst st = {64, num_ld64(p), 0, 0, 0};
    if (lo == 0) memcpy(&out[0], &st.prev, 8);
    uint32_t i = 1;
    /* Fast loops while a whole value (at most 77 bits plus an 8-byte load) is in bounds. */
    while (i < lo && (st.pos >> 3) + 24 <= nb) {
        num_gor_step(p, nb, &st, false);
        i++;
    }
    while (i < hi && (st.pos >> 3) + 24 <= nb) {
        uint64_t b = num_gor_step(p, nb, &st, false);
        if (i >= lo) memcpy(&out[i - lo], &b, 8);
        i++;
    }
    while (i < hi) {
        uint64_t b = num_gor_step(p, nb, &st, true);
        if (i >= lo) memcpy(&out[i - lo], &b, 8);
        i++;
        if (st.pos > (uint64_t)nb * 8) break;
    }
    if (st.bad) return codec_corrupt(e, type, "bad Gorilla header");
    if (st.pos > (uint64_t)nb * 8) return codec_corrupt(e, type, "truncated Gorilla stream");
    if (hi < n) return 0;
    if ((st.pos + 7) / 8 != nb)
        return codec_corrupt(e, type, "%zu trailing bytes", nb - (size_t)((st.pos + 7) / 8));
    if ((st.pos & 7) && (p[nb - 1] >> (st.pos & 7)))
        return codec_corrupt(e, type, "nonzero padding bits");
    return 0;
}

/* ---- doubles: entry points ---------------------------------------------------------------- */

int codec_encode_f64(const double *v, uint32_t n, int codec, buf *out, err *e) {
    if (n == 0 || codec == CODEC_USE_PLAIN) {
        num_raw_encode(v, n, out);
        return 0;
    }
    if (codec == CODEC_USE_GORILLA) {
        num_gor_encode(v, n, out);
        return 0;
    }
    size_t start = out->len;
    if (!num_dec_encode(v, n, out)) {
        num_gor_encode(v, n, out);
        return 0;
    }
    /* Gorilla needs at least 64 bits plus one per further value: skip it when it cannot win. */
    size_t dec = out->len - start;
    if (dec <= 9 + (size_t)(n - 1) / 8) return 0;
    num_gor_encode(v, n, out);
    size_t gor = out->len - start - dec;
    if (gor < dec) {
        memmove(out->p + start, out->p + start + dec, gor);
        out->len = start + gor;
    } else {
        out->len = start + dec;
    }
    return 0;
}

int codec_decode_f64(const void *in, size_t len, uint32_t n, double *out, err *e) {
    return codec_decode_f64_range(in, len, n, 0, n, out, e);
}

int codec_decode_f64_range(const void *in, size_t len, uint32_t n, uint32_t lo, uint32_t hi,
                           double *out, err *e) {
    const uint8_t *p = in;
    const char *type = "double";
    if (num_range_ok(n, lo, hi, type, e) < 0) return -1;
    if (len == 0) return codec_corrupt(e, type, "empty");
    switch (p[0]) {
    case CB_RAW64:
        return num_raw_decode(p + 1, len - 1, n, lo, hi, out, type, e);
    case CB_F64_GORILLA:
        return num_gor_decode(p + 1, len - 1, n, lo, hi, out, e);
    case CB_F64_DECIMAL: {
        if (len < 2 || p[1] > NUM_DEC_EMAX) return codec_corrupt(e, type, "bad decimal exponent");
        num_sink sk = {NULL, out, num_p10[p[1]], lo, hi};
        return num_body_decode(p + 2, p + len, n, &sk, type, e);
    }
    default:
        return codec_corrupt(e, type, "unknown encoding %u", p[0]);
    }
}
