/* Unit tests for src/server/compress.c: header parsing, round trips of every coding, concatenated
 * members/frames, truncated and corrupted bodies, the decoded-size limit (including memory use
 * under a compression bomb), the snappy framing format chunk by chunk, CRC-32C, and
 * cross-checks against the gzip/zstd/lz4/brotli command-line tools when they are installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "server/compress.h"
#include "util/buf.h"
#include "util/err.h"

#define MIB ((size_t)1 << 20)

static const enum cenc compressing[] = {CENC_GZIP, CENC_DEFLATE, CENC_BR,
                                        CENC_ZSTD, CENC_SNAPPY,  CENC_LZ4};
#define N_COMPRESSING (sizeof compressing / sizeof compressing[0])

static const enum cenc all_codings[] = {CENC_IDENTITY, CENC_GZIP,   CENC_DEFLATE, CENC_BR,
                                        CENC_ZSTD,     CENC_SNAPPY, CENC_LZ4};
#define N_ALL (sizeof all_codings / sizeof all_codings[0])

/* Codings whose format carries a checksum of the data (as Strata writes them), so corruption of
 * the payload cannot go unnoticed. */
static int has_checksum(enum cenc c) {
    return c == CENC_GZIP || c == CENC_ZSTD || c == CENC_SNAPPY || c == CENC_LZ4;
}

/* ---- data ---------------------------------------------------------------------------------- */

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void fill_random(unsigned char *p, size_t n, uint64_t seed) {
    uint64_t s = seed | 1;
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(xorshift(&s) >> 32);
}

/* Line-protocol-like text: compressible but not trivially so. */
static void fill_text(unsigned char *p, size_t n, uint64_t seed) {
    uint64_t s = seed | 1;
    size_t i = 0;
    while (i < n) {
        char line[128];
        uint64_t r = xorshift(&s);
        int k =
            snprintf(line, sizeof line, "cpu,host=server%02u,region=r%u usage=%u.%u %llu\n",
                     (unsigned)(r % 50), (unsigned)(r >> 8) % 4, (unsigned)(r >> 16) % 100,
                     (unsigned)(r >> 24) % 1000, (unsigned long long)(1700000000000000000ull + i));
        for (int j = 0; j < k && i < n; j++) p[i++] = (unsigned char)line[j];
    }
}

static unsigned char *alloc_text(size_t n, uint64_t seed) {
    unsigned char *p = malloc(n ? n : 1);
    assert_non_null(p);
    fill_text(p, n, seed);
    return p;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void encode_ok(enum cenc c, const void *in, size_t n, buf *out) {
    err e;
    if (cenc_encode(c, in, n, out, &e) != 0) fail_msg("encode %s: %s", cenc_name(c), e.msg);
}

static void assert_decode_error(int rc, const err *e) {
    assert_int_equal(rc, -1);
    assert_int_equal(e->http, 400);
    assert_string_equal(e->code, EC_DECODE);
    assert_true(strncmp(e->msg, "Error decode request: ", 22) == 0);
}

static void assert_too_large(int rc, const err *e) {
    assert_int_equal(rc, -1);
    assert_int_equal(e->http, 413);
    assert_string_equal(e->code, EC_GENERIC);
    assert_non_null(strstr(e->msg, "Request body too large"));
}

/* Encodes, then decodes after a prefix already in the buffer with the limit set exactly to the
 * size (must pass) and one below it (must be 413 and leave the prefix alone). */
static void roundtrip(enum cenc c, const unsigned char *data, size_t n) {
    buf enc, dec;
    buf_init(&enc);
    buf_init(&dec);
    encode_ok(c, data, n, &enc);
    if (c != CENC_IDENTITY) assert_true(enc.len > 0);

    buf_puts(&dec, "prefix");
    err e;
    int rc = cenc_decode(c, enc.p, enc.len, n, &dec, &e);
    if (rc != 0) fail_msg("decode %s of %zu bytes: %s", cenc_name(c), n, e.msg);
    assert_int_equal(dec.len, 6 + n);
    assert_memory_equal(dec.p, "prefix", 6);
    if (n) assert_memory_equal(dec.p + 6, data, n);

    if (n > 0) {
        buf_reset(&dec);
        buf_puts(&dec, "prefix");
        rc = cenc_decode(c, enc.p, enc.len, n - 1, &dec, &e);
        assert_too_large(rc, &e);
        assert_int_equal(dec.len, 6);
        assert_memory_equal(dec.p, "prefix", 6);
    }
    buf_free(&enc);
    buf_free(&dec);
}

/* ---- names and headers -------------------------------------------------------------------- */

static void test_names(void **state) {
    assert_string_equal(cenc_name(CENC_IDENTITY), "identity");
    assert_string_equal(cenc_name(CENC_GZIP), "gzip");
    assert_string_equal(cenc_name(CENC_DEFLATE), "deflate");
    assert_string_equal(cenc_name(CENC_BR), "br");
    assert_string_equal(cenc_name(CENC_ZSTD), "zstd");
    assert_string_equal(cenc_name(CENC_SNAPPY), "snappy");
    assert_string_equal(cenc_name(CENC_LZ4), "lz4");
    assert_string_equal(cenc_name((enum cenc)99), "identity");
}

static void test_content_encoding(void **state) {
    enum cenc c = CENC_LZ4;
    err e;
    assert_int_equal(cenc_parse_content_encoding(NULL, &c, &e), 0);
    assert_int_equal(c, CENC_IDENTITY);
    for (size_t i = 0; i < N_ALL; i++) {
        c = (enum cenc)99;
        assert_int_equal(cenc_parse_content_encoding(cenc_name(all_codings[i]), &c, &e), 0);
        assert_int_equal(c, all_codings[i]);
    }
    const char *bad[] = {"xz", "GZIP",       "Gzip", " gzip", "gzip ", "gzip, deflate",
                         "",   "gzip;q=1.0", "*",    "gzipx", "gz",    "x-gzip",
                         "Br", "compress",   "LZ4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cenc_parse_content_encoding(bad[i], &c, &e), -1);
        assert_int_equal(e.http, 400);
        assert_string_equal(e.code, EC_INVALID_HEADER);
        char want[256];
        snprintf(want, sizeof want, "Invalid header: content encoding not support: %s", bad[i]);
        assert_string_equal(e.msg, want);
    }
    /* A NULL err is allowed. */
    assert_int_equal(cenc_parse_content_encoding("xz", &c, NULL), -1);
}

static void accept_ok(const char *hdr, enum cenc want) {
    enum cenc c = (enum cenc)99;
    int present = -1;
    err e;
    if (cenc_parse_accept_encoding(hdr, &c, &present, &e) != 0)
        fail_msg("Accept-Encoding '%s': %s", hdr, e.msg);
    assert_int_equal(present, 1);
    assert_int_equal(c, want);
}

static void accept_bad(const char *hdr) {
    enum cenc c;
    int present = 0;
    err e;
    assert_int_equal(cenc_parse_accept_encoding(hdr, &c, &present, &e), -1);
    assert_int_equal(e.http, 400);
    assert_string_equal(e.code, EC_INVALID_HEADER);
    char want[512];
    snprintf(want, sizeof want,
             "Invalid header: accept encoding not support: %s, only support: gzip, deflate, br, "
             "zstd, snappy, lz4, identity",
             hdr);
    assert_string_equal(e.msg, want);
}

static void test_accept_encoding(void **state) {
    enum cenc c = CENC_LZ4;
    int present = 1;
    err e;
    assert_int_equal(cenc_parse_accept_encoding(NULL, &c, &present, &e), 0);
    assert_int_equal(present, 0);

    accept_ok("gzip", CENC_GZIP);
    accept_ok("gzip, deflate", CENC_GZIP);
    accept_ok("deflate, gzip", CENC_DEFLATE);
    accept_ok(" br ,gzip", CENC_BR);
    accept_ok("identity", CENC_IDENTITY);
    accept_ok("snappy", CENC_SNAPPY);
    accept_ok("lz4", CENC_LZ4);
    accept_ok("\tzstd\t", CENC_ZSTD);
    accept_ok("gzip;q=1.0, zstd", CENC_ZSTD);
    accept_ok("*, xx, lz4, gzip", CENC_LZ4);
    accept_ok(",,snappy,", CENC_SNAPPY);
    accept_ok("GZIP,br", CENC_BR);
    accept_ok("x-gzip ,  identity  ", CENC_IDENTITY);

    accept_bad("GZIP");
    accept_bad("*");
    accept_bad("gzip;q=1.0");
    accept_bad("");
    accept_bad(" ");
    accept_bad(",");
    accept_bad("xx");
    accept_bad("gzip deflate");
    accept_bad("br;q=0.5, gzip;q=1");
}

/* ---- CRC-32C ------------------------------------------------------------------------------- */

static uint32_t crc32c_bitwise(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
    }
    return ~c;
}

static void test_crc32c(void **state) {
    /* Check values from RFC 3720 B.4 and the common "123456789" check. */
    assert_int_equal(cenc_crc32c(0, "123456789", 9), 0xe3069283u);
    unsigned char v[32];
    memset(v, 0, sizeof v);
    assert_int_equal(cenc_crc32c(0, v, 32), 0x8a9136aau);
    memset(v, 0xff, sizeof v);
    assert_int_equal(cenc_crc32c(0, v, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; i++) v[i] = (unsigned char)i;
    assert_int_equal(cenc_crc32c(0, v, 32), 0x46dd794eu);
    for (int i = 0; i < 32; i++) v[i] = (unsigned char)(31 - i);
    assert_int_equal(cenc_crc32c(0, v, 32), 0x113fdb5cu);
    assert_int_equal(cenc_crc32c(0, NULL, 0), 0);

    /* Every length and alignment around the 8-byte word loop, against the bitwise definition. */
    unsigned char r[300];
    fill_random(r, sizeof r, 7);
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n + off <= 80; n++)
            assert_int_equal(cenc_crc32c(0, r + off, n), crc32c_bitwise(r + off, n));
    }
    /* Continuing a checksum equals checksumming the whole. */
    uint32_t whole = cenc_crc32c(0, r, sizeof r);
    assert_int_equal(whole, crc32c_bitwise(r, sizeof r));
    for (size_t cut = 0; cut <= sizeof r; cut += 13)
        assert_int_equal(cenc_crc32c(cenc_crc32c(0, r, cut), r + cut, sizeof r - cut), whole);
}

/* ---- round trips --------------------------------------------------------------------------- */

static void test_roundtrip_small(void **state) {
    const size_t sizes[] = {0, 1, 2, 7, 100, 4095, 65535, 65536, 65537, 131072, 300001};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        unsigned char *text = alloc_text(n, 11 + s);
        unsigned char *rnd = malloc(n ? n : 1);
        assert_non_null(rnd);
        fill_random(rnd, n, 99 + s);
        for (size_t i = 0; i < N_ALL; i++) {
            roundtrip(all_codings[i], text, n);
            roundtrip(all_codings[i], rnd, n);
        }
        free(text);
        free(rnd);
    }
    /* A single zero byte and a single 0xff byte. */
    for (size_t i = 0; i < N_ALL; i++) {
        roundtrip(all_codings[i], (const unsigned char *)"\0", 1);
        roundtrip(all_codings[i], (const unsigned char *)"\xff", 1);
    }
}

static void test_empty_body(void **state) {
    /* An empty body is empty whatever the header says, and the encoders still emit a complete
     * (empty) member/frame that decodes to nothing. */
    for (size_t i = 0; i < N_ALL; i++) {
        buf out;
        buf_init(&out);
        err e;
        assert_int_equal(cenc_decode(all_codings[i], "", 0, 0, &out, &e), 0);
        assert_int_equal(out.len, 0);
        encode_ok(all_codings[i], "", 0, &out);
        size_t enclen = out.len;
        if (all_codings[i] != CENC_IDENTITY) assert_true(enclen > 0);
        buf dec;
        buf_init(&dec);
        assert_int_equal(cenc_decode(all_codings[i], out.p, enclen, 0, &dec, &e), 0);
        assert_int_equal(dec.len, 0);
        buf_free(&out);
        buf_free(&dec);
    }
}

static void test_roundtrip_random_1mib(void **state) {
    unsigned char *d = malloc(MIB);
    assert_non_null(d);
    fill_random(d, MIB, 12345);
    for (size_t i = 0; i < N_ALL; i++) roundtrip(all_codings[i], d, MIB);
    /* Incompressible data must not blow up much either. */
    for (size_t i = 0; i < N_COMPRESSING; i++) {
        buf enc;
        buf_init(&enc);
        encode_ok(compressing[i], d, MIB, &enc);
        assert_true(enc.len < MIB + MIB / 64);
        buf_free(&enc);
    }
    free(d);
}

static void test_roundtrip_repetitive_10mib(void **state) {
    size_t n = 10 * MIB;
    unsigned char *d = alloc_text(n, 4242);
    for (size_t i = 0; i < N_ALL; i++) roundtrip(all_codings[i], d, n);
    for (size_t i = 0; i < N_COMPRESSING; i++) {
        buf enc;
        buf_init(&enc);
        encode_ok(compressing[i], d, n, &enc);
        assert_true(enc.len < n / 2); /* it does compress */
        buf_free(&enc);
    }
    free(d);
}

/* ---- concatenation ------------------------------------------------------------------------- */

static void test_concatenated(void **state) {
    size_t na = 200000, nb = 70001;
    unsigned char *a = alloc_text(na, 1), *b = malloc(nb);
    assert_non_null(b);
    fill_random(b, nb, 2);
    for (size_t i = 0; i < N_COMPRESSING; i++) {
        enum cenc c = compressing[i];
        buf enc, dec;
        buf_init(&enc);
        buf_init(&dec);
        encode_ok(c, a, na, &enc);
        encode_ok(c, "", 0, &enc);
        encode_ok(c, b, nb, &enc);
        encode_ok(c, "x", 1, &enc);
        err e;
        int rc = cenc_decode(c, enc.p, enc.len, na + nb + 1, &dec, &e);
        if (c == CENC_BR) {
            /* A brotli stream has no framing to concatenate: the rest is trailing garbage. */
            assert_decode_error(rc, &e);
            assert_int_equal(dec.len, 0);
        } else {
            if (rc != 0) fail_msg("%s: %s", cenc_name(c), e.msg);
            assert_int_equal(dec.len, na + nb + 1);
            assert_memory_equal(dec.p, a, na);
            assert_memory_equal(dec.p + na, b, nb);
            assert_int_equal(dec.p[na + nb], 'x');
            /* Members together pass the limit even though each is under it. */
            buf_reset(&dec);
            assert_too_large(cenc_decode(c, enc.p, enc.len, na + nb, &dec, &e), &e);
            assert_int_equal(dec.len, 0);
        }
        /* Trailing garbage after a complete member is an error, not silently dropped. */
        buf_reset(&enc);
        encode_ok(c, a, 1000, &enc);
        buf_append(&enc, "garbage!", 8);
        buf_reset(&dec);
        assert_decode_error(cenc_decode(c, enc.p, enc.len, MIB, &dec, &e), &e);
        buf_free(&enc);
        buf_free(&dec);
    }
    free(a);
    free(b);
}

/* ---- truncation and corruption ------------------------------------------------------------- */

/* Snappy framing has no end marker: a stream cut exactly between chunks is a valid shorter
 * stream. Reports whether cut falls on a chunk boundary. */
static int snappy_chunk_boundary(const unsigned char *p, size_t n, size_t cut) {
    size_t pos = 0;
    while (pos < n) {
        if (pos == cut) return 1;
        pos += 4 + ((size_t)p[pos + 1] | (size_t)p[pos + 2] << 8 | (size_t)p[pos + 3] << 16);
    }
    return pos == cut;
}

static void test_truncated(void **state) {
    size_t n = 150000;
    unsigned char *d = malloc(n);
    assert_non_null(d);
    fill_text(d, n / 2, 5);
    fill_random(d + n / 2, n - n / 2, 6);
    for (size_t i = 0; i < N_COMPRESSING; i++) {
        enum cenc c = compressing[i];
        buf enc, dec;
        buf_init(&enc);
        buf_init(&dec);
        encode_ok(c, d, n, &enc);
        size_t m = enc.len;
        size_t cuts[] = {1,  2,  3,   4,     5,     7,     9,     10,   11,
                         12, 17, 100, m / 3, m / 2, m - 9, m - 4, m - 1};
        for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
            size_t cut = cuts[k];
            if (cut == 0 || cut >= m) continue;
            buf_reset(&dec);
            err e;
            int rc = cenc_decode(c, enc.p, cut, 2 * n, &dec, &e);
            if (c == CENC_SNAPPY && snappy_chunk_boundary((unsigned char *)enc.p, m, cut)) {
                assert_int_equal(rc, 0);
                assert_true(dec.len < n);
                assert_memory_equal(dec.p, d, dec.len);
                continue;
            }
            if (rc == 0) fail_msg("%s cut at %zu of %zu decoded", cenc_name(c), cut, m);
            assert_decode_error(rc, &e);
            assert_int_equal(dec.len, 0);
        }
        buf_free(&enc);
        buf_free(&dec);
    }
    free(d);
}

static void test_corrupted(void **state) {
    size_t n = 20000;
    unsigned char *d = alloc_text(n, 77);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < N_COMPRESSING; i++) {
        enum cenc c = compressing[i];
        buf enc, dec;
        buf_init(&enc);
        buf_init(&dec);
        encode_ok(c, d, n, &enc);
        unsigned char *bad = malloc(enc.len);
        assert_non_null(bad);
        int detected = 0;
        for (int trial = 0; trial < 300; trial++) {
            memcpy(bad, enc.p, enc.len);
            /* One to three flipped bytes; the first trials aim at the header. */
            int flips = 1 + (int)(xorshift(&s) % 3);
            for (int f = 0; f < flips; f++) {
                size_t at = trial < 16 ? (size_t)trial % enc.len : xorshift(&s) % enc.len;
                bad[at] ^= (unsigned char)(1 + xorshift(&s) % 255);
            }
            buf_reset(&dec);
            err e;
            int rc = cenc_decode(c, bad, enc.len, 4 * n, &dec, &e);
            if (rc == 0) {
                /* Formats with a checksum may only accept damage that changes nothing (such as
                 * gzip's mtime or OS byte); the others may decode to something else. */
                if (has_checksum(c)) {
                    assert_int_equal(dec.len, n);
                    assert_memory_equal(dec.p, d, n);
                }
                continue;
            }
            detected++;
            assert_int_equal(dec.len, 0);
            /* Damage to a length can make a body expand past the limit before a checksum is
             * reached; anything else is a decode error. */
            if (e.http == 413)
                assert_too_large(rc, &e);
            else
                assert_decode_error(rc, &e);
        }
        assert_true(detected > 0);
        free(bad);
        buf_free(&enc);
        buf_free(&dec);
    }
    free(d);
}

static void test_garbage(void **state) {
    unsigned char g[4096];
    fill_random(g, sizeof g, 31337);
    const char *text = "cpu,host=a usage=1 1\n";
    for (size_t i = 0; i < N_COMPRESSING; i++) {
        buf out;
        buf_init(&out);
        err e;
        assert_decode_error(cenc_decode(compressing[i], g, sizeof g, MIB, &out, &e), &e);
        assert_int_equal(out.len, 0);
        /* The usual mistake: the header set but the body sent as plain text. */
        assert_decode_error(cenc_decode(compressing[i], text, strlen(text), MIB, &out, &e), &e);
        assert_int_equal(out.len, 0);
        /* A NULL err is allowed on failure too. */
        assert_int_equal(cenc_decode(compressing[i], g, sizeof g, MIB, &out, NULL), -1);
        buf_free(&out);
    }
}

/* ---- the limit ---------------------------------------------------------------------------- */

static void test_limit_bomb(void **state) {
    size_t n = 100 * MIB, limit = MIB;
    unsigned char *zeros = calloc(n, 1);
    assert_non_null(zeros);
    for (size_t i = 0; i < N_COMPRESSING; i++) {
        enum cenc c = compressing[i];
        buf enc, dec;
        buf_init(&enc);
        buf_init(&dec);
        encode_ok(c, zeros, n, &enc);
        assert_true(enc.len < n / 10);
        err e;
        int rc = cenc_decode(c, enc.p, enc.len, limit, &dec, &e);
        assert_too_large(rc, &e);
        assert_non_null(strstr(e.msg, "1048576"));
        assert_int_equal(dec.len, 0);
        /* Memory stayed bounded by the limit, not by the 100 MiB the body expands to. */
        if (dec.cap > limit + 1)
            fail_msg("%s: output capacity %zu after a bomb with limit %zu", cenc_name(c), dec.cap,
                     limit);
        /* The bound holds after data already in the buffer too. */
        buf_free(&dec);
        buf_append(&dec, zeros, 1000);
        rc = cenc_decode(c, enc.p, enc.len, limit, &dec, &e);
        assert_too_large(rc, &e);
        assert_int_equal(dec.len, 1000);
        assert_true(dec.cap <= 1000 + limit + 1);
        buf_free(&enc);
        buf_free(&dec);
    }
    /* identity: refused before copying anything */
    buf dec;
    buf_init(&dec);
    err e;
    assert_too_large(cenc_decode(CENC_IDENTITY, zeros, n, limit, &dec, &e), &e);
    assert_int_equal(dec.cap, 0);
    assert_int_equal(cenc_decode(CENC_IDENTITY, zeros, limit, limit, &dec, &e), 0);
    assert_int_equal(dec.len, limit);
    buf_free(&dec);
    free(zeros);
}

static void test_limit_zero(void **state) {
    /* Limit 0 admits only an empty decoded body, which a non-empty encoded one can still be. */
    for (size_t i = 0; i < N_COMPRESSING; i++) {
        buf enc, dec;
        buf_init(&enc);
        buf_init(&dec);
        err e;
        encode_ok(compressing[i], "", 0, &enc);
        assert_int_equal(cenc_decode(compressing[i], enc.p, enc.len, 0, &dec, &e), 0);
        assert_int_equal(dec.len, 0);
        buf_reset(&enc);
        encode_ok(compressing[i], "a", 1, &enc);
        assert_too_large(cenc_decode(compressing[i], enc.p, enc.len, 0, &dec, &e), &e);
        assert_true(dec.cap <= 1);
        buf_free(&enc);
        buf_free(&dec);
    }
}

/* A zstd frame of unknown size made with a 128 MiB window asks the decoder for that much memory
 * up front: refused under a small limit, accepted under a large one. */
static void test_zstd_window(void **state) {
    size_t n = 100000;
    unsigned char *d = alloc_text(n, 3);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    assert_non_null(cc);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 27)));
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0)));
    size_t cap = ZSTD_compressBound(n) + 64;
    unsigned char *z = malloc(cap);
    assert_non_null(z);
    ZSTD_outBuffer ob = {z, cap, 0};
    ZSTD_inBuffer ib = {d, n, 0};
    assert_false(ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
    ZSTD_inBuffer none = {NULL, 0, 0};
    assert_int_equal(ZSTD_compressStream2(cc, &ob, &none, ZSTD_e_end), 0);
    ZSTD_freeCCtx(cc);

    buf dec;
    buf_init(&dec);
    err e;
    assert_too_large(cenc_decode(CENC_ZSTD, z, ob.pos, MIB, &dec, &e), &e);
    assert_int_equal(cenc_decode(CENC_ZSTD, z, ob.pos, 200 * MIB, &dec, &e), 0);
    assert_int_equal(dec.len, n);
    assert_memory_equal(dec.p, d, n);
    buf_free(&dec);
    free(z);
    free(d);
}

/* ---- snappy framing, chunk by chunk -------------------------------------------------------- */

static void put_chunk(buf *b, unsigned type, const void *data, size_t len) {
    unsigned char h[4] = {(unsigned char)type, (unsigned char)len, (unsigned char)(len >> 8),
                          (unsigned char)(len >> 16)};
    buf_append(b, h, 4);
    buf_append(b, data, len);
}

static uint32_t masked(const void *p, size_t n) {
    uint32_t c = cenc_crc32c(0, p, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* A data chunk: type 0x01 stores data as is; type 0x00 stores the given snappy block. */
static void put_data_chunk(buf *b, unsigned type, const void *block, size_t blen, const void *data,
                           size_t dlen, uint32_t crc_xor) {
    buf tmp;
    buf_init(&tmp);
    buf_put_u32le(&tmp, masked(data, dlen) ^ crc_xor);
    buf_append(&tmp, block, blen);
    put_chunk(b, type, tmp.p, tmp.len);
    buf_free(&tmp);
}

static const char stream_id[] = "\xff\x06\x00\x00sNaPpY";

static int snappy_try(const buf *in, buf *out, err *e) {
    buf_reset(out);
    return cenc_decode(CENC_SNAPPY, in->p, in->len, MIB, out, e);
}

static void test_snappy_framing(void **state) {
    buf s, out;
    buf_init(&s);
    buf_init(&out);
    err e;
    const char *hello = "hello, snappy";
    size_t hl = strlen(hello);

    /* Our encoder starts with the stream identifier, byte for byte. */
    encode_ok(CENC_SNAPPY, hello, hl, &s);
    assert_memory_equal(s.p, stream_id, 10);

    /* Uncompressed chunk, padding and a reserved skippable chunk, then a compressed chunk. */
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    put_data_chunk(&s, 0x01, hello, hl, hello, hl, 0);
    put_chunk(&s, 0xfe, "\0\0\0\0\0", 5);
    put_chunk(&s, 0x80, "skip me", 7);
    put_chunk(&s, 0xfd, "", 0);
    /* A literal-only snappy block: varint length 3, literal tag (len-1)<<2, bytes. */
    put_data_chunk(&s, 0x00,
                   "\x03\x08"
                   "abc",
                   5, "abc", 3, 0);
    assert_int_equal(snappy_try(&s, &out, &e), 0);
    assert_int_equal(out.len, hl + 3);
    assert_memory_equal(out.p, "hello, snappyabc", hl + 3);

    /* A second stream identifier mid-stream is allowed (concatenated streams). */
    buf_append(&s, stream_id, 10);
    put_data_chunk(&s, 0x01, "!", 1, "!", 1, 0);
    assert_int_equal(snappy_try(&s, &out, &e), 0);
    assert_int_equal(out.len, hl + 4);

    /* Empty data chunks are fine. */
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    put_data_chunk(&s, 0x01, "", 0, "", 0, 0);
    assert_int_equal(snappy_try(&s, &out, &e), 0);
    assert_int_equal(out.len, 0);

    /* Wrong checksum, on either chunk type. */
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    put_data_chunk(&s, 0x01, hello, hl, hello, hl, 1);
    assert_decode_error(snappy_try(&s, &out, &e), &e);
    assert_non_null(strstr(e.msg, "checksum"));
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    put_data_chunk(&s, 0x00,
                   "\x03\x08"
                   "abc",
                   5, "abc", 3, 0x80000000u);
    assert_decode_error(snappy_try(&s, &out, &e), &e);

    /* An unmasked checksum is wrong too. */
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    {
        buf tmp;
        buf_init(&tmp);
        buf_put_u32le(&tmp, cenc_crc32c(0, hello, hl));
        buf_append(&tmp, hello, hl);
        put_chunk(&s, 0x01, tmp.p, tmp.len);
        buf_free(&tmp);
    }
    assert_decode_error(snappy_try(&s, &out, &e), &e);

    /* Missing stream identifier. */
    buf_reset(&s);
    put_data_chunk(&s, 0x01, hello, hl, hello, hl, 0);
    assert_decode_error(snappy_try(&s, &out, &e), &e);
    assert_non_null(strstr(e.msg, "identifier"));
    /* Padding before the identifier is not a stream either. */
    buf_reset(&s);
    put_chunk(&s, 0xfe, "", 0);
    buf_append(&s, stream_id, 10);
    assert_decode_error(snappy_try(&s, &out, &e), &e);

    /* Bad identifier contents or length. */
    buf_reset(&s);
    put_chunk(&s, 0xff, "sNaPpX", 6);
    assert_decode_error(snappy_try(&s, &out, &e), &e);
    buf_reset(&s);
    put_chunk(&s, 0xff, "sNaPpY!", 7);
    assert_decode_error(snappy_try(&s, &out, &e), &e);

    /* Reserved unskippable chunk types. */
    for (unsigned t = 0x02; t <= 0x7f; t += 0x3d) {
        buf_reset(&s);
        buf_append(&s, stream_id, 10);
        put_chunk(&s, t, "abcd", 4);
        assert_decode_error(snappy_try(&s, &out, &e), &e);
    }

    /* Data chunks shorter than their checksum. */
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    put_chunk(&s, 0x01, "abc", 3);
    assert_decode_error(snappy_try(&s, &out, &e), &e);
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    put_chunk(&s, 0x00, "", 0);
    assert_decode_error(snappy_try(&s, &out, &e), &e);

    /* Chunk length beyond the end of the body; chunk header cut short. */
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    buf_append(&s, "\x01\xff\x00\x00", 4);
    buf_append(&s, "data", 4);
    assert_decode_error(snappy_try(&s, &out, &e), &e);
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    buf_append(&s, "\x01\x05", 2);
    assert_decode_error(snappy_try(&s, &out, &e), &e);

    /* Uncompressed chunk over 65536 bytes, and a compressed one claiming more. */
    {
        size_t big = 65537;
        unsigned char *p = calloc(big, 1);
        assert_non_null(p);
        buf_reset(&s);
        buf_append(&s, stream_id, 10);
        put_data_chunk(&s, 0x01, p, big, p, big, 0);
        assert_decode_error(snappy_try(&s, &out, &e), &e);
        buf_reset(&s);
        buf_append(&s, stream_id, 10);
        put_data_chunk(&s, 0x01, p, big - 1, p, big - 1, 0); /* exactly 65536: fine */
        assert_int_equal(snappy_try(&s, &out, &e), 0);
        assert_int_equal(out.len, big - 1);
        /* varint 65537 = 0x81 0x80 0x04, followed by nothing useful */
        buf_reset(&s);
        buf_append(&s, stream_id, 10);
        put_data_chunk(&s, 0x00, "\x81\x80\x04\x00", 4, "", 0, 0);
        assert_decode_error(snappy_try(&s, &out, &e), &e);
        free(p);
    }

    /* Compressed block whose contents are corrupt: a copy reaching before the start. */
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    put_data_chunk(&s, 0x00, "\x08\x01\x10", 3, "\0\0\0\0\0\0\0\0", 8, 0);
    assert_decode_error(snappy_try(&s, &out, &e), &e);
    /* Compressed block shorter than it claims. */
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    put_data_chunk(&s, 0x00,
                   "\x05\x10"
                   "ab",
                   4, "abcde", 5, 0);
    assert_decode_error(snappy_try(&s, &out, &e), &e);

    /* Chunk over the limit: 413 before decompressing. */
    buf_reset(&s);
    buf_append(&s, stream_id, 10);
    put_data_chunk(&s, 0x01, hello, hl, hello, hl, 0);
    buf_reset(&out);
    assert_too_large(cenc_decode(CENC_SNAPPY, s.p, s.len, hl - 1, &out, &e), &e);
    assert_int_equal(cenc_decode(CENC_SNAPPY, s.p, s.len, hl, &out, &e), 0);

    /* Incompressible input is stored in uncompressed chunks, compressible input compressed. */
    {
        unsigned char r[1000];
        fill_random(r, sizeof r, 5);
        buf_reset(&s);
        encode_ok(CENC_SNAPPY, r, sizeof r, &s);
        assert_int_equal(s.len, 10 + 8 + sizeof r);
        assert_int_equal((unsigned char)s.p[10], 0x01);
        memset(r, 'a', sizeof r);
        buf_reset(&s);
        encode_ok(CENC_SNAPPY, r, sizeof r, &s);
        assert_int_equal((unsigned char)s.p[10], 0x00);
        assert_true(s.len < 100);
    }
    buf_free(&s);
    buf_free(&out);
}

/* ---- deflate: raw, with zlib-wrapped leniency --------------------------------------------- */

static void test_deflate_variants(void **state) {
    size_t n = 50000;
    unsigned char *d = alloc_text(n, 8);
    uLongf zlen = compressBound(n);
    unsigned char *z = malloc(zlen);
    assert_non_null(z);
    assert_int_equal(compress2(z, &zlen, d, n, 6), Z_OK);
    assert_true((z[0] & 0x0f) == 8);

    buf dec;
    buf_init(&dec);
    err e;
    /* zlib-wrapped under the name deflate is accepted. */
    assert_int_equal(cenc_decode(CENC_DEFLATE, z, zlen, n, &dec, &e), 0);
    assert_int_equal(dec.len, n);
    assert_memory_equal(dec.p, d, n);
    /* ... and still limited. */
    buf_free(&dec);
    assert_too_large(cenc_decode(CENC_DEFLATE, z, zlen, n - 1, &dec, &e), &e);
    assert_int_equal(dec.len, 0);
    assert_true(dec.cap <= n); /* limit + 1 */
    /* ... and truncation still detected. */
    buf_reset(&dec);
    assert_decode_error(cenc_decode(CENC_DEFLATE, z, zlen - 1, n, &dec, &e), &e);
    /* zlib data is not gzip. */
    assert_decode_error(cenc_decode(CENC_GZIP, z, zlen, n, &dec, &e), &e);

    /* What Strata writes as deflate has no zlib header (raw), and gzip has its magic. */
    buf enc;
    buf_init(&enc);
    encode_ok(CENC_DEFLATE, d, n, &enc);
    unsigned char *raw = malloc(n);
    assert_non_null(raw);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, -15), Z_OK);
    zs.next_in = (unsigned char *)enc.p;
    zs.avail_in = (uInt)enc.len;
    zs.next_out = raw;
    zs.avail_out = (uInt)n;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, n);
    assert_int_equal(zs.avail_in, 0);
    inflateEnd(&zs);
    assert_memory_equal(raw, d, n);
    buf_reset(&enc);
    encode_ok(CENC_GZIP, d, n, &enc);
    assert_int_equal((unsigned char)enc.p[0], 0x1f);
    assert_int_equal((unsigned char)enc.p[1], 0x8b);

    buf_free(&enc);
    buf_free(&dec);
    free(raw);
    free(z);
    free(d);
}

static void test_unknown_coding(void **state) {
    buf out;
    buf_init(&out);
    err e;
    assert_int_equal(cenc_decode((enum cenc)42, "abc", 3, 10, &out, &e), -1);
    assert_int_equal(e.http, 500);
    assert_int_equal(cenc_encode((enum cenc)42, "abc", 3, &out, &e), -1);
    assert_int_equal(e.http, 500);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

/* ---- command-line tools -------------------------------------------------------------------- */

static int have_tool(const char *name) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void read_file(const char *path, buf *out) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char tmp[65536];
    size_t k;
    buf_reset(out);
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) buf_append(out, tmp, k);
    fclose(f);
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...) {
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) fail_msg("command failed: %s", cmd);
}

struct tool {
    const char *name;
    enum cenc c;
    const char *enc, *dec; /* file → stdout */
    int concat;            /* the format (and the tool) take concatenated members */
};

static void test_cli_cross_check(void **state) {
    static const struct tool tools[] = {
        {"gzip", CENC_GZIP, "gzip -c -6", "gzip -dc", 1},
        {"zstd", CENC_ZSTD, "zstd -q -c -3", "zstd -q -dc", 1},
        {"lz4", CENC_LZ4, "lz4 -q -c", "lz4 -q -dc", 1},
        {"brotli", CENC_BR, "brotli -c", "brotli -dc", 0},
    };
    char dir[] = "/tmp/test_compress_XXXXXX";
    assert_non_null(mkdtemp(dir));
    size_t n = 700000;
    unsigned char *d = malloc(n);
    assert_non_null(d);
    fill_text(d, n - 100000, 21);
    fill_random(d + n - 100000, 100000, 22);
    char raw[256], cmp[256], back[256];
    snprintf(raw, sizeof raw, "%s/raw", dir);
    snprintf(cmp, sizeof cmp, "%s/cmp", dir);
    snprintf(back, sizeof back, "%s/back", dir);
    write_file(raw, d, n);
    int ran = 0;
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        const struct tool *t = &tools[i];
        if (!have_tool(t->name)) {
            print_message("  (%s not installed: cross-check skipped)\n", t->name);
            continue;
        }
        ran++;
        buf b, dec;
        buf_init(&b);
        buf_init(&dec);
        err e;
        /* tool → Strata, and the tool's output twice over (cat a.gz a.gz) where that is valid */
        run("%s '%s' > '%s'", t->enc, raw, cmp);
        read_file(cmp, &b);
        if (cenc_decode(t->c, b.p, b.len, n, &dec, &e) != 0)
            fail_msg("%s output: %s", t->name, e.msg);
        assert_int_equal(dec.len, n);
        assert_memory_equal(dec.p, d, n);
        if (t->concat) {
            buf twice;
            buf_init(&twice);
            buf_append(&twice, b.p, b.len);
            buf_append(&twice, b.p, b.len);
            buf_free(&b);
            b = twice;
            buf_reset(&dec);
            assert_int_equal(cenc_decode(t->c, b.p, b.len, 2 * n, &dec, &e), 0);
            assert_int_equal(dec.len, 2 * n);
            assert_memory_equal(dec.p + n, d, n);
        }
        /* Strata → tool, as separate members where the format allows (a chunked response) */
        buf_reset(&b);
        size_t half = n / 2;
        if (t->concat) {
            encode_ok(t->c, d, half, &b);
            encode_ok(t->c, d + half, n - half, &b);
        } else {
            encode_ok(t->c, d, n, &b);
        }
        write_file(cmp, b.p, b.len);
        run("%s '%s' > '%s'", t->dec, cmp, back);
        read_file(back, &dec);
        assert_int_equal(dec.len, n);
        assert_memory_equal(dec.p, d, n);
        buf_free(&b);
        buf_free(&dec);
    }
    run("rm -rf '%s'", dir);
    free(d);
    if (!ran) skip();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_content_encoding),
        cmocka_unit_test(test_accept_encoding),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_roundtrip_small),
        cmocka_unit_test(test_roundtrip_random_1mib),
        cmocka_unit_test(test_roundtrip_repetitive_10mib),
        cmocka_unit_test(test_concatenated),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupted),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_limit_bomb),
        cmocka_unit_test(test_limit_zero),
        cmocka_unit_test(test_zstd_window),
        cmocka_unit_test(test_snappy_framing),
        cmocka_unit_test(test_deflate_variants),
        cmocka_unit_test(test_unknown_coding),
        cmocka_unit_test(test_cli_cross_check),
    };
    return cmocka_run_group_tests_name("compress", tests, NULL, NULL);
}
