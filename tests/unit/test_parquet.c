/* Unit tests for src/parquet/: every type through the writer and back through the reader, with
 * every codec, dictionary and plain strings, several pages and row groups, NULLs; empty files;
 * conversions and mismatches on selection; the RLE/bit-packed hybrid on its own; and damaged
 * input (every truncation of a file, flipped bytes, lying lengths) failing cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "parquet/parquet.h"
#include "parquet/pq_int.h"
#include "testutil.h"
#include "util/dec.h"
#include "util/vec.h"

static int to_buf(void *ctx, const void *p, size_t n, err *e) {
    (void)e;
    buf_append(ctx, p, n);
    return 0;
}

/* The columns of the round trip. */
enum {
    C_BOOL,
    C_I64,
    C_I32,
    C_U64,
    C_F64,
    C_F32,
    C_STR,
    C_UNIQ,
    C_TS_NS,
    C_TS_US,
    C_TS_MS,
    C_TS_S,
    C_DATE,
    C_DEC9,
    C_DEC18,
    C_DEC38,
    C_NULL,
    NCOLS
};
static const char *const names[NCOLS] = {"b", "i64",  "i32",   "u64",   "f64", "f32",
                                         "s", "uniq", "tns",   "tus",   "tms", "ts",
                                         "d", "dec9", "dec18", "dec38", "nul"};
static uint8_t types[NCOLS], units[NCOLS];

static void setup_types(void) {
    static const uint8_t t[NCOLS] = {VT_BOOL, VT_I64,    VT_I64,    VT_U64,    VT_F64, VT_F64,
                                     VT_STR,  VT_STR,    VT_TS,     VT_TS,     VT_TS,  VT_TS,
                                     VT_DATE, VT_DEC128, VT_DEC128, VT_DEC128, VT_NULL};
    memcpy(types, t, sizeof t);
    memset(units, 0, sizeof units);
    units[C_I32] = NU_32;
    units[C_F32] = NU_32;
    units[C_TS_US] = TU_US;
    units[C_TS_MS] = TU_MS;
    units[C_TS_S] = TU_S;
    units[C_DEC9] = (uint8_t)dec_code(9, 2);
    units[C_DEC18] = (uint8_t)dec_code(18, 4);
    units[C_DEC38] = (uint8_t)dec_code(38, 6);
}

static bool is_null(uint32_t c, uint64_t r) {
    return c == C_NULL || (r * 7 + c) % 5 == 0;
}

/* Row r's value of column c into row i of v (NULL per is_null). */
static void put_value(arena *a, vec *v, uint32_t c, uint64_t r, uint32_t i) {
    if (is_null(c, r)) {
        vec_set_null(a, v, i);
        return;
    }
    int64_t s = (int64_t)r - 500;
    switch (c) {
    case C_BOOL:
        v->d.b[i] = r % 3 == 1;
        break;
    case C_I64:
        v->d.i64[i] = s * 1000000007LL;
        break;
    case C_I32:
        v->d.i64[i] = s * 1000;
        break;
    case C_U64:
        v->d.u64[i] = UINT64_MAX - r;
        break;
    case C_F64:
        v->d.f64[i] = (double)s / 3.0;
        break;
    case C_F32:
        v->d.f64[i] = (float)((double)s / 7.0);
        break;
    case C_STR: {
        char *p = arena_printf(a, "tag-%u", (unsigned)(r % 13));
        v->d.s[i] = (strv){p, (uint32_t)strlen(p)};
        break;
    }
    case C_UNIQ: {
        char *p = arena_printf(a, "unique %llu \xc3\xa9", (unsigned long long)r);
        v->d.s[i] = (strv){p, (uint32_t)strlen(p)};
        break;
    }
    case C_TS_NS:
    case C_TS_US:
    case C_TS_MS:
    case C_TS_S:
        v->d.i64[i] = 1700000000 + s * 37;
        break;
    case C_DATE:
        v->d.i64[i] = s;
        break;
    case C_DEC9:
        v->d.dec[i] = dec_put((i128)s * 12345);
        break;
    case C_DEC18:
        v->d.dec[i] = dec_put((i128)s * 123456789012LL);
        break;
    default:
        v->d.dec[i] = dec_put((i128)s * dec_pow10(30) + 17);
        break;
    }
}

static void make_batch(arena *a, uint64_t first, uint32_t n, batch *b) {
    b->ncols = NCOLS;
    b->nrows = n;
    b->cols = arena_alloc(a, sizeof *b->cols * NCOLS);
    for (uint32_t c = 0; c < NCOLS; c++) {
        vec_alloc(a, types[c], units[c], n, &b->cols[c]);
        b->cols[c].len = n;
        for (uint32_t i = 0; i < n; i++) put_value(a, &b->cols[c], c, first + i, i);
    }
}

static void write_file(buf *out, uint64_t rows, const pq_write_opts *o) {
    err e = {0};
    pq_writer *w;
    assert_int_equal(pq_writer_new(NCOLS, names, types, units, o, to_buf, out, &w, &e), 0);
    arena *a = arena_new(0);
    for (uint64_t r = 0; r < rows;) {
        uint32_t n = (uint32_t)(rows - r < 333 ? rows - r : 333);
        batch b;
        make_batch(a, r, n, &b);
        assert_int_equal(pq_writer_add(w, &b, &e), 0);
        arena_reset(a);
        r += n;
    }
    assert_int_equal(pq_writer_finish(w, &e), 0);
    assert_int_equal(pq_writer_rows(w), rows);
    pq_writer_free(w);
    arena_free(a);
}

static void check_file(const buf *f, uint64_t rows) {
    err e = {0};
    pq_file *pf;
    assert_int_equal(pq_open_mem(f->p, f->len, "t", &pf, &e), 0);
    assert_int_equal(pq_ncols(pf), NCOLS);
    assert_int_equal(pq_nrows(pf), rows);
    int cols[NCOLS];
    for (uint32_t c = 0; c < NCOLS; c++) {
        const pq_col_info *ci = pq_col(pf, c);
        assert_string_equal(ci->name, names[c]);
        if (c == C_NULL) {
            assert_non_null(ci->unsupported); /* the NULL type reads as nothing Strata has */
            cols[c] = -1;
            continue;
        }
        assert_null(ci->unsupported);
        assert_int_equal(ci->vt, types[c]);
        /* seconds are written as milliseconds */
        assert_int_equal(ci->unit, c == C_TS_S ? TU_MS : units[c]);
        cols[c] = (int)c;
    }
    uint8_t want_units[NCOLS];
    memcpy(want_units, units, NCOLS);
    assert_int_equal(pq_select(pf, NCOLS, cols, types, want_units, &e), 0);
    arena *a = arena_new(0), *x = arena_new(0);
    uint64_t r = 0;
    batch b;
    int rc;
    while ((rc = pq_next(pf, a, 1000, &b, &e)) > 0) {
        batch want;
        make_batch(x, r, b.nrows, &want);
        for (uint32_t c = 0; c < NCOLS; c++) {
            for (uint32_t i = 0; i < b.nrows; i++) {
                value g, w;
                bool gv = vec_is_valid(&b.cols[c], i), wv = vec_is_valid(&want.cols[c], i);
                assert_int_equal(gv, wv);
                if (!gv) continue;
                vec_get(&b.cols[c], i, &g);
                vec_get(&want.cols[c], i, &w);
                if (types[c] == VT_STR) {
                    assert_int_equal(g.v.s.len, w.v.s.len);
                    assert_memory_equal(g.v.s.p, w.v.s.p, w.v.s.len);
                } else if (types[c] == VT_DEC128) {
                    assert_true(dec_get(g.v.dec) == dec_get(w.v.dec));
                } else if (types[c] == VT_BOOL) {
                    assert_int_equal(g.v.b, w.v.b);
                } else {
                    assert_int_equal(g.v.u, w.v.u);
                }
            }
        }
        r += b.nrows;
        arena_reset(a);
        arena_reset(x);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(r, rows);
    arena_free(a);
    arena_free(x);
    pq_close(pf);
}

static void test_roundtrip_codecs(void **state) {
    (void)state;
    setup_types();
    static const int codecs[] = {PQ_UNCOMPRESSED, PQ_SNAPPY,  PQ_GZIP,
                                 PQ_ZSTD,         PQ_LZ4_RAW, PQ_BROTLI};
    for (size_t k = 0; k < sizeof codecs / sizeof codecs[0]; k++) {
        buf f;
        buf_init(&f);
        pq_write_opts o = {.codec = codecs[k], .rg_rows = 1500, .page_rows = 256};
        write_file(&f, 4000, &o);
        check_file(&f, 4000);
        buf_free(&f);
    }
}

static void test_roundtrip_plain_and_defaults(void **state) {
    (void)state;
    setup_types();
    buf f;
    buf_init(&f);
    pq_write_opts o = {.codec = PQ_SNAPPY, .no_dictionary = true};
    write_file(&f, 9000, &o);
    check_file(&f, 9000);
    buf_free(&f);
}

static void test_empty_file(void **state) {
    (void)state;
    setup_types();
    buf f;
    buf_init(&f);
    pq_write_opts o = {.codec = PQ_SNAPPY};
    write_file(&f, 0, &o);
    assert_memory_equal(f.p, "PAR1", 4);
    err e = {0};
    pq_file *pf;
    assert_int_equal(pq_open_mem(f.p, f.len, "empty", &pf, &e), 0);
    assert_int_equal(pq_nrows(pf), 0);
    assert_int_equal(pq_nrow_groups(pf), 0);
    assert_int_equal(pq_ncols(pf), NCOLS);
    int col = C_STR;
    uint8_t vt = VT_STR, u = 0;
    assert_int_equal(pq_select(pf, 1, &col, &vt, &u, &e), 0);
    arena *a = arena_new(0);
    batch b;
    assert_int_equal(pq_next(pf, a, 100, &b, &e), 0);
    arena_free(a);
    pq_close(pf);
    buf_free(&f);
}

static void test_select_conversions(void **state) {
    (void)state;
    setup_types();
    buf f;
    buf_init(&f);
    pq_write_opts o = {.codec = PQ_ZSTD};
    write_file(&f, 600, &o);
    err e = {0};
    pq_file *pf;
    assert_int_equal(pq_open_mem(f.p, f.len, "conv", &pf, &e), 0);
    assert_int_equal(pq_find(pf, "tus"), C_TS_US);
    assert_int_equal(pq_find(pf, "absent"), -1);
    /* integers as DOUBLE, a timestamp in another unit, a date as a timestamp, a decimal as
     * DOUBLE, an absent column as NULLs */
    int cols[] = {C_I64, C_TS_US, C_DATE, C_DEC9, -1};
    uint8_t vts[] = {VT_F64, VT_TS, VT_TS, VT_F64, VT_STR};
    uint8_t us[] = {0, TU_S, TU_MS, 0, 0};
    assert_int_equal(pq_select(pf, 5, cols, vts, us, &e), 0);
    arena *a = arena_new(0);
    batch b;
    assert_int_equal(pq_next(pf, a, 10, &b, &e), 1);
    assert_int_equal(b.nrows, 10);
    /* row 5 (no NULLs in these columns): s = -495 */
    assert_true(b.cols[0].d.f64[5] == -495.0 * 1000000007.0);
    assert_int_equal(b.cols[1].d.i64[5], (1700000000 - 495 * 37) / 1000000);
    assert_int_equal(b.cols[2].d.i64[5], -495LL * 86400000);
    assert_true(fabs(b.cols[3].d.f64[5] + 495.0 * 123.45) < 1e-6);
    assert_false(vec_is_valid(&b.cols[4], 5));
    /* a STRING column cannot be read as DOUBLE: the error names it */
    int sc = C_STR;
    uint8_t vt = VT_F64, u = 0;
    assert_int_equal(pq_select(pf, 1, &sc, &vt, &u, &e), -1);
    assert_non_null(strstr(e.msg, "column s"));
    /* BIGINT UNSIGNED values above BIGINT's range fail when read as BIGINT */
    int uc = C_U64;
    vt = VT_I64;
    assert_int_equal(pq_select(pf, 1, &uc, &vt, &u, &e), 0);
    assert_int_equal(pq_next(pf, a, 10, &b, &e), -1);
    assert_non_null(strstr(e.msg, "does not fit"));
    /* the NULL-typed column cannot be selected */
    int nc = C_NULL;
    vt = VT_I64;
    assert_int_equal(pq_select(pf, 1, &nc, &vt, &u, &e), -1);
    arena_free(a);
    pq_close(pf);
    buf_free(&f);
}

static void test_rle_hybrid(void **state) {
    (void)state;
    trng r = {42};
    uint32_t v[5000];
    for (int width = 1; width <= 32; width++) {
        for (int pattern = 0; pattern < 4; pattern++) {
            uint32_t n = 1 + (uint32_t)(tr_next(&r) % 5000);
            uint64_t mask = width == 32 ? UINT32_MAX : ((1ull << width) - 1);
            for (uint32_t i = 0; i < n; i++) {
                uint64_t x = pattern == 0   ? tr_next(&r)
                             : pattern == 1 ? (i / 37) * 11
                             : pattern == 2 ? (i % 9 == 0 ? tr_next(&r) : 3)
                                            : mask;
                v[i] = (uint32_t)(x & mask);
            }
            buf b;
            buf_init(&b);
            rle_encode(&b, v, n, width);
            rle_dec d;
            rle_init(&d, (const uint8_t *)b.p, b.len, width);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t got;
                assert_true(rle_next(&d, &got));
                assert_int_equal(got, v[i]);
            }
            buf_free(&b);
        }
    }
    /* a run whose header claims more than its bytes stops at the end */
    const uint8_t cut[] = {0x07 /* 3 groups bit-packed */, 0xff};
    rle_dec d;
    rle_init(&d, cut, sizeof cut, 3);
    uint32_t got, n = 0;
    while (rle_next(&d, &got)) n++;
    assert_int_equal(n, 2);
}

/* A damaged file is an error, not a crash: pq_open or the reads fail or give some rows. */
static void read_all(const uint8_t *p, size_t n) {
    err e = {0};
    pq_file *pf;
    if (pq_open_mem(p, n, "bad", &pf, &e) < 0) {
        assert_true(e.msg[0] != 0);
        return;
    }
    uint32_t nc = pq_ncols(pf), k = 0;
    int *cols = calloc(nc + 1, sizeof *cols);
    uint8_t *vts = calloc(nc + 1, 1), *us = calloc(nc + 1, 1);
    for (uint32_t c = 0; c < nc; c++) {
        const pq_col_info *ci = pq_col(pf, c);
        if (ci->unsupported) continue;
        cols[k] = (int)c;
        vts[k] = ci->vt;
        us[k++] = ci->unit;
    }
    arena *a = arena_new(0);
    if (pq_select(pf, k, cols, vts, us, &e) == 0) {
        batch b;
        int rc;
        while ((rc = pq_next(pf, a, 500, &b, &e)) > 0) arena_reset(a);
    }
    arena_free(a);
    free(cols);
    free(vts);
    free(us);
    pq_close(pf);
}

static void test_damaged(void **state) {
    (void)state;
    setup_types();
    buf f;
    buf_init(&f);
    pq_write_opts o = {.codec = PQ_SNAPPY, .rg_rows = 300, .page_rows = 64};
    write_file(&f, 700, &o);
    const uint8_t *p = (const uint8_t *)f.p;
    /* every truncation */
    for (size_t n = 0; n < f.len; n += n < 64 || n > f.len - 256 ? 1 : 97) read_all(p, n);
    /* a truncated file with the footer kept: offsets point past what is left */
    uint8_t *m = malloc(f.len);
    size_t cut = f.len / 3;
    size_t tail = f.len - cut;
    memcpy(m, p + cut, tail);
    read_all(m, tail);
    memcpy(m, p, 4);
    read_all(m, tail);
    /* flipped bytes everywhere, a few at a time */
    trng r = {7};
    for (int k = 0; k < 400; k++) {
        memcpy(m, p, f.len);
        for (int j = 0; j < 1 + k % 4; j++)
            m[tr_next(&r) % f.len] ^= (uint8_t)(1 + tr_next(&r) % 255);
        read_all(m, f.len);
    }
    /* a footer length larger than the file, and not a Parquet file at all */
    memcpy(m, p, f.len);
    m[f.len - 8] = 0xff;
    m[f.len - 7] = 0xff;
    err e = {0};
    pq_file *pf;
    assert_int_equal(pq_open_mem(m, f.len, "len", &pf, &e), -1);
    assert_non_null(strstr(e.msg, "footer"));
    assert_int_equal(pq_open_mem("a,b\n1,2\n", 8, "csv", &pf, &e), -1);
    assert_non_null(strstr(e.msg, "not a Parquet file"));
    free(m);
    buf_free(&f);
}

/* ------------------------------------------------------------------ hand-made files */

/* A file of one REQUIRED column `c` and one uncompressed data page v1 holding body. */
struct craft {
    int type, conv, enc;
    uint32_t nvals;
    const void *body;
    size_t blen;
};

static void craft_file(buf *f, const struct craft *c) {
    buf_init(f);
    buf_append(f, "PAR1", 4);
    tc_writer t;
    tcw_init(&t, f);
    tcw_struct_begin(&t);
    tcw_i32(&t, 1, PAGE_DATA);
    tcw_i32(&t, 2, (int32_t)c->blen);
    tcw_i32(&t, 3, (int32_t)c->blen);
    tcw_field(&t, TT_STRUCT, 5);
    tcw_struct_begin(&t);
    tcw_i32(&t, 1, (int32_t)c->nvals);
    tcw_i32(&t, 2, c->enc);
    tcw_i32(&t, 3, ENC_RLE);
    tcw_i32(&t, 4, ENC_RLE);
    tcw_struct_end(&t);
    tcw_struct_end(&t);
    buf_append(f, c->body, c->blen);
    int64_t chunk = (int64_t)f->len - 4;
    size_t meta_at = f->len;
    tcw_struct_begin(&t);
    tcw_i32(&t, 1, 1);
    tcw_list(&t, 2, TT_STRUCT, 2);
    tcw_struct_begin(&t);
    tcw_binary(&t, 4, "s", 1);
    tcw_i32(&t, 5, 1);
    tcw_struct_end(&t);
    tcw_struct_begin(&t);
    tcw_i32(&t, 1, c->type);
    tcw_i32(&t, 3, REP_REQUIRED);
    tcw_binary(&t, 4, "c", 1);
    if (c->conv >= 0) tcw_i32(&t, 6, c->conv);
    tcw_struct_end(&t);
    tcw_i64(&t, 3, c->nvals);
    tcw_list(&t, 4, TT_STRUCT, 1);
    tcw_struct_begin(&t);
    tcw_list(&t, 1, TT_STRUCT, 1);
    tcw_struct_begin(&t);
    tcw_i64(&t, 2, 4);
    tcw_field(&t, TT_STRUCT, 3);
    tcw_struct_begin(&t);
    tcw_i32(&t, 1, c->type);
    tcw_list(&t, 2, TT_I32, 1);
    tcw_zigzag(&t, c->enc);
    tcw_list(&t, 3, TT_BINARY, 1);
    tcw_varint(&t, 1);
    buf_putc(f, 'c');
    tcw_i32(&t, 4, 0);
    tcw_i64(&t, 5, c->nvals);
    tcw_i64(&t, 6, chunk);
    tcw_i64(&t, 7, chunk);
    tcw_i64(&t, 9, 4);
    tcw_struct_end(&t);
    tcw_struct_end(&t);
    tcw_i64(&t, 2, chunk);
    tcw_i64(&t, 3, c->nvals);
    tcw_struct_end(&t);
    tcw_struct_end(&t);
    buf_put_u32le(f, (uint32_t)(f->len - meta_at));
    buf_append(f, "PAR1", 4);
}

/* Reads the crafted file's column as its own type into a batch (memory from a). */
static void read_crafted(const buf *f, arena *a, pq_file **pf, batch *b) {
    err e = {0};
    assert_int_equal(pq_open_mem(f->p, f->len, "crafted", pf, &e), 0);
    const pq_col_info *ci = pq_col(*pf, 0);
    assert_null(ci->unsupported);
    int col = 0;
    uint8_t vt = ci->vt, u = ci->unit;
    assert_int_equal(pq_select(*pf, 1, &col, &vt, &u, &e), 0);
    assert_int_equal(pq_next(*pf, a, 100, b, &e), 1);
}

/* DELTA_BINARY_PACKED: blocks of 128 values in 4 miniblocks, as the specification lays out. */
static void delta_encode(buf *b, const int64_t *v, uint32_t n) {
    buf_put_uvarint(b, 128);
    buf_put_uvarint(b, 4);
    buf_put_uvarint(b, n);
    buf_put_uvarint(b, ((uint64_t)v[0] << 1) ^ (uint64_t)(v[0] >> 63));
    for (uint32_t s = 1; s < n; s += 128) {
        uint32_t m = n - s < 128 ? n - s : 128;
        int64_t d[128] = {0}, mn = INT64_MAX;
        for (uint32_t k = 0; k < m; k++) {
            d[k] = v[s + k] - v[s + k - 1];
            if (d[k] < mn) mn = d[k];
        }
        buf_put_uvarint(b, ((uint64_t)mn << 1) ^ (uint64_t)(mn >> 63));
        int w[4] = {0};
        for (uint32_t k = 0; k < m; k++) {
            int bw = pq_bit_width((uint64_t)(d[k] - mn));
            if (bw > w[k / 32]) w[k / 32] = bw;
        }
        for (int j = 0; j < 4; j++) buf_putc(b, (char)w[j]);
        for (uint32_t j = 0; j * 32 < m; j++) {
            uint32_t x[32] = {0};
            for (uint32_t k = 0; k < 32 && j * 32 + k < m; k++)
                x[k] = (uint32_t)(d[j * 32 + k] - mn);
            if (!w[j]) continue;
            /* 32 values of w bits: rle_encode's bit-packed groups would add headers, so pack */
            uint64_t acc = 0;
            int bits = 0;
            for (int k = 0; k < 32; k++) {
                acc |= (uint64_t)x[k] << bits;
                bits += w[j];
                while (bits >= 8) {
                    buf_putc(b, (char)(acc & 0xff));
                    acc >>= 8;
                    bits -= 8;
                }
            }
        }
    }
}

static void test_crafted_legacy_types(void **state) {
    (void)state;
    arena *a = arena_new(0);
    pq_file *pf;
    batch b;
    buf f;
    /* INT96: nanoseconds of the day, then the Julian day */
    uint8_t i96[24] = {0};
    uint64_t nanos = 1000000000ull;
    uint32_t jd = 2440589; /* 1970-01-02 */
    for (int k = 0; k < 8; k++) i96[k] = (uint8_t)(nanos >> (8 * k));
    for (int k = 0; k < 4; k++) i96[8 + k] = (uint8_t)(jd >> (8 * k));
    jd = 2440587; /* 1969-12-31 */
    for (int k = 0; k < 4; k++) i96[20 + k] = (uint8_t)(jd >> (8 * k));
    craft_file(&f, &(struct craft){PT_INT96, -1, ENC_PLAIN, 2, i96, sizeof i96});
    read_crafted(&f, a, &pf, &b);
    assert_int_equal(b.cols[0].type, VT_TS);
    assert_int_equal(b.cols[0].d.i64[0], 86401000000000LL);
    assert_int_equal(b.cols[0].d.i64[1], -86400000000000LL);
    assert_string_equal(pq_col(pf, 0)->arrow, "Timestamp(Nanosecond, None)");
    pq_close(pf);
    buf_free(&f);
    /* UINT_32 over INT32: the bits are unsigned */
    const uint8_t u32[] = {0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0};
    craft_file(&f, &(struct craft){PT_INT32, CT_UINT_32, ENC_PLAIN, 2, u32, sizeof u32});
    read_crafted(&f, a, &pf, &b);
    assert_int_equal(b.cols[0].type, VT_U64);
    assert_int_equal(b.cols[0].d.u64[0], 4294967295ull);
    assert_int_equal(b.cols[0].d.u64[1], 7);
    assert_string_equal(pq_col(pf, 0)->arrow, "UInt32");
    pq_close(pf);
    buf_free(&f);
    /* TIMESTAMP_MILLIS over INT64 */
    const uint8_t ms[] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0};
    craft_file(&f, &(struct craft){PT_INT64, CT_TIMESTAMP_MILLIS, ENC_PLAIN, 1, ms, sizeof ms});
    read_crafted(&f, a, &pf, &b);
    assert_int_equal(b.cols[0].unit, TU_MS);
    assert_int_equal(b.cols[0].d.i64[0], 1000);
    pq_close(pf);
    buf_free(&f);
    arena_free(a);
}

static void test_crafted_encodings(void **state) {
    (void)state;
    arena *a = arena_new(0);
    pq_file *pf;
    batch b;
    buf f, body;
    /* RLE booleans: a 4-byte length, then the hybrid of width 1 */
    uint32_t bits[40];
    for (int k = 0; k < 40; k++) bits[k] = k < 20 ? 1 : (uint32_t)(k % 3 == 0);
    buf_init(&body);
    buf_put_u32le(&body, 0);
    rle_encode(&body, bits, 40, 1);
    uint32_t len = (uint32_t)body.len - 4;
    memcpy(body.p, &len, 4);
    craft_file(&f, &(struct craft){PT_BOOLEAN, -1, ENC_RLE, 40, body.p, body.len});
    read_crafted(&f, a, &pf, &b);
    for (int k = 0; k < 40; k++) assert_int_equal(b.cols[0].d.b[k], bits[k]);
    pq_close(pf);
    buf_free(&f);
    /* DELTA_BINARY_PACKED over INT64: more than a block, negative deltas */
    int64_t v[300];
    for (int k = 0; k < 300; k++) v[k] = (k % 17 == 0 ? -1 : 1) * (int64_t)k * k * 1000 + 5;
    buf_reset(&body);
    delta_encode(&body, v, 300);
    craft_file(&f, &(struct craft){PT_INT64, -1, ENC_DELTA_BINARY_PACKED, 300, body.p, body.len});
    err e = {0};
    assert_int_equal(pq_open_mem(f.p, f.len, "delta", &pf, &e), 0);
    int col = 0;
    uint8_t vt = VT_I64, u = 0;
    assert_int_equal(pq_select(pf, 1, &col, &vt, &u, &e), 0);
    assert_int_equal(pq_next(pf, a, 300, &b, &e), 1);
    for (int k = 0; k < 300; k++) assert_int_equal(b.cols[0].d.i64[k], v[k]);
    pq_close(pf);
    buf_free(&f);
    /* DELTA_BYTE_ARRAY: prefix lengths, suffix lengths, then the suffixes */
    static const char *const words[] = {"apple", "apricot", "apricots", "banana", ""};
    int64_t pre[] = {0, 2, 7, 0, 0}, suf[5];
    buf_reset(&body);
    delta_encode(&body, pre, 5);
    for (int k = 0; k < 5; k++) suf[k] = (int64_t)strlen(words[k]) - pre[k];
    delta_encode(&body, suf, 5);
    for (int k = 0; k < 5; k++) buf_puts(&body, words[k] + pre[k]);
    craft_file(&f,
               &(struct craft){PT_BYTE_ARRAY, CT_UTF8, ENC_DELTA_BYTE_ARRAY, 5, body.p, body.len});
    read_crafted(&f, a, &pf, &b);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(b.cols[0].d.s[k].len, strlen(words[k]));
        assert_memory_equal(b.cols[0].d.s[k].p, words[k], strlen(words[k]));
    }
    pq_close(pf);
    buf_free(&f);
    /* a page that claims more values than its bytes hold */
    craft_file(&f, &(struct craft){PT_INT64, -1, ENC_PLAIN, 3, v, 16});
    assert_int_equal(pq_open_mem(f.p, f.len, "short", &pf, &e), 0);
    vt = VT_I64;
    assert_int_equal(pq_select(pf, 1, &col, &vt, &u, &e), 0);
    assert_int_equal(pq_next(pf, a, 300, &b, &e), -1);
    assert_non_null(strstr(e.msg, "fewer values"));
    pq_close(pf);
    buf_free(&f);
    buf_free(&body);
    arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_codecs),
        cmocka_unit_test(test_roundtrip_plain_and_defaults),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_select_conversions),
        cmocka_unit_test(test_rle_hybrid),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_crafted_legacy_types),
        cmocka_unit_test(test_crafted_encodings),
    };
    return cmocka_run_group_tests_name("parquet", tests, NULL, NULL);
}
