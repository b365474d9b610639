/* Unit tests for column files (src/storage/colfile.c): writer/reader round trips of every value
 * type with NULLs, many series, chunk boundaries (CF_CHUNK_ROWS) and columns absent from a
 * chunk; page statistics; writer errors; and damage: every byte of a small file flipped in turn
 * (every k-th byte of a bigger one), every truncation, trailing garbage, and damage that keeps
 * the checksums valid (pages and index re-checksummed after the flip) so that the parsers and
 * decoders themselves are exercised. A damaged file must give a clear error (HTTP 500,
 * EC_STORAGE, a message) from cf_open, cf_read_ts or cf_read_col, never a crash (ASan/UBSan)
 * and never wrong data: whenever every call succeeds, the decoded values are compared with the
 * originals.
 *
 * Every test works in its own mkdtemp directory under /tmp and removes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "codec/codec.h"
#include "storage/colfile.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/mem.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* A clear error: what the server would answer with. */
static void assert_clear_error(const err *e) {
    assert_int_equal(e->http, 500);
    assert_string_equal(e->code, EC_STORAGE);
    assert_true(strlen(e->msg) > 10);
}

/* ---- test data ---------------------------------------------------------------------------- */

#define MAXC 8

/* One series as written: its rows and columns (memory from the test's arena). */
typedef struct tseries {
    uint32_t sid;
    uint64_t table_id;
    uint32_t n;
    int64_t *ts;
    uint32_t ncols;
    vec v[MAXC];
    cf_col c[MAXC];
} tseries;

typedef struct tfile {
    size_t n;
    tseries *s;
} tfile;

static const double special_f64[] = {
    0.0, -0.0, 1.5, -2.25, 1e308, -1e-308, 4.9e-324, INFINITY, -INFINITY, NAN, 3.141592653589793};
static const int64_t special_i64[] = {0, 1, -1, INT64_MIN, INT64_MAX, 42, -1000000007};

static void set_null_pattern(arena *a, vec *v, uint32_t n, int mode, trng *r) {
    /* mode 0: no bitmap; 1: bitmap, all valid; 2: every 3rd NULL; 3: random ~50%;
     * 4: all NULL in the first chunk, valid afterwards; 5: all NULL */
    if (mode == 0) {
        v->valid = NULL;
        return;
    }
    v->valid = arena_calloc(a, bitmap_bytes(n) + 1);
    for (uint32_t i = 0; i < n; i++) {
        bool ok = mode == 1   ? true
                  : mode == 2 ? i % 3 != 1
                  : mode == 3 ? (tr_next(r) & 1) != 0
                  : mode == 4 ? i >= CF_CHUNK_ROWS
                              : false;
        if (ok) bitmap_set(v->valid, i);
    }
}

/* Builds series sid with n rows: one column of each type plus extra NULL-pattern columns. */
static void gen_series(arena *a, tseries *s, uint32_t sid, uint64_t table_id, uint32_t n,
                       uint64_t seed, bool simple) {
    trng r = {seed * 7919 + sid};
    memset(s, 0, sizeof *s);
    s->sid = sid;
    s->table_id = table_id;
    s->n = n;
    s->ts = arena_alloc(a, sizeof *s->ts * (n ? n : 1));
    int64_t t = (int64_t)(tr_next(&r) % 1000000) - 500000;
    for (uint32_t i = 0; i < n; i++) {
        s->ts[i] = t;
        /* regular steps with occasional jumps and jitter */
        t +=
            (i % 97 == 0) ? (int64_t)(tr_next(&r) % 100000) + 1 : 1000 + (int64_t)(tr_next(&r) % 3);
    }
    static const uint8_t types[MAXC] = {VT_F64, VT_I64, VT_U64, VT_BOOL,
                                        VT_STR, VT_F64, VT_I64, VT_STR};
    s->ncols = simple ? 5 : MAXC;
    for (uint32_t k = 0; k < s->ncols; k++) {
        vec *v = &s->v[k];
        v->type = types[k];
        v->len = n;
        size_t sz = v->type == VT_BOOL ? sizeof(bool) : v->type == VT_STR ? sizeof(strv) : 8;
        v->d.raw = arena_calloc(a, sz * (n ? n : 1));
        for (uint32_t i = 0; i < n; i++) {
            uint64_t x = tr_next(&r);
            switch (v->type) {
            case VT_F64:
                v->d.f64[i] = (x % 5 == 0) ? special_f64[x % (sizeof special_f64 / 8)]
                                           : (double)(int64_t)(x % 200000) / 100.0;
                break;
            case VT_I64:
                v->d.i64[i] = (x % 7 == 0) ? special_i64[x % (sizeof special_i64 / 8)]
                                           : (int64_t)(i * 3) - (int64_t)(x % 50);
                break;
            case VT_U64:
                v->d.u64[i] = (x % 11 == 0) ? UINT64_MAX - (x % 3) : x % 100000;
                break;
            case VT_BOOL:
                v->d.b[i] = (x >> 7) & 1;
                break;
            case VT_STR: {
                uint32_t len = (x % 13 == 0) ? 0 : (uint32_t)(x % 40);
                if (x % 101 == 0) len = 3000; /* a long one */
                char *p = arena_alloc(a, len + 1);
                for (uint32_t j = 0; j < len; j++) p[j] = (char)(tr_next(&r) & 0xff); /* binary */
                v->d.s[i] = (strv){p, len};
                break;
            }
            }
        }
        int mode = (int)((sid + k) % 6);
        if (k == 5) mode = 4;
        if (k == 6) mode = 0;
        if (k == 7) mode = 5;
        set_null_pattern(a, v, n, mode, &r);
        s->c[k] = (cf_col){.col_id = 10 + k * 3, .type = v->type, .codec = 0, .v = v};
    }
}

static int write_file(const char *path, const tfile *tf, err *e) {
    cf_writer *w;
    if (cf_writer_open(path, &w, e) < 0) return -1;
    for (size_t i = 0; i < tf->n; i++) {
        const tseries *s = &tf->s[i];
        if (cf_writer_add(w, s->sid, s->table_id, s->n, s->ts, s->ncols, s->c, e) < 0) {
            cf_writer_abort(w);
            return -1;
        }
    }
    return cf_writer_finish(w, e);
}

static bool any_valid(const vec *v, uint32_t from, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (vec_is_valid(v, from + i)) return true;
    return false;
}

/* Reads every series, chunk and column of the file and compares with tf.
 * Returns 0 when everything read and matched, 1 when a call failed (e is filled), 2 when a
 * call succeeded but gave something else than what was written (msg describes it). */
static int read_and_compare(const char *path, const tfile *tf, err *e, char *msg, size_t msgcap) {
    cf_reader *r;
    err_clear(e);
    if (cf_open(path, &r, e) < 0) return 1;
    int rc = 0;
    arena *a = arena_new(0);
    arena *ia = arena_new(0); /* decoded index entries; a is reset per column */
    int64_t *ts = xmalloc(sizeof *ts * CF_CHUNK_ROWS);
    size_t nonempty = 0;
    for (size_t i = 0; i < tf->n; i++) nonempty += tf->s[i].n > 0;
    if (cf_nseries(r) != nonempty) {
        snprintf(msg, msgcap, "nseries %zu != %zu", cf_nseries(r), nonempty);
        rc = 2;
        goto out;
    }
    for (size_t i = 0; i < tf->n && rc == 0; i++) {
        const tseries *s = &tf->s[i];
        arena_reset(ia);
        const cf_series *fs = cf_find(r, s->sid, ia);
        if (s->n == 0) {
            if (fs) {
                snprintf(msg, msgcap, "empty series %u present", s->sid);
                rc = 2;
            }
            continue;
        }
        if (!fs || fs->sid != s->sid || fs->table_id != s->table_id ||
            fs->nchunks != (s->n + CF_CHUNK_ROWS - 1) / CF_CHUNK_ROWS) {
            snprintf(msg, msgcap, "series %u header differs", s->sid);
            rc = 2;
            break;
        }
        for (uint32_t c = 0; c < fs->nchunks && rc == 0; c++) {
            const cf_chunk *ch = &fs->chunks[c];
            uint32_t from = c * CF_CHUNK_ROWS;
            uint32_t n = s->n - from < CF_CHUNK_ROWS ? s->n - from : CF_CHUNK_ROWS;
            if (ch->nrows != n || ch->tmin != s->ts[from] || ch->tmax != s->ts[from + n - 1]) {
                snprintf(msg, msgcap, "series %u chunk %u header differs", s->sid, c);
                rc = 2;
                break;
            }
            if (cf_read_ts(r, ch, ts, e) < 0) {
                rc = 1;
                break;
            }
            if (memcmp(ts, s->ts + from, sizeof *ts * n) != 0) {
                snprintf(msg, msgcap, "series %u chunk %u timestamps differ", s->sid, c);
                rc = 2;
                break;
            }
            /* Pages exist exactly for the columns with a value in the chunk. */
            uint32_t present = 0;
            for (uint32_t k = 0; k < s->ncols; k++) present += any_valid(&s->v[k], from, n);
            if (ch->ncols != present) {
                snprintf(msg, msgcap, "series %u chunk %u: %u pages, expected %u", s->sid, c,
                         ch->ncols, present);
                rc = 2;
                break;
            }
            for (uint32_t k = 0; k < s->ncols && rc == 0; k++) {
                const vec *src = &s->v[k];
                vec got;
                arena_reset(a);
                if (cf_read_col(r, ch, s->c[k].col_id, src->type, a, &got, e) < 0) {
                    rc = 1;
                    break;
                }
                if (got.len != n || got.type != src->type) {
                    snprintf(msg, msgcap, "series %u chunk %u col %u: len/type", s->sid, c, k);
                    rc = 2;
                    break;
                }
                for (uint32_t j = 0; j < n; j++) {
                    bool va = vec_is_valid(src, from + j), vb = vec_is_valid(&got, j);
                    bool same = va == vb;
                    if (same && va) {
                        switch (src->type) {
                        case VT_F64:
                        case VT_I64:
                        case VT_U64:
                            same = memcmp(&src->d.i64[from + j], &got.d.i64[j], 8) == 0;
                            break;
                        case VT_BOOL:
                            same = src->d.b[from + j] == got.d.b[j];
                            break;
                        case VT_STR:
                            same = src->d.s[from + j].len == got.d.s[j].len &&
                                   (!got.d.s[j].len || memcmp(src->d.s[from + j].p, got.d.s[j].p,
                                                              got.d.s[j].len) == 0);
                            break;
                        }
                    }
                    if (!same) {
                        snprintf(msg, msgcap, "series %u chunk %u col %u row %u differs", s->sid, c,
                                 k, j);
                        rc = 2;
                        break;
                    }
                }
            }
        }
    }
out:
    free(ts);
    arena_free(a);
    arena_free(ia);
    cf_release(r);
    return rc;
}

/* Reads everything the (possibly damaged) file's index lists, without expectations: for damage
 * that keeps checksums valid, where only safety can be asked for. Returns the number of calls
 * that failed; every failure must be a clear error. */
static int read_everything(const char *path, int *opened) {
    cf_reader *r;
    err e;
    err_clear(&e);
    *opened = 0;
    if (cf_open(path, &r, &e) < 0) {
        assert_clear_error(&e);
        return 1;
    }
    *opened = 1;
    int fails = 0;
    arena *a = arena_new(0);
    arena *ia = arena_new(0); /* decoded index entries; a is reset per column */
    int64_t *ts = xmalloc(sizeof *ts * CF_CHUNK_ROWS);
    static const uint8_t all_types[] = {VT_F64, VT_I64, VT_U64, VT_BOOL, VT_STR};
    for (size_t i = 0; i < cf_nseries(r); i++) {
        arena_reset(ia);
        const cf_series *s = cf_series_at(r, i, ia);
        assert_int_equal(cf_sid_at(r, i), s->sid);
        assert_int_equal(cf_table_at(r, i), s->table_id);
        const cf_series *f = cf_find(r, s->sid, ia);
        assert_non_null(f);
        assert_int_equal(f->nchunks, s->nchunks);
        assert_int_equal(f->chunks[0].ts_off, s->chunks[0].ts_off);
        for (uint32_t c = 0; c < s->nchunks; c++) {
            const cf_chunk *ch = &s->chunks[c];
            assert_true(ch->nrows >= 1 && ch->nrows <= CF_CHUNK_ROWS);
            err_clear(&e);
            if (cf_read_ts(r, ch, ts, &e) < 0) {
                assert_clear_error(&e);
                fails++;
            }
            for (uint32_t k = 0; k < ch->ncols; k++) {
                for (size_t t = 0; t < sizeof all_types; t++) {
                    vec v;
                    arena_reset(a);
                    err_clear(&e);
                    if (cf_read_col(r, ch, ch->cols[k].col_id, all_types[t], a, &v, &e) < 0) {
                        assert_clear_error(&e);
                        fails++;
                        continue;
                    }
                    assert_int_equal(v.len, ch->nrows);
                    /* touch every value so ASan sees any hole */
                    volatile uint64_t sink = 0;
                    for (uint32_t j = 0; j < v.len; j++) {
                        if (!vec_is_valid(&v, j)) continue;
                        if (v.type == VT_STR) {
                            if (v.d.s[j].len) sink += (unsigned char)v.d.s[j].p[v.d.s[j].len - 1];
                        } else if (v.type == VT_BOOL) {
                            sink += v.d.b[j];
                        } else {
                            sink += v.d.u64[j];
                        }
                    }
                    (void)sink;
                }
            }
        }
    }
    free(ts);
    arena_free(a);
    arena_free(ia);
    cf_release(r);
    return fails;
}

/* ---- round trips -------------------------------------------------------------------------- */

static void roundtrip(const uint32_t *rows, size_t nseries, bool simple, uint64_t seed) {
    char *dir = tu_tmpdir("cf");
    char path[512];
    snprintf(path, sizeof path, "%s/f.col", dir);
    arena *a = arena_new(0);
    tfile tf = {nseries, arena_calloc(a, sizeof(tseries) * nseries)};
    uint32_t sid = 4; /* ids start at 5: 0..4 are absent */
    for (size_t i = 0; i < nseries; i++) {
        sid += 1 + (uint32_t)(i % 5); /* gaps between ids */
        gen_series(a, &tf.s[i], sid, 100 + i % 3, rows[i], seed, simple);
    }
    err e;
    err_clear(&e);
    assert_int_equal(write_file(path, &tf, &e), 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_false(tu_exists(tmp));
    char msg[256] = "";
    int rc = read_and_compare(path, &tf, &e, msg, sizeof msg);
    if (rc) fail_msg("round trip: rc %d: %s %s", rc, msg, e.msg);
    /* file-level time range and lookups of absent ids */
    cf_reader *r;
    assert_int_equal(cf_open(path, &r, &e), 0);
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (size_t i = 0; i < nseries; i++) {
        if (!tf.s[i].n) continue;
        if (tf.s[i].ts[0] < tmin) tmin = tf.s[i].ts[0];
        if (tf.s[i].ts[tf.s[i].n - 1] > tmax) tmax = tf.s[i].ts[tf.s[i].n - 1];
    }
    if (tmin <= tmax) {
        assert_int_equal(cf_tmin(r), tmin);
        assert_int_equal(cf_tmax(r), tmax);
    }
    assert_null(cf_find(r, 0, a));
    assert_null(cf_find(r, 4, a));
    assert_null(cf_find(r, UINT32_MAX, a));
    for (size_t i = 0; i + 1 < cf_nseries(r); i++) {
        assert_true(cf_sid_at(r, i) < cf_sid_at(r, i + 1));
        for (uint32_t s = cf_sid_at(r, i) + 1; s < cf_sid_at(r, i + 1); s++)
            assert_null(cf_find(r, s, a));
    }
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(cf_size(r), (uint64_t)st.st_size);
    assert_string_equal(cf_path(r), path);
    /* reference counting: the reader stays usable while a reference is held */
    cf_retain(r);
    cf_release(r);
    if (cf_nseries(r)) {
        int64_t *ts = xmalloc(sizeof *ts * CF_CHUNK_ROWS);
        assert_int_equal(cf_read_ts(r, &cf_series_at(r, 0, a)->chunks[0], ts, &e), 0);
        free(ts);
    }
    cf_release(r);
    arena_free(a);
    tu_rmdir(dir);
}

static void test_roundtrip_chunk_boundaries(void **state) {
    (void)state;
    /* 0 rows (skipped by the writer), 1, one short of, exactly, one past a chunk, two chunks
     * exactly, and several chunks with a tail */
    static const uint32_t rows[] = {1, 4095, 4096, 4097, 0, 8192, 8193, 2, 3, 4096 * 3 + 17};
    roundtrip(rows, sizeof rows / sizeof rows[0], false, 1);
}

static void test_roundtrip_many_series(void **state) {
    (void)state;
    enum { NS = 2000 };
    uint32_t *rows = xmalloc(sizeof *rows * NS);
    trng r = {99};
    for (size_t i = 0; i < NS; i++) rows[i] = 1 + (uint32_t)(tr_next(&r) % 20);
    roundtrip(rows, NS, true, 2);
    free(rows);
}

static void test_empty_file(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cf");
    char path[512];
    snprintf(path, sizeof path, "%s/e.col", dir);
    err e;
    cf_writer *w;
    assert_int_equal(cf_writer_open(path, &w, &e), 0);
    int64_t ts = 5;
    /* a series without rows adds nothing */
    assert_int_equal(cf_writer_add(w, 7, 1, 0, &ts, 0, NULL, &e), 0);
    assert_int_equal(cf_writer_rows(w), 0);
    assert_int_equal(cf_writer_finish(w, &e), 0);
    cf_reader *r;
    assert_int_equal(cf_open(path, &r, &e), 0);
    assert_int_equal(cf_nseries(r), 0);
    arena *a = arena_new(0);
    assert_null(cf_find(r, 7, a));
    arena_free(a);
    cf_release(r);
    tu_rmdir(dir);
}

/* A series whose columns carry no value at all, and a series with no field columns. */
static void test_empty_columns(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cf");
    char path[512];
    snprintf(path, sizeof path, "%s/c.col", dir);
    arena *a = arena_new(0);
    tfile tf = {3, arena_calloc(a, sizeof(tseries) * 3)};
    gen_series(a, &tf.s[0], 1, 1, 5000, 3, false);
    for (uint32_t k = 0; k < tf.s[0].ncols; k++) set_null_pattern(a, &tf.s[0].v[k], 5000, 5, NULL);
    gen_series(a, &tf.s[1], 2, 1, 10, 3, false);
    tf.s[1].ncols = 0;
    gen_series(a, &tf.s[2], 3, 1, 10, 3, false);
    err e;
    assert_int_equal(write_file(path, &tf, &e), 0);
    char msg[256] = "";
    int rc = read_and_compare(path, &tf, &e, msg, sizeof msg);
    if (rc) fail_msg("rc %d: %s %s", rc, msg, e.msg);
    cf_reader *r;
    assert_int_equal(cf_open(path, &r, &e), 0);
    const cf_series *s = cf_find(r, 1, a);
    assert_non_null(s);
    assert_int_equal(s->nchunks, 2);
    assert_int_equal(s->chunks[0].ncols, 0);
    assert_int_equal(s->chunks[1].ncols, 0);
    /* asking for any column of it: all NULL, right length */
    vec v;
    assert_int_equal(cf_read_col(r, &s->chunks[1], 10, VT_F64, a, &v, &e), 0);
    assert_int_equal(v.len, 5000 - CF_CHUNK_ROWS);
    for (uint32_t i = 0; i < v.len; i++) assert_false(vec_is_valid(&v, i));
    /* a column that exists but is read with another type comes back all NULL */
    const cf_series *s3 = cf_find(r, 3, a);
    assert_int_equal(cf_read_col(r, &s3->chunks[0], 10, VT_I64, a, &v, &e), 0);
    assert_int_equal(v.len, 10);
    for (uint32_t i = 0; i < v.len; i++) assert_false(vec_is_valid(&v, i));
    assert_int_equal(cf_read_col(r, &s3->chunks[0], 10, VT_STR, a, &v, &e), 0);
    for (uint32_t i = 0; i < v.len; i++) assert_false(vec_is_valid(&v, i));
    cf_release(r);
    arena_free(a);
    tu_rmdir(dir);
}

/* cf_read_col_range gives exactly the rows lo..hi-1 of what cf_read_col gives, for every type
 * and NULL pattern (the dense values of a range start at the NULLs before it), at bitmap byte
 * boundaries and off them, empty and whole ranges, and for a column the chunk lacks. */
static void test_read_col_range(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cf");
    char path[512];
    snprintf(path, sizeof path, "%s/r.col", dir);
    arena *a = arena_new(0);
    tfile tf = {6, arena_calloc(a, sizeof(tseries) * 6)};
    for (uint32_t i = 0; i < 6; i++) gen_series(a, &tf.s[i], 1 + i, 1, 5000, 11, false);
    err e;
    assert_int_equal(write_file(path, &tf, &e), 0);
    cf_reader *r;
    assert_int_equal(cf_open(path, &r, &e), 0);
    trng rg = {3};
    for (uint32_t i = 0; i < 6; i++) {
        const cf_series *s = cf_find(r, 1 + i, a);
        for (uint32_t c = 0; c < s->nchunks; c++) {
            const cf_chunk *ch = &s->chunks[c];
            uint32_t n = ch->nrows;
            uint32_t ranges[][2] = {{0, n},     {0, 0},     {n, n},         {0, 1},
                                    {n - 1, n}, {8, 16},    {3, 130},       {0, n / 2},
                                    {n / 2, n}, {127, 129}, {n / 3, n - 5}, {1, n}};
            for (size_t k = 0; k < tf.s[i].ncols + 1; k++) {
                /* the last round asks for a column id the file does not have */
                uint32_t col = k < tf.s[i].ncols ? tf.s[i].c[k].col_id : 999;
                uint8_t type = k < tf.s[i].ncols ? tf.s[i].v[k].type : VT_F64;
                size_t sz = type == VT_BOOL ? sizeof(bool) : type == VT_STR ? sizeof(strv) : 8;
                vec all;
                assert_int_equal(cf_read_col(r, ch, col, type, a, &all, &e), 0);
                for (size_t q = 0; q < sizeof ranges / sizeof ranges[0] + 6; q++) {
                    uint32_t lo, hi;
                    tu_range(ranges, sizeof ranges / sizeof ranges[0], q, n, &rg, &lo, &hi);
                    vec got;
                    if (cf_read_col_range(r, ch, col, type, lo, hi, a, &got, &e) != 0)
                        fail_msg("range %u..%u: %s", lo, hi, e.msg);
                    assert_int_equal(got.len, hi - lo);
                    assert_int_equal(got.type, type);
                    assert_int_equal(got.valid == NULL, all.valid == NULL);
                    for (uint32_t j = 0; j < hi - lo; j++) {
                        bool va = vec_is_valid(&all, lo + j);
                        if (vec_is_valid(&got, j) != va)
                            fail_msg("col %u range %u..%u row %u: validity", col, lo, hi, j);
                        if (type == VT_STR) {
                            strv x = all.d.s[lo + j], y = got.d.s[j];
                            assert_int_equal(x.len, y.len);
                            if (x.len) assert_memory_equal(x.p, y.p, x.len);
                        } else if (va || type != VT_BOOL) {
                            assert_memory_equal((char *)all.d.raw + sz * (lo + j),
                                                (char *)got.d.raw + sz * j, sz);
                        }
                    }
                }
            }
        }
    }
    cf_release(r);
    arena_free(a);
    tu_rmdir(dir);
}

/* Extreme timestamps: a chunk spanning the whole int64 range. */
static void test_extreme_timestamps(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cf");
    char path[512];
    snprintf(path, sizeof path, "%s/x.col", dir);
    int64_t ts[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
    int64_t iv[] = {1, 2, 3, 4, 5, 6, 7};
    vec v = {.type = VT_I64, .len = 7, .d.i64 = iv};
    cf_col c = {.col_id = 1, .type = VT_I64, .v = &v};
    err e;
    cf_writer *w;
    assert_int_equal(cf_writer_open(path, &w, &e), 0);
    assert_int_equal(cf_writer_add(w, 1, 1, 7, ts, 1, &c, &e), 0);
    assert_int_equal(cf_writer_add(w, 2, 1, 1, ts + 6, 1, &c, &e), 0);
    assert_int_equal(cf_writer_finish(w, &e), 0);
    cf_reader *r;
    assert_int_equal(cf_open(path, &r, &e), 0);
    assert_int_equal(cf_tmin(r), INT64_MIN);
    assert_int_equal(cf_tmax(r), INT64_MAX);
    arena *a = arena_new(0);
    const cf_series *s = cf_find(r, 1, a);
    assert_int_equal(s->chunks[0].tmin, INT64_MIN);
    assert_int_equal(s->chunks[0].tmax, INT64_MAX);
    int64_t got[7];
    assert_int_equal(cf_read_ts(r, &s->chunks[0], got, &e), 0);
    assert_memory_equal(got, ts, sizeof ts);
    arena_free(a);
    cf_release(r);
    tu_rmdir(dir);
}

/* cf_read_ts_window against a search of the whole decoded page, for regular times (a
 * constant-step page, found without decoding), irregular ones, one row, and steps next to
 * INT64's ends; windows before, after, inside, across and exactly on the chunk's rows. */
static void window_case(const int64_t *ts, uint32_t n) {
    char *dir = tu_tmpdir("cf");
    char path[512];
    snprintf(path, sizeof path, "%s/w.col", dir);
    int64_t *iv = xcalloc(n, sizeof *iv);
    vec v = {.type = VT_I64, .len = n, .d.i64 = iv};
    cf_col c = {.col_id = 1, .type = VT_I64, .v = &v};
    err e;
    cf_writer *w;
    assert_int_equal(cf_writer_open(path, &w, &e), 0);
    assert_int_equal(cf_writer_add(w, 1, 1, n, ts, 1, &c, &e), 0);
    assert_int_equal(cf_writer_finish(w, &e), 0);
    cf_reader *r;
    assert_int_equal(cf_open(path, &r, &e), 0);
    arena *a = arena_new(0);
    const cf_series *s = cf_find(r, 1, a);
    int64_t *room = xmalloc(sizeof *room * CF_CHUNK_ROWS),
            *all = xmalloc(sizeof *all * CF_CHUNK_ROWS);
    for (uint32_t ci = 0; ci < s->nchunks; ci++) {
        const cf_chunk *ch = &s->chunks[ci];
        assert_int_equal(cf_read_ts(r, ch, all, &e), 0);
        /* bounds: around every few rows, the chunk's ends and the type's */
        int64_t probe[64];
        size_t np = 0;
        probe[np++] = INT64_MIN;
        probe[np++] = INT64_MAX;
        for (uint32_t k = 0; k < 8; k++) {
            int64_t t = all[(uint64_t)k * (ch->nrows - 1) / 7];
            probe[np++] = t;
            if (t > INT64_MIN) probe[np++] = t - 1;
            if (t < INT64_MAX) probe[np++] = t + 1;
        }
        for (size_t i = 0; i < np; i++)
            for (size_t j = 0; j < np; j++) {
                int64_t tmin = probe[i], tmax = probe[j];
                /* cf_find_range keeps exactly the chunks that overlap, in order */
                const cf_series *fw = cf_find_range(r, 1, tmin, tmax, a);
                uint32_t want = 0;
                for (uint32_t k = 0; k < s->nchunks; k++) {
                    const cf_chunk *o = &s->chunks[k];
                    if (o->tmax < tmin || o->tmin > tmax) continue;
                    assert_true(want < fw->nchunks);
                    assert_int_equal(fw->chunks[want].tmin, o->tmin);
                    assert_int_equal(fw->chunks[want].ts_off, o->ts_off);
                    assert_int_equal(fw->chunks[want].ncols, o->ncols);
                    assert_int_equal(fw->chunks[want].cols[0].off, o->cols[0].off);
                    want++;
                }
                assert_int_equal(fw->nchunks, want);
                uint32_t want_lo = 0, want_hi;
                while (want_lo < ch->nrows && all[want_lo] < tmin) want_lo++;
                want_hi = want_lo;
                while (want_hi < ch->nrows && all[want_hi] <= tmax) want_hi++;
                int64_t *got;
                uint32_t lo, hi;
                assert_int_equal(cf_read_ts_window(r, ch, tmin, tmax, room, &got, &lo, &hi, &e), 0);
                assert_int_equal(lo, want_lo);
                assert_int_equal(hi, want_hi);
                if (hi > lo) assert_memory_equal(got, all + lo, sizeof *got * (hi - lo));
            }
    }
    free(room);
    free(all);
    free(iv);
    arena_free(a);
    cf_release(r);
    tu_rmdir(dir);
}

static void test_ts_window(void **state) {
    (void)state;
    enum { N = CF_CHUNK_ROWS + 300 };
    int64_t *ts = xmalloc(sizeof *ts * N);
    for (uint32_t i = 0; i < N; i++) ts[i] = 1451606400000000000 + (int64_t)i * 10000000000;
    window_case(ts, N); /* regular: constant-step pages */
    for (uint32_t i = 0; i < N; i++) ts[i] = -5000 + (int64_t)i * i;
    window_case(ts, N); /* irregular */
    window_case(ts, 1);
    for (uint32_t i = 0; i < 128; i++) /* unsigned: no overflow on the way up */
        ts[i] = (int64_t)((uint64_t)INT64_MIN + (uint64_t)i * (uint64_t)(INT64_MAX / 64));
    window_case(ts, 128); /* the type's whole span in big steps */
    for (uint32_t i = 0; i < 100; i++) ts[i] = INT64_MAX - 99 + (int64_t)i;
    window_case(ts, 100);
    free(ts);
}

/* ---- statistics --------------------------------------------------------------------------- */

/* version 2 files keep each numeric page's last value and its row; version 1 files (still
 * read) have none */
static void statistics_at(uint32_t version) {
    char *dir = tu_tmpdir("cf");
    char path[512];
    snprintf(path, sizeof path, "%s/s.col", dir);
    enum { N = CF_CHUNK_ROWS + 100 };
    int64_t *ts = xmalloc(sizeof *ts * N);
    double *f = xmalloc(sizeof *f * N);
    int64_t *i64 = xmalloc(sizeof *i64 * N);
    uint64_t *u64 = xmalloc(sizeof *u64 * N);
    bool *b = xmalloc(sizeof *b * N);
    uint8_t *valid = xcalloc(1, bitmap_bytes(N));
    for (uint32_t i = 0; i < N; i++) {
        ts[i] = 1000 + i;
        f[i] = (double)i * 0.5 - 100;
        i64[i] = (int64_t)i - 2000;
        u64[i] = (uint64_t)i * 3;
        b[i] = i & 1;
        if (i % 4 != 0) bitmap_set(valid, i); /* multiples of 4 are NULL */
    }
    /* the first chunk ends in NULLs: its last value is on an earlier row */
    for (uint32_t i = CF_CHUNK_ROWS - 3; i < CF_CHUNK_ROWS; i++)
        valid[i >> 3] &= (uint8_t) ~(1u << (i & 7));
    /* the NULL rows carry extreme values that must not reach the statistics */
    f[0] = -1e300;
    i64[4] = INT64_MIN;
    u64[8] = UINT64_MAX;
    vec vf = {.type = VT_F64, .len = N, .valid = valid, .d.f64 = f};
    vec vi = {.type = VT_I64, .len = N, .valid = valid, .d.i64 = i64};
    vec vu = {.type = VT_U64, .len = N, .valid = valid, .d.u64 = u64};
    vec vb = {.type = VT_BOOL, .len = N, .d.b = b};
    cf_col cols[] = {
        {1, VT_F64, 0, &vf}, {2, VT_I64, 0, &vi}, {3, VT_U64, 0, &vu}, {4, VT_BOOL, 0, &vb}};
    err e;
    cf_writer *w;
    assert_int_equal(cf_writer_open(path, &w, &e), 0);
    cf_writer_set_version(w, version);
    assert_int_equal(cf_writer_add(w, 1, 9, N, ts, 4, cols, &e), 0);
    assert_int_equal(cf_writer_rows(w), N);
    assert_int_equal(cf_writer_finish(w, &e), 0);
    cf_reader *r;
    assert_int_equal(cf_open(path, &r, &e), 0);
    arena *a = arena_new(0);
    const cf_series *s = cf_find(r, 1, a);
    assert_int_equal(s->nchunks, 2);
    for (uint32_t c = 0; c < 2; c++) {
        const cf_chunk *ch = &s->chunks[c];
        uint32_t from = c * CF_CHUNK_ROWS, n = ch->nrows;
        double fmin = INFINITY, fmax = -INFINITY, fsum = 0;
        int64_t imin = INT64_MAX, imax = INT64_MIN, isum = 0;
        uint64_t umin = UINT64_MAX, umax = 0, usum = 0;
        uint32_t nulls = 0, last = 0;
        for (uint32_t i = from; i < from + n; i++) {
            if (!vec_is_valid(&vf, i)) {
                nulls++;
                continue;
            }
            last = i;
            fmin = fmin < f[i] ? fmin : f[i];
            fmax = fmax > f[i] ? fmax : f[i];
            fsum += f[i];
            imin = imin < i64[i] ? imin : i64[i];
            imax = imax > i64[i] ? imax : i64[i];
            isum += i64[i];
            umin = umin < u64[i] ? umin : u64[i];
            umax = umax > u64[i] ? umax : u64[i];
            usum += u64[i];
        }
        assert_int_equal(ch->ncols, 4);
        if (c == 0) assert_true(last < from + n - 1);
        for (uint32_t k = 0; k < 4; k++) {
            const cf_colref *cr = &ch->cols[k];
            if (cr->type != VT_BOOL) {
                assert_int_equal(cr->st.has_last, version >= 2);
                if (version >= 2) assert_int_equal(cr->st.last_row, last - from);
            }
            switch (cr->col_id) {
            case 1:
                assert_int_equal(cr->type, VT_F64);
                assert_int_equal(cr->nulls, nulls);
                assert_true(cr->st.has_stats);
                assert_true(cr->st.min.f == fmin);
                assert_true(cr->st.max.f == fmax);
                assert_true(fabs(cr->st.sum.f - fsum) < 1e-6);
                if (version >= 2) assert_true(cr->st.last.f == f[last]);
                break;
            case 2:
                assert_int_equal(cr->nulls, nulls);
                assert_true(cr->st.has_stats);
                assert_int_equal(cr->st.min.i, imin);
                assert_int_equal(cr->st.max.i, imax);
                assert_int_equal(cr->st.sum.i, isum);
                if (version >= 2) assert_int_equal(cr->st.last.i, i64[last]);
                break;
            case 3:
                assert_true(cr->st.has_stats);
                assert_int_equal(cr->st.min.u, umin);
                assert_int_equal(cr->st.max.u, umax);
                assert_int_equal(cr->st.sum.u, usum);
                if (version >= 2) assert_int_equal(cr->st.last.u, u64[last]);
                break;
            case 4:
                assert_int_equal(cr->type, VT_BOOL);
                assert_int_equal(cr->nulls, 0);
                assert_false(cr->st.has_stats);
                break;
            default:
                fail_msg("unexpected column %u", cr->col_id);
            }
        }
    }
    arena_free(a);
    cf_release(r);
    free(ts);
    free(f);
    free(i64);
    free(u64);
    free(b);
    free(valid);
    tu_rmdir(dir);
}

static void test_statistics(void **state) {
    (void)state;
    statistics_at(1);
    statistics_at(2);
}

/* ---- writer errors ------------------------------------------------------------------------ */

static void test_writer_errors(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cf");
    char path[512], tmp[600];
    snprintf(path, sizeof path, "%s/w.col", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int64_t ts[] = {1, 2, 3};
    int64_t iv[] = {1, 2, 3};
    vec v = {.type = VT_I64, .len = 3, .d.i64 = iv};
    cf_col c = {.col_id = 1, .type = VT_I64, .v = &v};
    err e;
    cf_writer *w;
    /* series out of order, and a repeated id */
    assert_int_equal(cf_writer_open(path, &w, &e), 0);
    assert_true(tu_exists(tmp));
    assert_int_equal(cf_writer_add(w, 5, 1, 3, ts, 1, &c, &e), 0);
    err_clear(&e);
    assert_int_equal(cf_writer_add(w, 5, 1, 3, ts, 1, &c, &e), -1);
    assert_int_equal(e.http, 500);
    err_clear(&e);
    assert_int_equal(cf_writer_add(w, 4, 1, 3, ts, 1, &c, &e), -1);
    assert_int_equal(e.http, 500);
    cf_writer_abort(w);
    assert_false(tu_exists(tmp));
    assert_false(tu_exists(path));
    /* an unsupported column type */
    vec vt = {.type = VT_TS, .len = 3, .d.i64 = iv};
    cf_col bad = {.col_id = 2, .type = VT_TS, .v = &vt};
    assert_int_equal(cf_writer_open(path, &w, &e), 0);
    err_clear(&e);
    assert_int_equal(cf_writer_add(w, 1, 1, 3, ts, 1, &bad, &e), -1);
    assert_int_equal(e.http, 500);
    cf_writer_abort(w);
    assert_false(tu_exists(path));
    /* a directory that does not exist */
    char nodir[600];
    snprintf(nodir, sizeof nodir, "%s/no/such/f.col", dir);
    err_clear(&e);
    assert_int_equal(cf_writer_open(nodir, &w, &e), -1);
    assert_clear_error(&e);
    /* opening what is not there, or not a column file */
    err_clear(&e);
    cf_reader *r;
    assert_int_equal(cf_open(path, &r, &e), -1);
    assert_clear_error(&e);
    tu_write_file(path, "hello", 5);
    err_clear(&e);
    assert_int_equal(cf_open(path, &r, &e), -1);
    assert_clear_error(&e);
    tu_rmdir(dir);
}

/* ---- damage ------------------------------------------------------------------------------- */

/* The original file is written once; each variant is written to another path and checked. */
struct dmg {
    char *dir;
    char orig[512], bad[512];
    char *data;
    size_t size;
    arena *a;
    tfile tf;
};

static void dmg_setup(struct dmg *d, const uint32_t *rows, size_t ns, bool simple) {
    d->dir = tu_tmpdir("cf");
    snprintf(d->orig, sizeof d->orig, "%s/orig.col", d->dir);
    snprintf(d->bad, sizeof d->bad, "%s/bad.col", d->dir);
    d->a = arena_new(0);
    d->tf.n = ns;
    d->tf.s = arena_calloc(d->a, sizeof(tseries) * ns);
    for (size_t i = 0; i < ns; i++)
        gen_series(d->a, &d->tf.s[i], (uint32_t)(i * 2 + 1), 7, rows[i], 5, simple);
    err e;
    assert_int_equal(write_file(d->orig, &d->tf, &e), 0);
    char msg[256] = "";
    assert_int_equal(read_and_compare(d->orig, &d->tf, &e, msg, sizeof msg), 0);
    d->data = tu_read_file(d->orig, &d->size);
}

static void dmg_teardown(struct dmg *d) {
    free(d->data);
    arena_free(d->a);
    tu_rmdir(d->dir);
}

/* Writes a variant and checks: an error (clear) or exactly the original data. Returns 1 if the
 * damage was detected. */
static int check_variant(struct dmg *d, const char *bytes, size_t n, const char *what, size_t pos) {
    tu_write_file(d->bad, bytes, n);
    err e;
    char msg[256] = "";
    int rc = read_and_compare(d->bad, &d->tf, &e, msg, sizeof msg);
    if (rc == 2) fail_msg("%s at %zu: silently wrong data: %s", what, pos, msg);
    if (rc == 1) assert_clear_error(&e);
    return rc == 1;
}

static void flip_sweep(const uint32_t *rows, size_t ns, bool simple, size_t max_positions) {
    struct dmg d;
    dmg_setup(&d, rows, ns, simple);
    char *copy = xmalloc(d.size);
    size_t step = d.size / max_positions + 1;
    size_t tried = 0, detected = 0;
    static const unsigned char masks[] = {0x01, 0x80, 0xff};
    for (size_t pos = 0; pos < d.size; pos += step) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(copy, d.data, d.size);
            copy[pos] ^= (char)masks[m];
            tried++;
            detected += (size_t)check_variant(&d, copy, d.size, "flip", pos);
        }
    }
    /* Every byte of a column file is covered by a checksum or checked against the format, so
     * no flip can go unnoticed. */
    assert_int_equal(detected, tried);
    /* truncations */
    size_t tstep = d.size / max_positions + 1;
    for (size_t len = 0; len < d.size; len += tstep)
        assert_int_equal(check_variant(&d, d.data, len, "truncate", len), 1);
    assert_int_equal(check_variant(&d, d.data, d.size - 1, "truncate", d.size - 1), 1);
    /* trailing garbage */
    char *longer = xmalloc(d.size + 64);
    memcpy(longer, d.data, d.size);
    for (size_t extra = 1; extra <= 64; extra *= 2) {
        memset(longer + d.size, 0, extra);
        assert_int_equal(check_variant(&d, longer, d.size + extra, "append", extra), 1);
        /* the same bytes with the footer repeated at the end */
        if (extra >= 32) {
            memcpy(longer + d.size + extra - 32, d.data + d.size - 32, 32);
            assert_int_equal(check_variant(&d, longer, d.size + extra, "append footer", extra), 1);
        }
    }
    /* a zeroed page-sized hole */
    memcpy(copy, d.data, d.size);
    memset(copy + 8, 0, d.size / 2 > 4096 ? 4096 : d.size / 2);
    assert_int_equal(check_variant(&d, copy, d.size, "zeroed", 8), 1);
    free(longer);
    free(copy);
    dmg_teardown(&d);
}

static void test_flip_every_byte_small(void **state) {
    (void)state;
    static const uint32_t rows[] = {3, 1, 17};
    flip_sweep(rows, 3, false, SIZE_MAX / 2);
}

static void test_flip_sampled_big(void **state) {
    (void)state;
    static const uint32_t rows[] = {4096 * 2 + 100, 5, 4096};
    flip_sweep(rows, 3, false, 1500);
}

/* Index region of an intact file, from its footer. */
static void index_region(const char *data, size_t size, size_t *off, size_t *len) {
    uint64_t o, l;
    memcpy(&o, data + size - 32, 8);
    memcpy(&l, data + size - 24, 8);
    *off = (size_t)o;
    *len = (size_t)l;
}

static void fix_index_crc(char *data, size_t size) {
    size_t off, len;
    index_region(data, size, &off, &len);
    uint32_t crc = (uint32_t)XXH3_64bits(data + off, len);
    memcpy(data + size - 16, &crc, 4);
}

/* Damage the checksums cannot see (as if written wrong, or a crafted file): each byte of the
 * index flipped with the index checksum fixed; each byte of each page flipped with the page
 * checksum in the index and the index checksum fixed. Opening may fail or succeed, reads may
 * fail or succeed, but cleanly. */
static void test_damage_behind_valid_checksums(void **state) {
    (void)state;
    static const uint32_t rows[] = {4, 20, 1, 4097};
    struct dmg d;
    dmg_setup(&d, rows, 4, false);
    char *copy = xmalloc(d.size);
    size_t ioff, ilen;
    index_region(d.data, d.size, &ioff, &ilen);
    int opened;
    size_t opens = 0;
    for (size_t pos = ioff; pos < ioff + ilen; pos++) {
        for (int m = 0; m < 3; m++) {
            memcpy(copy, d.data, d.size);
            copy[pos] ^= (char)(m == 0 ? 0x01 : m == 1 ? 0x40 : 0xff);
            fix_index_crc(copy, d.size);
            tu_write_file(d.bad, copy, d.size);
            read_everything(d.bad, &opened);
            opens += (size_t)opened;
        }
    }
    /* pages: the reader of the intact file says where they are */
    cf_reader *r;
    err e;
    assert_int_equal(cf_open(d.orig, &r, &e), 0);
    size_t pages = 0, page_errors = 0;
    trng rg = {17};
    arena *a = arena_new(0);
    for (size_t i = 0; i < cf_nseries(r); i++) {
        const cf_series *s = cf_series_at(r, i, a);
        for (uint32_t c = 0; c < s->nchunks; c++) {
            const cf_chunk *ch = &s->chunks[c];
            for (int k = -1; k < (int)ch->ncols; k++) {
                uint64_t off = k < 0 ? ch->ts_off : ch->cols[k].off;
                uint32_t len = k < 0 ? ch->ts_len : ch->cols[k].len;
                uint32_t crc = k < 0 ? ch->ts_crc : ch->cols[k].crc;
                /* where the page checksum sits in the index */
                char *at = memmem(d.data + ioff, ilen, &crc, 4);
                assert_non_null(at);
                if (memmem(at + 1, (size_t)(d.data + ioff + ilen - at - 1), &crc, 4)) continue;
                size_t crc_pos = (size_t)(at - d.data);
                pages++;
                /* every byte of small pages, a sample of big ones */
                size_t step = len > 300 ? len / 300 : 1;
                for (size_t p = 0; p < len; p += step) {
                    memcpy(copy, d.data, d.size);
                    size_t at_byte = (size_t)off + p;
                    copy[at_byte] ^= (char)(1u << (tr_next(&rg) % 8));
                    if (tr_next(&rg) % 4 == 0) copy[at_byte] = (char)tr_next(&rg);
                    uint32_t ncrc = (uint32_t)XXH3_64bits(copy + off, len);
                    memcpy(copy + crc_pos, &ncrc, 4);
                    fix_index_crc(copy, d.size);
                    tu_write_file(d.bad, copy, d.size);
                    int fails = read_everything(d.bad, &opened);
                    assert_int_equal(opened, 1);
                    page_errors += fails > 0;
                }
            }
        }
    }
    arena_free(a);
    cf_release(r);
    assert_true(pages > 20);
    /* Most header and bitmap damage is caught by the format checks; print for the record. */
    print_message("      index variants opened: %zu of %zu, page variants with an error: %zu\n",
                  opens, ilen * 3, page_errors);
    free(copy);
    dmg_teardown(&d);
}

/* A page whose header says fewer NULLs than its bitmap has (checksums valid) must not make the
 * reader spread values outside its buffer. */
static void test_null_count_bitmap_mismatch(void **state) {
    (void)state;
    char *dir = tu_tmpdir("cf");
    char path[512];
    snprintf(path, sizeof path, "%s/n.col", dir);
    enum { N = 16 };
    int64_t ts[N], iv[N];
    uint8_t valid[2] = {0, 0};
    for (int i = 0; i < N; i++) {
        ts[i] = i;
        iv[i] = 100 + i;
    }
    for (int i = 0; i < N; i += 2) bitmap_set(valid, (uint32_t)i); /* 8 valid, 8 NULL */
    vec v = {.type = VT_I64, .len = N, .valid = valid, .d.i64 = iv};
    cf_col c = {.col_id = 1, .type = VT_I64, .codec = CODEC_USE_PLAIN, .v = &v};
    err e;
    cf_writer *w;
    assert_int_equal(cf_writer_open(path, &w, &e), 0);
    assert_int_equal(cf_writer_add(w, 1, 1, N, ts, 1, &c, &e), 0);
    assert_int_equal(cf_writer_finish(w, &e), 0);
    size_t size;
    char *data = tu_read_file(path, &size);
    cf_reader *r;
    assert_int_equal(cf_open(path, &r, &e), 0);
    arena *ia = arena_new(0);
    const cf_colref *cr = &cf_find(r, 1, ia)->chunks[0].cols[0];
    uint64_t off = cr->off;
    uint32_t len = cr->len, crc = cr->crc;
    arena_free(ia);
    cf_release(r);
    /* page: fmt 1, rows 16, nulls 8, 2 bitmap bytes, block */
    assert_int_equal((unsigned char)data[off], 1);
    assert_int_equal((unsigned char)data[off + 1], N);
    assert_int_equal((unsigned char)data[off + 2], 8);
    size_t ioff, ilen;
    index_region(data, size, &ioff, &ilen);
    char *crc_at = memmem(data + ioff, ilen, &crc, 4);
    assert_non_null(crc_at);
    static const uint8_t bitmaps[][2] = {
        {0xff, 0xff}, {0xff, 0x01}, {0x00, 0x00}, {0x01, 0x00}, {0x55, 0x57}};
    for (size_t b = 0; b < sizeof bitmaps / sizeof bitmaps[0]; b++) {
        char *copy = xmalloc(size);
        memcpy(copy, data, size);
        memcpy(copy + off + 3, bitmaps[b], 2);
        uint32_t ncrc = (uint32_t)XXH3_64bits(copy + off, len);
        memcpy(copy + (crc_at - data), &ncrc, 4);
        fix_index_crc(copy, size);
        tu_write_file(path, copy, size);
        assert_int_equal(cf_open(path, &r, &e), 0);
        arena *a = arena_new(0);
        vec got;
        err_clear(&e);
        int rc = cf_read_col(r, &cf_find(r, 1, a)->chunks[0], 1, VT_I64, a, &got, &e);
        /* the bitmap must agree with the NULL count; otherwise a clear error */
        assert_int_equal(rc, -1);
        assert_clear_error(&e);
        arena_free(a);
        cf_release(r);
        free(copy);
    }
    free(data);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_chunk_boundaries),
        cmocka_unit_test(test_roundtrip_many_series),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_empty_columns),
        cmocka_unit_test(test_extreme_timestamps),
        cmocka_unit_test(test_read_col_range),
        cmocka_unit_test(test_ts_window),
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_flip_every_byte_small),
        cmocka_unit_test(test_flip_sampled_big),
        cmocka_unit_test(test_damage_behind_valid_checksums),
        cmocka_unit_test(test_null_count_bitmap_mismatch),
    };
    return cmocka_run_group_tests_name("colfile", tests, NULL, NULL);
}
