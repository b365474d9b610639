/* Unit tests for src/codec: bit-exact round trips of every codec of every type on random data and
 * on edges (NaN payloads, ±Inf, -0.0, subnormals, INT64_MIN/MAX, UINT64_MAX, huge gaps,
 * all-equal pages, n = 0 and 1, block boundaries, empty and 1 MiB strings), the encoding each
 * DEFAULT picks and the sizes it reaches, and hardening: every encoded block is decoded again
 * after truncation at every byte position and after random byte flips, from an exactly sized
 * heap copy so that ASan catches any read past the block, into exactly n outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static double tr_unit(trng *r) {
    return (double)(tr_next(r) >> 11) / 9007199254740992.0;
}
static double tr_normal(trng *r) {
    double u = tr_unit(r), v = tr_unit(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

enum ttype { T_TS, T_I64, T_F64, T_BOOL, T_STR };
static const char *const tnames[] = {"timestamp", "integer", "double", "boolean", "string"};

static size_t tsize(enum ttype t) {
    switch (t) {
    case T_BOOL:
        return sizeof(bool);
    case T_STR:
        return sizeof(strv);
    default:
        return 8;
    }
}

static int enc_any(enum ttype t, const void *v, uint32_t n, int codec, buf *out, err *e) {
    switch (t) {
    case T_TS:
        return codec_encode_ts(v, n, codec, out, e);
    case T_I64:
        return codec_encode_i64(v, n, codec, out, e);
    case T_F64:
        return codec_encode_f64(v, n, codec, out, e);
    case T_BOOL:
        return codec_encode_bool(v, n, codec, out, e);
    default:
        return codec_encode_str(v, n, codec, out, e);
    }
}

static int dec_any(enum ttype t, const void *in, size_t len, uint32_t n, void *out, arena *a,
                   err *e) {
    switch (t) {
    case T_TS:
        return codec_decode_ts(in, len, n, out, e);
    case T_I64:
        return codec_decode_i64(in, len, n, out, e);
    case T_F64:
        return codec_decode_f64(in, len, n, out, e);
    case T_BOOL:
        return codec_decode_bool(in, len, n, out, e);
    default:
        return codec_decode_str(in, len, n, a, out, e);
    }
}

static int dec_range(enum ttype t, const void *in, size_t len, uint32_t n, uint32_t lo, uint32_t hi,
                     void *out, err *e) {
    switch (t) {
    case T_TS:
        return codec_decode_ts_range(in, len, n, lo, hi, out, e);
    case T_I64:
        return codec_decode_i64_range(in, len, n, lo, hi, out, e);
    default:
        return codec_decode_f64_range(in, len, n, lo, hi, out, e);
    }
}

/* An exactly sized heap copy: ASan reports any read past the end. */
static unsigned char *exact_copy(const void *p, size_t len) {
    unsigned char *q = malloc(len ? len : 1);
    assert_non_null(q);
    if (len) memcpy(q, p, len);
    return q;
}

static void check_corrupt_err(const err *e, enum ttype t) {
    char want[64];
    snprintf(want, sizeof want, "corrupt %s block: ", tnames[t]);
    assert_int_equal(e->http, 500);
    assert_string_equal(e->code, EC_STORAGE);
    if (strncmp(e->msg, want, strlen(want)) != 0) fail_msg("unexpected message: %s", e->msg);
}

static void assert_same(enum ttype t, const void *a, const void *b, uint32_t n) {
    if (t == T_STR) {
        const strv *x = a, *y = b;
        for (uint32_t i = 0; i < n; i++) {
            if (x[i].len != y[i].len)
                fail_msg("string %u: length %u, want %u", i, y[i].len, x[i].len);
            if (x[i].len && memcmp(x[i].p, y[i].p, x[i].len) != 0) fail_msg("string %u differs", i);
        }
        return;
    }
    if (t == T_BOOL) {
        const bool *x = a, *y = b;
        for (uint32_t i = 0; i < n; i++)
            if (x[i] != y[i]) fail_msg("bool %u differs", i);
        return;
    }
    const uint64_t *x = a, *y = b;
    for (uint32_t i = 0; i < n; i++)
        if (x[i] != y[i])
            fail_msg("%s %u: got %016llx, want %016llx", tnames[t], i, (unsigned long long)y[i],
                     (unsigned long long)x[i]);
}

/* After a successful decode of damaged input every string must still be readable. */
static void touch_strings(enum ttype t, const void *out, uint32_t n) {
    if (t != T_STR) return;
    const strv *s = out;
    volatile unsigned sum = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < s[i].len; j++) sum += (unsigned char)s[i].p[j];
    (void)sum;
}

static void check_truncated(enum ttype t, const unsigned char *blk, size_t len, size_t cut,
                            uint32_t n, void *out, arena *a) {
    unsigned char *c = exact_copy(blk, cut);
    err e;
    err_clear(&e);
    if (dec_any(t, c, cut, n, out, a, &e) != -1)
        fail_msg("%s block truncated to %zu of %zu bytes decoded", tnames[t], cut, len);
    check_corrupt_err(&e, t);
    free(c);
    arena_reset(a);
}

/* Truncations at every byte position (sampled on big blocks) must be refused; byte flips must
 * be refused or decode to something, never crash or read/write out of bounds. */
static void torture(enum ttype t, const unsigned char *blk, size_t len, uint32_t n, trng *r) {
    arena *a = arena_new(0);
    void *out = malloc(n ? tsize(t) * n : 1);
    err e;
    /* Every position of small blocks; an even sample plus the last 16 bytes of big ones. */
    size_t step = len > 2048 ? len / 512 : 1, tail = step > 1 ? len - 16 : 0;
    for (size_t cut = 0; cut < tail; cut += step) check_truncated(t, blk, len, cut, n, out, a);
    for (size_t cut = tail; cut < len; cut++) check_truncated(t, blk, len, cut, n, out, a);
    size_t flips = len <= 2048 ? len : len <= 65536 ? 1024 : 128;
    for (size_t k = 0; k < flips; k++) {
        size_t pos = len <= 2048 ? k : (size_t)(tr_next(r) % len);
        unsigned char *c = exact_copy(blk, len);
        c[pos] ^= (unsigned char)(1 + tr_next(r) % 255);
        if (k % 4 == 3) c[tr_next(r) % len] ^= (unsigned char)(1 + tr_next(r) % 255);
        err_clear(&e);
        int rc = dec_any(t, c, len, n, out, a, &e);
        assert_true(rc == 0 || rc == -1);
        if (rc < 0)
            check_corrupt_err(&e, t);
        else
            touch_strings(t, out, n);
        free(c);
        arena_reset(a);
    }
    /* An extra byte at the end is always refused. */
    unsigned char *c = malloc(len + 1);
    memcpy(c, blk, len);
    c[len] = 0;
    err_clear(&e);
    assert_int_equal(dec_any(t, c, len + 1, n, out, a, &e), -1);
    check_corrupt_err(&e, t);
    free(c);
    free(out);
    arena_free(a);
}

/* Partial decodes (codec_decode_*_range) give the slice of the values, into exactly hi - lo
 * outputs: ranges at the ends, across and inside 128-value blocks, empty ones and random ones;
 * a range past the end is refused. */
static void check_ranges(enum ttype t, const void *v, const unsigned char *blk, size_t len,
                         uint32_t n) {
    uint32_t r[][2] = {{0, n},
                       {0, 0},
                       {n, n},
                       {0, n < 1 ? n : 1},
                       {n / 2, n},
                       {0, n / 2},
                       {n / 3, n / 2},
                       {0, n < 128 ? n : 128},
                       {n < 127 ? 0 : 127, n < 129 ? n : 129},
                       {n < 200 ? 0 : 200, n},
                       {n ? n - 1 : 0, n}};
    trng rg = {n * 7 + len};
    err e;
    for (size_t k = 0; k < sizeof r / sizeof r[0] + 8; k++) {
        uint32_t lo, hi;
        tu_range(r, sizeof r / sizeof r[0], k, n, &rg, &lo, &hi);
        void *out = malloc(hi > lo ? 8 * (size_t)(hi - lo) : 1);
        err_clear(&e);
        if (dec_range(t, blk, len, n, lo, hi, out, &e) != 0)
            fail_msg("range %u..%u of %u failed: %s", lo, hi, n, e.msg);
        assert_same(t, (const char *)v + 8 * (size_t)lo, out, hi - lo);
        free(out);
    }
    err_clear(&e);
    assert_int_equal(dec_range(t, blk, len, n, 0, n + 1, NULL, &e), -1);
    check_corrupt_err(&e, t);
    assert_int_equal(dec_range(t, blk, len, n, 1, 0, NULL, &e), -1);
}

/* Encodes (appending behind a prefix), decodes from an exact copy into exactly n outputs,
 * compares, then tortures the block. Returns the encoded size; *block gets the block kind. */
static size_t roundtrip_ex(enum ttype t, const void *v, uint32_t n, int codec, int *block,
                           bool tort) {
    buf b;
    buf_init(&b);
    buf_puts(&b, "XY");
    err e;
    err_clear(&e);
    assert_int_equal(enc_any(t, v, n, codec, &b, &e), 0);
    assert_true(b.len > 2);
    assert_memory_equal(b.p, "XY", 2);
    size_t len = b.len - 2;
    unsigned char *blk = exact_copy(b.p + 2, len);
    buf_free(&b);
    if (block) *block = blk[0];

    arena *a = arena_new(0);
    void *out = malloc(n ? tsize(t) * n : 1);
    int rc = dec_any(t, blk, len, n, out, a, &e);
    if (rc != 0)
        fail_msg("decode of %s block (%s, n=%u, codec %d) failed: %s", tnames[t],
                 codec_block_name(blk[0]), n, codec, e.msg);
    assert_same(t, v, out, n);
    free(out);
    if (t != T_BOOL && t != T_STR) check_ranges(t, v, blk, len, n);

    /* A wrong value count must not crash (it is refused except where the block cannot tell). */
    out = malloc(tsize(t) * (n + 1));
    dec_any(t, blk, len, n + 1, out, a, &e);
    if (n) dec_any(t, blk, len, n - 1, out, a, &e);
    free(out);
    arena_free(a);

    if (tort) {
        trng r = {len * 31 + n};
        torture(t, blk, len, n, &r);
    }
    free(blk);
    return len;
}

static size_t roundtrip(enum ttype t, const void *v, uint32_t n, int codec) {
    return roundtrip_ex(t, v, n, codec, NULL, true);
}

/* Every codec id, including ids that do not apply to the type and out-of-range ones. */
static const int all_codecs[] = {CODEC_USE_DEFAULT,
                                 CODEC_USE_PLAIN,
                                 CODEC_USE_GORILLA,
                                 CODEC_USE_ZSTD,
                                 CODEC_USE_SNAPPY,
                                 CODEC_USE_GZIP,
                                 CODEC_USE_ZLIB,
                                 CODEC_USE_BZIP,
                                 CODEC_USE_LZ4,
                                 99,
                                 -1};
#define N_CODECS (sizeof all_codecs / sizeof all_codecs[0])

static void roundtrip_all(enum ttype t, const void *v, uint32_t n) {
    for (size_t c = 0; c < N_CODECS; c++) roundtrip(t, v, n, all_codecs[c]);
}

/* ---- timestamps and integers -------------------------------------------------------------- */

static void test_ts_regular(void **state) {
    int64_t *v = malloc(8640 * sizeof *v);
    for (uint32_t i = 0; i < 8640; i++) v[i] = 1700000000000000000 + (int64_t)i * 10000000000;
    int blk;
    size_t len = roundtrip_ex(T_TS, v, 8640, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_INT);
    assert_true(len <= 24); /* ~0 bits per row */
    assert_int_equal(roundtrip(T_TS, v, 8640, CODEC_USE_PLAIN), 1 + 8640 * 8);

    /* One missing point: the gap is one exception, not a wide block. */
    for (uint32_t i = 4000; i < 8640; i++) v[i] += 10000000000;
    len = roundtrip(T_TS, v, 8640, CODEC_USE_DEFAULT);
    assert_true(len < 200);

    /* Jitter of ±1 ms on a 10 s interval in ns: ~22 bits of noise at most. */
    trng r = {1};
    int64_t t = 1700000000000000000;
    for (uint32_t i = 0; i < 8640; i++) {
        t += 10000000000 + (int64_t)(tr_next(&r) % 2000001) - 1000000;
        v[i] = t;
    }
    len = roundtrip(T_TS, v, 8640, CODEC_USE_DEFAULT);
    assert_true(len < 8640 * 23 / 8 + 600);
    free(v);
}

static void test_ts_edges(void **state) {
    int64_t one = 42;
    roundtrip_all(T_TS, &one, 1);
    roundtrip_all(T_TS, NULL, 0);
    int64_t two[] = {INT64_MIN, INT64_MAX};
    roundtrip_all(T_TS, two, 2);
    int64_t three[] = {INT64_MIN, 0, INT64_MAX};
    roundtrip_all(T_TS, three, 3);
    int64_t four[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX - 1, INT64_MAX};
    roundtrip_all(T_TS, four, 4);
    int64_t gaps[] = {INT64_MIN,           -1000000000000000000, -1,       0, 1, 999,
                      1000000000000000000, INT64_MAX - 5,        INT64_MAX};
    roundtrip_all(T_TS, gaps, sizeof gaps / sizeof gaps[0]);

    /* Random sorted timestamps of every size across block boundaries. */
    trng r = {7};
    int64_t *v = malloc(1000 * sizeof *v);
    uint32_t sizes[] = {2, 3, 127, 128, 129, 130, 255, 256, 257, 258, 1000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t t = (int64_t)(tr_next(&r) >> 2) - (INT64_C(1) << 61);
        for (uint32_t i = 0; i < sizes[s]; i++) {
            t += 1 + (int64_t)(tr_next(&r) % (i % 50 == 0 ? 1000000000000 : 1000));
            v[i] = t;
        }
        roundtrip(T_TS, v, sizes[s], CODEC_USE_DEFAULT);
    }
    free(v);
}

static void test_i64_edges(void **state) {
    int64_t ext[] = {INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MIN, -1};
    roundtrip_all(T_I64, ext, sizeof ext / sizeof ext[0]);
    uint64_t uext[] = {UINT64_MAX, 0, UINT64_MAX, 1, (uint64_t)1 << 63, ((uint64_t)1 << 63) - 1};
    roundtrip_all(T_I64, uext, sizeof uext / sizeof uext[0]);

    int64_t *v = malloc(4096 * sizeof *v);
    /* Alternating extremes across many blocks: every delta overflows int64. */
    for (uint32_t i = 0; i < 4096; i++) v[i] = i & 1 ? INT64_MAX : INT64_MIN;
    roundtrip_all(T_I64, v, 4096);
    for (uint32_t i = 0; i < 4096; i++) v[i] = (int64_t)(i & 1 ? UINT64_MAX : 0);
    roundtrip(T_I64, v, 4096, CODEC_USE_DEFAULT);

    /* All equal: a handful of bytes whatever n. */
    for (uint32_t i = 0; i < 4096; i++) v[i] = -123456789;
    int blk;
    assert_true(roundtrip_ex(T_I64, v, 4096, CODEC_USE_DEFAULT, &blk, true) <= 16);
    assert_int_equal(blk, CB_INT);
    for (uint32_t i = 0; i < 4096; i++) v[i] = INT64_MIN;
    assert_true(roundtrip(T_I64, v, 4096, CODEC_USE_DEFAULT) <= 16);

    /* Mostly small with rare huge and rare very negative values: exceptions above and below. */
    trng r = {3};
    for (uint32_t i = 0; i < 4096; i++) {
        v[i] = 1000 + (int64_t)(tr_next(&r) % 16);
        if (i % 300 == 7) v[i] = INT64_MAX - (int64_t)i;
        if (i % 500 == 11) v[i] = INT64_MIN + (int64_t)i;
    }
    size_t len = roundtrip(T_I64, v, 4096, CODEC_USE_DEFAULT);
    assert_true(len < 4096 * 5 / 8 + 600);

    /* A gauge that sometimes drops to zero: the drop must not widen its block. */
    for (uint32_t i = 0; i < 4096; i++) v[i] = i % 1000 == 500 ? 0 : 1000000 + (int64_t)(i % 8);
    len = roundtrip(T_I64, v, 4096, CODEC_USE_DEFAULT);
    assert_true(len < 4096 * 4 / 8 + 400);
    free(v);
}

static void test_i64_random(void **state) {
    trng r = {11};
    int64_t *v = malloc(3000 * sizeof *v);
    for (int round = 0; round < 40; round++) {
        uint32_t n = (uint32_t)(tr_next(&r) % 3000) + 1;
        int shape = round % 6;
        int64_t acc = (int64_t)tr_next(&r);
        unsigned bits = 1 + (unsigned)(tr_next(&r) % 64);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t x = bits == 64 ? tr_next(&r) : tr_next(&r) & (((uint64_t)1 << bits) - 1);
            switch (shape) {
            case 0:
                v[i] = (int64_t)tr_next(&r);
                break; /* full range */
            case 1:
                v[i] = (int64_t)x;
                break; /* bounded */
            case 2:
                acc = (int64_t)((uint64_t)acc + x);
                v[i] = acc;
                break; /* counter */
            case 3:
                acc = (int64_t)((uint64_t)acc + x - (x >> 1) * 2);
                v[i] = acc;
                break;
            case 4:
                v[i] = (int64_t)(x - ((uint64_t)1 << (bits - 1)));
                break; /* signed */
            default:
                v[i] = i % 97 == 0 ? (int64_t)tr_next(&r) : (int64_t)(x & 0xff);
                break;
            }
        }
        roundtrip(T_I64, v, n, CODEC_USE_DEFAULT);
        roundtrip(T_TS, v, n, CODEC_USE_DEFAULT);
    }
    /* Counters: a few bits per value. */
    int64_t c = 0;
    for (uint32_t i = 0; i < 3000; i++) v[i] = c += (int64_t)(tr_next(&r) % 100);
    assert_true(roundtrip(T_I64, v, 3000, CODEC_USE_DEFAULT) < 3000 + 300);
    free(v);
}

/* ---- doubles ------------------------------------------------------------------------------ */

static double dbits(uint64_t b) {
    double d;
    memcpy(&d, &b, 8);
    return d;
}

static void test_f64_specials(void **state) {
    double sp[] = {0.0,
                   -0.0,
                   NAN,
                   -NAN,
                   dbits(0x7ff0000000000001ull), /* signalling NaN */
                   dbits(0x7ff8deadbeef0001ull),
                   dbits(0xfff0000000000001ull),
                   dbits(0xffffffffffffffffull),
                   INFINITY,
                   -INFINITY,
                   DBL_MAX,
                   -DBL_MAX,
                   DBL_MIN,
                   -DBL_MIN,
                   DBL_TRUE_MIN,
                   -DBL_TRUE_MIN,
                   dbits(0x000fffffffffffffull), /* largest subnormal */
                   1e-310,
                   DBL_EPSILON,
                   1.0,
                   -1.0,
                   0.1,
                   9007199254740991.0,
                   9007199254740992.0,
                   1e300,
                   123.456};
    size_t ns = sizeof sp / sizeof sp[0];
    roundtrip_all(T_F64, sp, (uint32_t)ns);
    for (size_t i = 0; i < ns; i++) roundtrip_all(T_F64, &sp[i], 1);
    roundtrip_all(T_F64, NULL, 0);

    /* -0.0 among decimal values: m = 0 would give +0.0, so the page must not be decimal. */
    double z[] = {1.5, -0.0, 2.25, 0.0};
    int blk;
    roundtrip_ex(T_F64, z, 4, CODEC_USE_DEFAULT, &blk, true);
    assert_int_not_equal(blk, CB_F64_DECIMAL);
    double nanpage[] = {1.5, 2.5, NAN, 3.5};
    roundtrip_ex(T_F64, nanpage, 4, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_F64_GORILLA);
    double infpage[] = {1.5, INFINITY};
    roundtrip_ex(T_F64, infpage, 2, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_F64_GORILLA);

    /* Each special repeated over a whole page. */
    double *v = malloc(1000 * sizeof *v);
    for (size_t s = 0; s < ns; s++) {
        for (uint32_t i = 0; i < 1000; i++) v[i] = sp[s];
        assert_true(roundtrip(T_F64, v, 1000, CODEC_USE_DEFAULT) < 200);
        for (uint32_t i = 0; i < 1000; i++) v[i] = i & 1 ? sp[s] : sp[(s + 1) % ns];
        roundtrip(T_F64, v, 1000, CODEC_USE_GORILLA);
    }
    free(v);
}

static void test_f64_decimal(void **state) {
    int blk;
    /* Exponents from 0 to the limit, and one digit past it. */
    double a[] = {0.1, 0.2, 0.3};
    roundtrip_ex(T_F64, a, 3, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_F64_DECIMAL);
    double b[] = {1e-18, 2e-18, -7e-18};
    roundtrip_ex(T_F64, b, 3, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_F64_DECIMAL);
    double c[] = {1e-19, 2e-19, 3e-19};
    roundtrip_ex(T_F64, c, 3, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_F64_GORILLA);
    /* Mantissas up to 2^53 - 1, with a constant step. */
    double d[100];
    for (int i = 0; i < 100; i++) d[i] = 9007199254740991.0 - 3.0 * i;
    assert_true(roundtrip_ex(T_F64, d, 100, CODEC_USE_DEFAULT, &blk, true) < 24);
    assert_int_equal(blk, CB_F64_DECIMAL);
    d[0] = -9007199254740991.0;
    d[1] = 0.0;
    roundtrip_ex(T_F64, d, 100, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_F64_DECIMAL);
    double f[] = {0.1 + 0.2, 0.3};
    roundtrip_ex(T_F64, f, 2, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_F64_GORILLA);

    /* Random decimal texts with 0..17 fraction digits, parsed like the line protocol does:
     * whichever encoding is picked, every value comes back bit for bit. */
    trng r = {5};
    double *v = malloc(2000 * sizeof *v);
    for (int round = 0; round < 36; round++) {
        int digits = round % 18;
        uint32_t n = 1 + (uint32_t)(tr_next(&r) % 2000);
        for (uint32_t i = 0; i < n; i++) {
            char txt[64];
            double mag = pow(10, (double)(tr_next(&r) % 12)) * tr_unit(&r);
            snprintf(txt, sizeof txt, "%.*f", digits, tr_next(&r) & 1 ? -mag : mag);
            v[i] = strtod(txt, NULL);
        }
        roundtrip(T_F64, v, n, CODEC_USE_DEFAULT);
    }
    free(v);
}

/* The TSBS cpu shape: clamped random walk in [0,100], step N(0,1), printed with 2 decimals. */
static void tsbs_walk(trng *r, double *v, uint32_t n) {
    double x = 100 * tr_unit(r);
    for (uint32_t i = 0; i < n; i++) {
        char txt[32];
        snprintf(txt, sizeof txt, "%.2f", x);
        v[i] = strtod(txt, NULL);
        x += tr_normal(r);
        x = x < 0 ? 0 : x > 100 ? 100 : x;
    }
}

static void test_f64_walks(void **state) {
    trng r = {9};
    uint32_t n = 8640;
    double *v = malloc(n * sizeof *v);
    tsbs_walk(&r, v, n);
    int blk;
    size_t len = roundtrip_ex(T_F64, v, n, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_F64_DECIMAL);
    assert_true(len < n * 12 / 8); /* under 12 bits per value */
    size_t glen = roundtrip(T_F64, v, n, CODEC_USE_GORILLA);
    assert_true(len < glen);

    /* Full-precision walk: Gorilla, still round-trips exactly. */
    double x = 50;
    for (uint32_t i = 0; i < n; i++) v[i] = x += tr_normal(&r);
    roundtrip_ex(T_F64, v, n, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_F64_GORILLA);

    /* Random bit patterns (NaNs, subnormals and all) through every double path. */
    for (uint32_t i = 0; i < 3000; i++) v[i] = dbits(tr_next(&r));
    roundtrip_all(T_F64, v, 3000);
    /* Gorilla's long-window paths: values differing in all 64 bits, then in one bit. */
    for (uint32_t i = 0; i < 300; i++) v[i] = dbits(i & 1 ? 0xffffffffffffffffull : 0);
    for (uint32_t i = 300; i < 600; i++) v[i] = dbits(((uint64_t)1 << (i % 64)) ^ 0x5555);
    roundtrip(T_F64, v, 600, CODEC_USE_GORILLA);
    free(v);
}

/* The integer packer at every bit width 0..64, with and without exceptions, for every block
 * shape (one partial block, whole blocks, a partial last block, sizes around a multiple of 8
 * so that the unpackers' groups of eight end inside the data) and every transform: the
 * decoder specialises each width and each must round-trip. */
static void test_int_widths(void **state) {
    static const uint32_t sizes[] = {1, 2, 7, 8, 9, 127, 128, 129, 255, 256, 300, 1000};
    trng r = {77};
    int64_t *v = malloc(1200 * sizeof *v);
    bool kinds[8] = {false};
    for (unsigned w = 0; w <= 64; w++) {
        uint64_t m = w == 64 ? ~(uint64_t)0 : ((uint64_t)1 << w) - 1;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            uint32_t n = sizes[s];
            for (int shape = 0; shape < 4; shape++) {
                uint64_t x = tr_next(&r), d = tr_next(&r) & m;
                for (uint32_t i = 0; i < n; i++) {
                    uint64_t u;
                    switch (shape) {
                    case 0: /* frame of reference: base + w random bits */
                        u = x + (tr_next(&r) & m);
                        break;
                    case 1: /* deltas of w bits */
                        u = x += tr_next(&r) & m;
                        break;
                    case 2: /* delta of deltas of w bits */
                        u = x += d += (tr_next(&r) & m) - (m >> 1);
                        break;
                    default: /* w bits, and every 37th value an outlier (an exception) */
                        u = (tr_next(&r) & m) ^ (i % 37 == 5 ? tr_next(&r) << 1 : 0);
                        break;
                    }
                    v[i] = (int64_t)u;
                }
                int blk;
                /* Torture only some: the truncation sweep is quadratic in the block size. */
                bool tort = n <= 129 && (w % 7 == 0 || w >= 56);
                roundtrip_ex(T_I64, v, n, CODEC_USE_DEFAULT, &blk, tort);
                buf b;
                buf_init(&b);
                err e;
                codec_encode_i64(v, n, CODEC_USE_DEFAULT, &b, &e);
                if (b.p[0] == CB_INT) kinds[(unsigned char)b.p[1] & 7] = true;
                buf_free(&b);
                roundtrip_ex(T_TS, v, n, CODEC_USE_DEFAULT, &blk, false);
            }
        }
    }
    /* constant step, frame of reference, delta and delta of delta all came up */
    for (int k = 1; k <= 4; k++)
        if (!kinds[k]) fail_msg("integer transform %d never chosen", k);
    free(v);
}

/* Decimal doubles at every exponent 0..18, negative and positive, with mantissas around 2^51
 * (where the decoder's fast conversion hands over to the plain one) and up to 2^53 - 1. */
static void test_f64_decimal_exponents(void **state) {
    trng r = {31};
    uint32_t n = 700;
    double *v = malloc(n * sizeof *v);
    static const double p10[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                   1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
    for (int e = 0; e <= 18; e++) {
        for (int mag = 0; mag < 4; mag++) {
            /* mantissa magnitudes: small, just under 2^51, straddling 2^51, up to 2^53 - 1 */
            uint64_t lim = mag == 0 ? 100000 : (uint64_t)1 << (mag == 1 ? 50 : mag == 2 ? 52 : 53);
            int64_t m0 = mag == 2 ? ((int64_t)1 << 51) - 300 : 0;
            for (uint32_t i = 0; i < n; i++) {
                int64_t m =
                    mag == 2 ? m0 + (int64_t)(tr_next(&r) % 600) : (int64_t)(tr_next(&r) % lim);
                if (tr_next(&r) & 1) m = -m;
                v[i] = (double)m / p10[e];
            }
            int blk;
            roundtrip_ex(T_F64, v, n, CODEC_USE_DEFAULT, &blk, mag == 2 && e % 6 == 0);
            /* the values were made as m / 10^e: unless a smaller form was found, decimal */
            if (mag < 3 && blk != CB_F64_DECIMAL)
                fail_msg("e=%d mag=%d: block %s", e, mag, codec_block_name(blk));
        }
    }
    /* A slowly drifting walk is delta-coded; a constant one is a single run. */
    for (uint32_t i = 0; i < n; i++) v[i] = (double)(123456 + (int64_t)i * 3) / 1e3;
    roundtrip(T_F64, v, n, CODEC_USE_DEFAULT);
    for (uint32_t i = 0; i < n; i++) v[i] = -42.25;
    roundtrip(T_F64, v, n, CODEC_USE_DEFAULT);
    free(v);
}

/* ---- booleans ----------------------------------------------------------------------------- */

static void test_bool(void **state) {
    trng r = {13};
    bool *v = malloc(5000 * sizeof *v);
    uint32_t sizes[] = {0, 1, 2, 7, 8, 9, 63, 64, 65, 1000, 5000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint32_t n = sizes[s];
        for (int shape = 0; shape < 5; shape++) {
            for (uint32_t i = 0; i < n; i++) {
                switch (shape) {
                case 0:
                    v[i] = true;
                    break;
                case 1:
                    v[i] = false;
                    break;
                case 2:
                    v[i] = i & 1;
                    break;
                case 3:
                    v[i] = tr_next(&r) & 1;
                    break;
                default:
                    v[i] = (i / 700) & 1;
                    break;
                }
            }
            roundtrip_all(T_BOOL, v, n);
        }
    }
    int blk;
    for (uint32_t i = 0; i < 5000; i++) v[i] = true;
    assert_int_equal(roundtrip_ex(T_BOOL, v, 5000, CODEC_USE_DEFAULT, &blk, true), 2);
    assert_int_equal(blk, CB_BOOL_CONST);
    for (uint32_t i = 0; i < 5000; i++) v[i] = (i / 700) & 1;
    roundtrip_ex(T_BOOL, v, 5000, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_BOOL_RUNS);
    for (uint32_t i = 0; i < 5000; i++) v[i] = tr_next(&r) & 1;
    assert_int_equal(roundtrip_ex(T_BOOL, v, 5000, CODEC_USE_DEFAULT, &blk, true), 1 + 625);
    assert_int_equal(blk, CB_BOOL_BITS);
    assert_int_equal(roundtrip_ex(T_BOOL, v, 5000, CODEC_USE_PLAIN, &blk, true), 1 + 5000);
    assert_int_equal(blk, CB_BOOL_BYTES);
    free(v);
}

/* ---- strings ------------------------------------------------------------------------------ */

static const int str_codecs[] = {CODEC_USE_DEFAULT, CODEC_USE_PLAIN, CODEC_USE_ZSTD,
                                 CODEC_USE_SNAPPY,  CODEC_USE_GZIP,  CODEC_USE_ZLIB,
                                 CODEC_USE_BZIP,    CODEC_USE_LZ4};
#define N_STR_CODECS (sizeof str_codecs / sizeof str_codecs[0])

static void test_str_small(void **state) {
    strv empty1[] = {{"", 0}};
    roundtrip_all(T_STR, empty1, 1);
    roundtrip_all(T_STR, NULL, 0);
    strv empties[300];
    for (int i = 0; i < 300; i++) empties[i] = (strv){"", 0};
    roundtrip_all(T_STR, empties, 300);
    strv mixed[] = {{"", 0},
                    {"a", 1},
                    {"", 0},
                    {"h\xc3\xa9llo w\xc3\xb6rld \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80", 22},
                    {"\0\x01\xff\xfe\0", 5},
                    {"tab\there\nnewline", 16},
                    {"", 0}};
    roundtrip_all(T_STR, mixed, sizeof mixed / sizeof mixed[0]);
}

static void test_str_pages(void **state) {
    trng r = {17};
    static const char *const hosts[] = {"host_0", "host_1", "host_2", "host_3", "host_4"};
    static const char *const regions[] = {"us-east-1", "eu-west-1", "ap-southeast-2"};
    uint32_t n = 2000;
    strv *v = malloc(n * sizeof *v);
    char *pool = malloc((size_t)n * 64);
    /* Tag-like values: few distinct, compress far below a byte per value. */
    size_t raw = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *s = i % 3 ? hosts[tr_next(&r) % 5] : regions[tr_next(&r) % 3];
        v[i] = (strv){s, (uint32_t)strlen(s)};
        raw += 1 + v[i].len;
    }
    for (size_t c = 0; c < N_STR_CODECS; c++) {
        int blk;
        size_t len = roundtrip_ex(T_STR, v, n, str_codecs[c], &blk, true);
        if (str_codecs[c] == CODEC_USE_DEFAULT) {
            /* 8 distinct values: a dictionary and 3-bit indices */
            assert_int_equal(blk, CB_STR_DICT);
            assert_true(len < n * 4 / 8 + 100);
        } else if (str_codecs[c] != CODEC_USE_PLAIN) {
            assert_int_not_equal(blk, CB_STR_PLAIN);
            assert_true(len < raw / 3);
        } else {
            assert_int_equal(blk, CB_STR_PLAIN);
        }
    }
    /* 400 distinct values (some empty) in 2000: dictionary or zstd, whichever is smaller. */
    char(*names)[16] = malloc(400 * sizeof *names);
    for (uint32_t i = 0; i < 400; i++) snprintf(names[i], sizeof names[i], "sensor-%u", i * 7919);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)(tr_next(&r) % 400);
        v[i] = (strv){names[k], k % 50 ? (uint32_t)strlen(names[k]) : 0};
    }
    int blk;
    size_t dlen = roundtrip_ex(T_STR, v, n, CODEC_USE_DEFAULT, &blk, true);
    assert_true(blk == CB_STR_DICT || blk == CB_STR_ZSTD);
    assert_true(dlen <= roundtrip(T_STR, v, n, CODEC_USE_ZSTD));
    /* Few distinct values but a page too short for a dictionary (n/4 < 1), and exactly n/4. */
    roundtrip_ex(T_STR, v, 3, CODEC_USE_DEFAULT, &blk, true);
    assert_int_not_equal(blk, CB_STR_DICT);
    for (uint32_t i = 0; i < 8; i++) v[i] = (strv){names[i % 2], (uint32_t)strlen(names[i % 2])};
    roundtrip_ex(T_STR, v, 8, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_STR_DICT);
    for (uint32_t i = 0; i < 8; i++) v[i] = (strv){"", 0};
    roundtrip_ex(T_STR, v, 8, CODEC_USE_DEFAULT, &blk, true);
    assert_int_equal(blk, CB_STR_DICT);
    free(names);
    /* Random binary of random lengths: never bigger than the plain block. */
    n = 1000;
    raw = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = (uint32_t)(tr_next(&r) % 64);
        for (uint32_t j = 0; j < l; j++) pool[(size_t)i * 64 + j] = (char)tr_next(&r);
        v[i] = (strv){pool + (size_t)i * 64, l};
        raw += 1 + l;
    }
    for (size_t c = 0; c < N_STR_CODECS; c++)
        assert_true(roundtrip(T_STR, v, n, str_codecs[c]) <= 1 + raw);
    /* One incompressible value: no compressor shrinks it, so it is stored plain. */
    for (size_t j = 0; j < 64; j++) pool[j] = (char)tr_next(&r);
    v[0] = (strv){pool, 64};
    for (size_t c = 0; c < N_STR_CODECS; c++) {
        assert_int_equal(roundtrip_ex(T_STR, v, 1, str_codecs[c], &blk, true), 1 + 1 + 64);
        assert_int_equal(blk, CB_STR_PLAIN);
    }
    free(pool);
    free(v);
}

static void test_str_long(void **state) {
    size_t big = (size_t)1 << 20;
    char *s = malloc(big);
    trng r = {19};
    strv v[3];
    /* Compressible 1 MiB string between two empty ones. */
    for (size_t i = 0; i < big; i++) s[i] = "abcdefgh"[(i / 7 + (i >> 12)) % 8];
    v[0] = (strv){"", 0};
    v[1] = (strv){s, (uint32_t)big};
    v[2] = (strv){"", 0};
    for (size_t c = 0; c < N_STR_CODECS; c++) {
        int blk;
        size_t len = roundtrip_ex(T_STR, v, 3, str_codecs[c], &blk, c < 3);
        if (str_codecs[c] != CODEC_USE_PLAIN) assert_true(len < big / 4);
    }
    /* Incompressible 1 MiB. */
    for (size_t i = 0; i < big; i++) s[i] = (char)tr_next(&r);
    for (size_t c = 0; c < N_STR_CODECS; c++)
        roundtrip_ex(T_STR, v, 3, str_codecs[c], NULL, c == 0);
    free(s);
}

/* ---- hand-made malformed blocks ----------------------------------------------------------- */

static void expect_bad(enum ttype t, const void *blk, size_t len, uint32_t n) {
    unsigned char *c = exact_copy(blk, len);
    arena *a = arena_new(0);
    void *out = malloc(n ? tsize(t) * n : 1);
    err e;
    err_clear(&e);
    if (dec_any(t, c, len, n, out, a, &e) != -1) fail_msg("malformed %s block accepted", tnames[t]);
    check_corrupt_err(&e, t);
    free(out);
    arena_free(a);
    free(c);
}

static void test_malformed_numbers(void **state) {
    for (enum ttype t = T_TS; t <= T_STR; t++) {
        expect_bad(t, "", 0, 0);
        expect_bad(t, "", 0, 3);
        expect_bad(t, "\0", 1, 0);
        expect_bad(t, "\xc8", 1, 1);
    }
    /* A block of another type. */
    expect_bad(T_I64, "\x07\x01", 2, 1);
    expect_bad(T_F64, "\x02\x01\x02\x02", 4, 1);
    expect_bad(T_BOOL, "\x01", 1, 0);
    expect_bad(T_STR, "\x06", 1, 0);
    /* raw64 with a wrong size */
    expect_bad(T_I64, "\x01\x01\x02\x03\x04\x05\x06\x07", 8, 1);
    expect_bad(T_F64, "\x01", 1, 1);
    /* int body: unknown transform, constant run with n = 0 and trailing bytes */
    expect_bad(T_I64, "\x02\x09", 2, 1);
    expect_bad(T_I64, "\x02\x01\x02\x02", 4, 0);
    expect_bad(T_I64, "\x02\x01\x02\x02\x00", 5, 3);
    /* overlong varints */
    expect_bad(T_I64, "\x02\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00", 13, 3);
    expect_bad(T_I64, "\x02\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02\x00", 13, 3);
    /* FOR block: width 65, exceptions of width 0, w + ew > 64, position out of range,
     * positions not increasing */
    expect_bad(T_I64, "\x02\x02\x41\x00", 4, 1);
    expect_bad(T_I64, "\x02\x02\x80\x00\x00\x00", 6, 1);
    expect_bad(T_I64,
               "\x02\x02\xbf\x00"
               "\x00\x00\x00\x00\x00\x00\x00\x00"
               "\x00\x02\x00\x00",
               16, 1);
    expect_bad(T_I64, "\x02\x02\x80\x00\x00\x08\x05\x01", 8, 2);
    expect_bad(T_I64, "\x02\x02\x80\x00\x01\x08\x01\x00\x01\x01", 10, 2);
    expect_bad(T_I64, "\x02\x02\x80\x00\x01\x08\x01\x01\x01\x01", 10, 2);
    /* delta kinds with too few values */
    expect_bad(T_I64, "\x02\x03\x00", 3, 0);
    expect_bad(T_I64, "\x02\x04\x00\x00", 4, 1);
    /* decimal exponent 19 */
    expect_bad(T_F64, "\x04\x13\x02\x01\x02\x00", 6, 1);
    expect_bad(T_F64, "\x04", 1, 1);
    /* Gorilla: reuse before any window, lz + len > 64, trailing byte, nonzero padding */
    expect_bad(T_F64, "\x03\0\0\0\0\0\0\0\0\x01", 10, 2);
    expect_bad(T_F64, "\x03\0\0\0\0\0\0\0\0\x7f\x00", 11, 2);
    expect_bad(T_F64, "\x03\0\0\0\0\0\0\0\0\x00", 10, 1);
    expect_bad(T_F64, "\x03\0\0\0\0\0\0\0\0\x02", 10, 2);
    expect_bad(T_F64, "\x03\0\0\0\0\0\0\0", 8, 1);
    /* reading past the end of the stream */
    expect_bad(T_F64, "\x03\0\0\0\0\0\0\0\0\xff", 10, 2);
}

static void test_malformed_bool_str(void **state) {
    expect_bad(T_BOOL, "\x05\x00\x02", 3, 2);
    expect_bad(T_BOOL, "\x05\x00", 2, 2);
    expect_bad(T_BOOL, "\x06\xff", 2, 3); /* padding bits set */
    expect_bad(T_BOOL, "\x06\x07\x00", 3, 3);
    expect_bad(T_BOOL, "\x07\x02", 2, 3);
    expect_bad(T_BOOL, "\x07\x01", 2, 0);
    expect_bad(T_BOOL, "\x07\x01\x01", 3, 3);
    expect_bad(T_BOOL, "\x08\x01\x02\x02", 4, 3); /* runs add up to 4 */
    expect_bad(T_BOOL, "\x08\x01\x02", 3, 3);     /* runs add up to 2 */
    expect_bad(T_BOOL, "\x08\x01\x00\x03", 4, 3); /* empty run */
    expect_bad(T_BOOL, "\x08\x02\x03", 3, 3);
    expect_bad(T_BOOL, "\x08\x01\x01\x02\x00", 5, 3);
    expect_bad(T_BOOL, "\x08\x00\xff\xff\xff\xff\xff\x01", 8, 3);

    /* plain: lengths do not add up, truncated length, over-long length */
    expect_bad(T_STR,
               "\x09\x02\x01"
               "ab",
               5, 2);
    expect_bad(T_STR,
               "\x09\x02\x01"
               "a",
               4, 2);
    expect_bad(T_STR, "\x09\x80", 2, 1);
    expect_bad(T_STR, "\x09\xff\xff\xff\xff\xff\x01", 7, 1);
    /* compressed: n = 0, missing size, size that no payload supports (must not allocate it) */
    expect_bad(T_STR, "\x0a\x01\x00", 3, 0);
    expect_bad(T_STR, "\x0a", 1, 1);
    expect_bad(T_STR, "\x0c\xff\xff\xff\xff\x0f\x00\x00", 8, 1);
    expect_bad(T_STR, "\x0e\xff\xff\xff\xff\x1f\x00\x00", 8, 1);
    expect_bad(T_STR, "\x0f\x80\x80\x80\x40\x00", 6, 1);
    expect_bad(T_STR, "\x0b\x05\x00", 3, 1);
    /* dictionary: empty, zero or too many entries, truncated entries, index out of range, too
     * few indices */
    expect_bad(T_STR, "\x10", 1, 1);
    expect_bad(T_STR, "\x10\x00", 2, 1);
    expect_bad(T_STR, "\x10\x03\x00\x00\x00\x01\x01\x00\x00", 9, 2);
    expect_bad(T_STR,
               "\x10\x01\x05"
               "ab",
               5, 1);
    expect_bad(T_STR,
               "\x10\x01\x01"
               "a"
               "\x01\x02\x02",
               7, 1);
    expect_bad(T_STR,
               "\x10\x01\x01"
               "a"
               "\x02\x00\x00",
               7, 200);
    expect_bad(T_STR,
               "\x10\x01\x01"
               "a"
               "\x01\x00\x00",
               7, 0);
    /* zstd: the claimed size disagrees with the frame header */
    strv v[] = {{"hello hello hello hello hello hello", 35}, {"hello hello hello", 17}};
    buf b;
    buf_init(&b);
    codec_encode_str(v, 2, CODEC_USE_ZSTD, &b, NULL);
    assert_int_equal((unsigned char)b.p[0], CB_STR_ZSTD);
    b.p[1]++;
    expect_bad(T_STR, b.p, b.len, 2);
    buf_free(&b);
}

/* ---- random fuzzing of encoders and decoders together ------------------------------------- */

static void test_random_mix(void **state) {
    trng r = {23};
    uint32_t maxn = 700;
    int64_t *iv = malloc(maxn * sizeof *iv);
    double *fv = malloc(maxn * sizeof *fv);
    for (int round = 0; round < 60; round++) {
        uint32_t n = (uint32_t)(tr_next(&r) % maxn);
        int codec = all_codecs[tr_next(&r) % N_CODECS];
        int64_t base = (int64_t)tr_next(&r);
        unsigned sh = (unsigned)(tr_next(&r) % 64);
        for (uint32_t i = 0; i < n; i++) {
            iv[i] = (int64_t)((uint64_t)base + (tr_next(&r) >> sh) * (i % 5));
            fv[i] = round % 2 ? (double)(iv[i] >> 20) / 1000 : dbits((uint64_t)iv[i]);
        }
        roundtrip(T_I64, iv, n, codec);
        roundtrip(T_F64, fv, n, codec);
    }
    free(iv);
    free(fv);
}

/* Every block name is known and distinct. */
static void test_block_names(void **state) {
    for (int b = 1; b < CB__COUNT; b++) {
        assert_string_not_equal(codec_block_name(b), "?");
        for (int c = 1; c < b; c++)
            assert_string_not_equal(codec_block_name(b), codec_block_name(c));
    }
    assert_string_equal(codec_block_name(0), "?");
    assert_int_equal(codec_block_of("", 0), -1);
    assert_int_equal(codec_block_of("\x04", 1), CB_F64_DECIMAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_regular),
        cmocka_unit_test(test_ts_edges),
        cmocka_unit_test(test_i64_edges),
        cmocka_unit_test(test_i64_random),
        cmocka_unit_test(test_f64_specials),
        cmocka_unit_test(test_f64_decimal),
        cmocka_unit_test(test_f64_walks),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_str_small),
        cmocka_unit_test(test_str_pages),
        cmocka_unit_test(test_str_long),
        cmocka_unit_test(test_malformed_numbers),
        cmocka_unit_test(test_malformed_bool_str),
        cmocka_unit_test(test_random_mix),
        cmocka_unit_test(test_block_names),
        cmocka_unit_test(test_int_widths),
        cmocka_unit_test(test_f64_decimal_exponents),
    };
    /* CODEC_TEST=pattern runs only the matching tests. */
    if (getenv("CODEC_TEST")) cmocka_set_test_filter(getenv("CODEC_TEST"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
