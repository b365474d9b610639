/* Unit tests for memcaches (src/storage/memcache.c) and vnodes (src/storage/vnode.c).
 *
 * Every check compares against a reference model of the rows: (series, time) → the newest value
 * of each field, where a write replaces only the fields it names (last write wins) and a
 * DELETE removes whole rows. Covered: memcache reads of in-order, out-of-order and duplicate
 * timestamps, deletes, dropped series, type conflicts, strings outliving the cache; vnode flush
 * (reads from the files equal reads from the cache, before and after reopening), compaction
 * across files and levels keeping the newest write per field, tombstones hiding rows of older
 * sources only (and compaction applying them), versions acquired before a compaction staying
 * readable until released (and the old files deleted then), leftovers of an interrupted
 * flush/compaction deleted at open, damaged manifests refused, dropped tables' rows removed by
 * flush and compaction, dropped vnodes removed when the last reader leaves, and readers running
 * beside flushes and compactions.
 *
 * Every test works in its own mkdtemp directory under /tmp and removes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "storage/colfile.h"
#include "storage/memcache.h"
#include "storage/vnode.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Names of the column files in dir (sorted), as one space-separated string. */
static void list_files(const char *dir, char *out, size_t cap, size_t *count) {
    char names[64][64];
    size_t n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && n < 64 && strlen(de->d_name) < 64)
            memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
    closedir(d);
    qsort(names, n, 64, (int (*)(const void *, const void *))strcmp);
    out[0] = 0;
    size_t cols = 0;
    for (size_t i = 0; i < n; i++) {
        strncat(out, names[i], cap - strlen(out) - 2);
        strcat(out, " ");
        cols += strstr(names[i], ".col") != NULL;
    }
    if (count) *count = cols;
}

/* ---- the reference model ------------------------------------------------------------------ */

#define NSID 6
#define TSPAN 12000
#define NF 5

enum { F_F64 = 1, F_I64 = 2, F_STR = 4, F_BOOL = 8, F_U64 = 16, F_ALL = 31 };

static const uint32_t COL_IDS[NF + 1] = {1, 2, 3, 4, 5, 99};
static const uint8_t COL_TYPES[NF + 1] = {VT_F64, VT_I64, VT_STR, VT_BOOL, VT_U64, VT_F64};

struct mrow {
    uint8_t present;
    uint8_t valid; /* bit f: field f has a value */
    uint32_t gen[NF];
};

typedef struct model {
    struct mrow r[NSID][TSPAN];
} model;

static double v_f64(uint32_t sid, int64_t ts, uint32_t gen) {
    return (double)gen * 1e6 + (double)ts * 0.25 + sid;
}
static int64_t v_i64(uint32_t sid, int64_t ts, uint32_t gen) {
    return (int64_t)gen * -1000003 + ts - sid;
}
static uint64_t v_u64(uint32_t sid, int64_t ts, uint32_t gen) {
    return (uint64_t)gen * 0x10000000001ull + (uint64_t)ts + sid;
}
static bool v_bool(uint32_t sid, int64_t ts, uint32_t gen) {
    return ((uint64_t)gen + (uint64_t)ts + sid) & 1;
}
static size_t v_str(char *out, uint32_t sid, int64_t ts, uint32_t gen) {
    if (gen % 5 == 0) return 0; /* empty strings too */
    return (size_t)sprintf(out, "s%u.%u.%lld", sid, gen, (long long)ts);
}

/* Appends one row to a cache and to the model. */
static void put(memcache *m, model *md, uint32_t sid, int64_t ts, unsigned mask, uint32_t gen) {
    mc_val vals[NF];
    char sbuf[64];
    uint32_t n = 0;
    /* the order of values varies with the row so the cache's column hint is exercised */
    for (uint32_t k = 0; k < NF; k++) {
        uint32_t f = (k + (uint32_t)ts) % NF;
        if (!(mask & (1u << f))) continue;
        mc_val *v = &vals[n++];
        v->col_id = COL_IDS[f];
        v->type = COL_TYPES[f];
        switch (f) {
        case 0:
            v->v.f = v_f64(sid, ts, gen);
            break;
        case 1:
            v->v.i = v_i64(sid, ts, gen);
            break;
        case 2:
            v->v.s = (strv){sbuf, (uint32_t)v_str(sbuf, sid, ts, gen)};
            break;
        case 3:
            v->v.b = v_bool(sid, ts, gen);
            break;
        case 4:
            v->v.u = v_u64(sid, ts, gen);
            break;
        }
    }
    mc_append(m, sid, ts, vals, n);
    if (!md) return;
    struct mrow *r = &md->r[sid][ts];
    r->present = 1;
    for (uint32_t f = 0; f < NF; f++)
        if (mask & (1u << f)) {
            r->valid |= (uint8_t)(1u << f);
            r->gen[f] = gen;
        }
}

static void model_delete(model *md, uint32_t sid, int64_t tmin, int64_t tmax) {
    for (int64_t t = tmin < 0 ? 0 : tmin; t <= tmax && t < TSPAN; t++)
        memset(&md->r[sid][t], 0, sizeof md->r[sid][t]);
}

/* Compares rows read for sid in [tmin, tmax] (columns COL_IDS[0..ncols)) with the model. */
static void check_rows(const mc_rows *r, const model *md, uint32_t sid, int64_t tmin, int64_t tmax,
                       uint32_t ncols, const char *where) {
    if (sid >= NSID) { /* outside the model: nothing was written */
        assert_int_equal(r->n, 0);
        return;
    }
    uint32_t k = 0;
    for (int64_t t = tmin < 0 ? 0 : tmin; t <= tmax && t < TSPAN; t++) {
        const struct mrow *m = &md->r[sid][t];
        if (!m->present) continue;
        if (k >= r->n)
            fail_msg("%s: sid %u: row ts %lld missing (got %u rows)", where, sid, (long long)t,
                     r->n);
        if (r->ts[k] != t)
            fail_msg("%s: sid %u: row %u has ts %lld, expected %lld", where, sid, k,
                     (long long)r->ts[k], (long long)t);
        for (uint32_t c = 0; c < ncols; c++) {
            const vec *v = &r->cols[c];
            assert_int_equal(v->len, r->n);
            bool want = c < NF && (m->valid >> c) & 1;
            if (vec_is_valid(v, k) != want)
                fail_msg("%s: sid %u ts %lld col %u: valid %d, expected %d", where, sid,
                         (long long)t, COL_IDS[c], vec_is_valid(v, k), want);
            if (!want) continue;
            uint32_t g = m->gen[c];
            switch (c) {
            case 0:
                assert_true(v->d.f64[k] == v_f64(sid, t, g));
                break;
            case 1:
                if (v->d.i64[k] != v_i64(sid, t, g))
                    fail_msg("%s: sid %u ts %lld: i64 %lld, expected gen %u", where, sid,
                             (long long)t, (long long)v->d.i64[k], g);
                break;
            case 2: {
                char s[64];
                size_t n = v_str(s, sid, t, g);
                assert_int_equal(v->d.s[k].len, n);
                if (n) assert_memory_equal(v->d.s[k].p, s, n);
                break;
            }
            case 3:
                assert_int_equal(v->d.b[k], v_bool(sid, t, g));
                break;
            case 4:
                assert_int_equal(v->d.u64[k], v_u64(sid, t, g));
                break;
            }
        }
        k++;
    }
    if (k != r->n) fail_msg("%s: sid %u: %u rows, expected %u", where, sid, r->n, k);
}

static void check_cache(memcache *m, const model *md, uint32_t sid, int64_t tmin, int64_t tmax,
                        const char *where) {
    arena *a = arena_new(0);
    mc_rows r;
    assert_int_equal(mc_read(m, sid, tmin, tmax, NF + 1, COL_IDS, COL_TYPES, a, &r), 0);
    check_rows(&r, md, sid, tmin, tmax, NF + 1, where);
    arena_free(a);
}

static void check_version(vversion *vv, const model *md, const tomb_set *tombs, trng *rg,
                          const char *where) {
    arena *a = arena_new(0);
    err e;
    for (uint32_t sid = 0; sid < NSID; sid++) {
        for (int q = 0; q < 4; q++) {
            int64_t lo = INT64_MIN, hi = INT64_MAX;
            if (q > 0) {
                lo = (int64_t)(tr_next(rg) % TSPAN);
                hi = lo + (int64_t)(tr_next(rg) % (q == 1 ? 50 : TSPAN));
            }
            if (q == 3) lo = hi = (int64_t)(tr_next(rg) % TSPAN); /* a single timestamp */
            mc_rows r;
            arena_reset(a);
            err_clear(&e);
            if (vversion_read(vv, sid, lo, hi, NF + 1, COL_IDS, COL_TYPES, tombs, a, &r, &e) < 0)
                fail_msg("%s: read: %s", where, e.msg);
            check_rows(&r, md, sid, lo, hi, NF + 1, where);
        }
    }
    arena_free(a);
}

static void check_vnode(vnode *v, const model *md, const tomb_set *tombs, const char *where) {
    trng rg = {42};
    vversion *vv = vnode_acquire(v);
    check_version(vv, md, tombs, &rg, where);
    vversion_release(vv);
}

/* ---- environment for flush and compaction ------------------------------------------------- */

struct tctx {
    bool dead[4]; /* tables 1..3 */
    int syncs;
    bool fail_sync;
};

static uint8_t t_codec(void *ctx, uint64_t table_id, uint32_t col_id) {
    (void)ctx, (void)table_id;
    return col_id == 2 ? 2 /* DELTA */ : 0;
}
static bool t_live(void *ctx, uint64_t table_id) {
    struct tctx *c = ctx;
    return table_id > 3 || !c->dead[table_id];
}
/* even series belong to table 1, odd ones to table 2 */
static bool t_series_table(void *ctx, uint32_t sid, uint64_t *table_id) {
    (void)ctx;
    *table_id = 1 + sid % 2;
    return true;
}
static int t_sync(void *ctx, err *e) {
    struct tctx *c = ctx;
    c->syncs++;
    if (c->fail_sync) return err_set(e, 500, EC_STORAGE, "sync failed (test)");
    return 0;
}

static vnode_env mkenv(struct tctx *c) {
    vnode_env env = {t_codec, t_live, t_series_table, t_sync, c, {NULL, 0}};
    return env;
}

static vnode *vopen(const char *dir) {
    vnode *v;
    err e;
    err_clear(&e);
    if (vnode_open(dir, 3, 0, 0, 1000000, &v, &e) < 0) fail_msg("vnode_open: %s", e.msg);
    assert_int_equal(vnode_bucket(v), 3);
    assert_int_equal(vnode_shard(v), 0);
    assert_int_equal(vnode_tmin(v), 0);
    assert_int_equal(vnode_tmax(v), 1000000);
    return v;
}

static void flush(vnode *v, const vnode_env *env) {
    err e;
    assert_true(vnode_freeze(v));
    err_clear(&e);
    int rc = vnode_flush_one(v, env, &e);
    if (rc != 1) fail_msg("flush: %d %s", rc, e.msg);
    assert_int_equal(vnode_pending(v), 0);
}

static size_t nfiles(vnode *v) {
    size_t f;
    uint64_t b;
    vnode_disk_usage(v, &f, &b);
    return f;
}

/* One batch of writes as one WAL record would be: rows then the record's LSN. */
static void wbatch(vnode *v, model *md, uint64_t lsn, uint32_t sid, int64_t t0, int64_t n,
                   int64_t step, unsigned mask, uint32_t gen) {
    memcache *m = vnode_active(v);
    for (int64_t i = 0; i < n; i++) put(m, md, sid, t0 + i * step, mask, gen);
    mc_note_lsn(m, lsn);
}

/* ---- memcache ----------------------------------------------------------------------------- */

static void test_mc_in_order(void **state) {
    (void)state;
    model *md = xcalloc(1, sizeof *md);
    memcache *m = mc_new();
    assert_int_equal(mc_row_count(m), 0);
    int64_t lo, hi;
    assert_false(mc_time_range(m, &lo, &hi));
    size_t b0 = mc_bytes(m);
    for (int64_t t = 10; t < 10000; t += 3) put(m, md, 3, t, F_ALL, 1);
    for (int64_t t = 0; t < 5000; t++) put(m, md, 1, t, F_F64 | F_STR, 2);
    assert_true(mc_bytes(m) > b0 + 10000 * 8);
    assert_int_equal(mc_row_count(m), 3330 + 5000);
    assert_true(mc_time_range(m, &lo, &hi));
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 9997);
    check_cache(m, md, 3, INT64_MIN, INT64_MAX, "all");
    check_cache(m, md, 3, 100, 200, "range");
    check_cache(m, md, 3, 100, 100, "no row at 100");
    check_cache(m, md, 3, 103, 103, "one row");
    check_cache(m, md, 3, 9997, INT64_MAX, "last");
    check_cache(m, md, 3, 20000, 30000, "after");
    check_cache(m, md, 3, 200, 100, "empty range");
    check_cache(m, md, 1, 4095, 4097, "sid 1");
    check_cache(m, md, 2, INT64_MIN, INT64_MAX, "absent sid");
    check_cache(m, md, 1000000, INT64_MIN, INT64_MAX, "sid beyond the table");
    assert_true(mc_has_series(m, 1));
    assert_false(mc_has_series(m, 2));
    assert_false(mc_has_series(m, 99999));
    arena *a = arena_new(0);
    uint32_t *sids;
    size_t n = mc_sids(m, a, &sids);
    assert_int_equal(n, 2);
    assert_int_equal(sids[0], 1);
    assert_int_equal(sids[1], 3);
    uint32_t *ids;
    uint8_t *types;
    uint32_t nc = mc_series_cols(m, 1, a, &ids, &types);
    assert_int_equal(nc, 2);
    for (uint32_t i = 0; i < nc; i++)
        assert_true((ids[i] == 1 && types[i] == VT_F64) || (ids[i] == 3 && types[i] == VT_STR));
    assert_int_equal(mc_series_cols(m, 2, a, &ids, &types), 0);
    /* LSNs */
    assert_int_equal(mc_min_lsn(m), 0);
    mc_note_lsn(m, 7);
    mc_note_lsn(m, 5);
    mc_note_lsn(m, 9);
    assert_int_equal(mc_min_lsn(m), 5);
    assert_int_equal(mc_max_lsn(m), 9);
    arena_free(a);
    mc_release(m);
    free(md);
}

/* Out-of-order and repeated timestamps with different field subsets: one row per timestamp,
 * each field from the latest write that named it. */
static void test_mc_out_of_order_lww(void **state) {
    (void)state;
    model *md = xcalloc(1, sizeof *md);
    memcache *m = mc_new();
    trng r = {5};
    for (uint32_t gen = 1; gen <= 20000; gen++) {
        uint32_t sid = (uint32_t)(tr_next(&r) % 3);
        int64_t ts = (int64_t)(tr_next(&r) % 3000);
        unsigned mask = (unsigned)(tr_next(&r) % 32);
        put(m, md, sid, ts, mask, gen);
    }
    /* a series that is in order except for one exact duplicate at the end */
    for (int64_t t = 0; t < 100; t++) put(m, md, 4, t, F_ALL, 1);
    put(m, md, 4, 99, F_I64, 2);
    /* and one whose only disorder is a duplicate in the middle of the stream */
    put(m, md, 5, 1, F_F64, 1);
    put(m, md, 5, 1, F_STR, 2);
    put(m, md, 5, 2, F_BOOL, 3);
    for (uint32_t sid = 0; sid < NSID; sid++) {
        check_cache(m, md, sid, INT64_MIN, INT64_MAX, "ooo all");
        check_cache(m, md, sid, 1000, 1100, "ooo range");
        check_cache(m, md, sid, 2999, 2999, "ooo last");
    }
    /* the merged row of sid 5 ts 1: f64 from gen 1, string from gen 2 */
    arena *a = arena_new(0);
    mc_rows rows;
    assert_int_equal(mc_read(m, 5, 1, 1, NF, COL_IDS, COL_TYPES, a, &rows), 0);
    assert_int_equal(rows.n, 1);
    assert_true(vec_is_valid(&rows.cols[0], 0));
    assert_true(vec_is_valid(&rows.cols[2], 0));
    assert_false(vec_is_valid(&rows.cols[1], 0));
    arena_free(a);
    mc_release(m);
    free(md);
}

static void test_mc_delete(void **state) {
    (void)state;
    model *md = xcalloc(1, sizeof *md);
    memcache *m = mc_new();
    /* sid 0 in order, sid 1 out of order with duplicates */
    for (int64_t t = 0; t < 1000; t++) put(m, md, 0, t, F_ALL, 1);
    trng r = {9};
    for (uint32_t g = 1; g < 3000; g++)
        put(m, md, 1, (int64_t)(tr_next(&r) % 1000), (unsigned)(tr_next(&r) % 32), g);
    size_t before = mc_row_count(m);
    mc_delete(m, 0, 100, 199); /* inclusive bounds */
    model_delete(md, 0, 100, 199);
    assert_int_equal(mc_row_count(m), before - 100);
    mc_delete(m, 1, 500, 500);
    model_delete(md, 1, 500, 500);
    mc_delete(m, 1, 900, INT64_MAX);
    model_delete(md, 1, 900, TSPAN);
    mc_delete(m, 0, 5000, 6000); /* nothing there */
    mc_delete(m, 2, 0, 10);      /* no such series */
    mc_delete(m, 99999, 0, 10);  /* beyond the table */
    for (uint32_t sid = 0; sid < 2; sid++) {
        check_cache(m, md, sid, INT64_MIN, INT64_MAX, "after delete");
        check_cache(m, md, sid, 90, 210, "around the hole");
    }
    /* writes after the delete, also into the deleted range, are kept */
    put(m, md, 0, 150, F_I64, 5);
    put(m, md, 0, 1500, F_F64, 5);
    put(m, md, 1, 500, F_STR, 6);
    check_cache(m, md, 0, INT64_MIN, INT64_MAX, "rewritten");
    check_cache(m, md, 1, INT64_MIN, INT64_MAX, "rewritten ooo");
    /* deleting everything empties the series */
    mc_delete(m, 0, INT64_MIN, INT64_MAX);
    model_delete(md, 0, 0, TSPAN);
    check_cache(m, md, 0, INT64_MIN, INT64_MAX, "all deleted");
    assert_false(mc_has_series(m, 0));
    arena *a = arena_new(0);
    uint32_t *sids;
    assert_int_equal(mc_sids(m, a, &sids), 1);
    arena_free(a);
    /* and it takes rows again */
    put(m, md, 0, 3, F_BOOL, 7);
    check_cache(m, md, 0, INT64_MIN, INT64_MAX, "after emptying");
    mc_release(m);
    free(md);
}

static void test_mc_drop_and_types(void **state) {
    (void)state;
    model *md = xcalloc(1, sizeof *md);
    memcache *m = mc_new();
    for (int64_t t = 0; t < 100; t++) {
        put(m, md, 0, t, F_ALL, 1);
        put(m, md, 1, t, F_ALL, 1);
        put(m, md, 2, t, F_ALL, 1);
    }
    uint32_t drop[] = {0, 2, 77777};
    mc_drop_series(m, drop, 3);
    memset(md->r[0], 0, sizeof md->r[0]);
    memset(md->r[2], 0, sizeof md->r[2]);
    assert_int_equal(mc_row_count(m), 100);
    for (uint32_t sid = 0; sid < 3; sid++) check_cache(m, md, sid, INT64_MIN, INT64_MAX, "dropped");
    /* a value whose type differs from the column's is ignored; the row still exists */
    mc_val bad = {.col_id = 1, .type = VT_I64, .v.i = 5};
    mc_append(m, 1, 1000, &bad, 1);
    md->r[1][1000 % TSPAN].present = 0; /* not representable in the model: check by hand */
    arena *a = arena_new(0);
    mc_rows r;
    assert_int_equal(mc_read(m, 1, 1000, 1000, NF, COL_IDS, COL_TYPES, a, &r), 0);
    assert_int_equal(r.n, 1);
    for (uint32_t c = 0; c < NF; c++) assert_false(vec_is_valid(&r.cols[c], 0));
    /* reading a column with another type than stored gives NULLs */
    uint32_t id = 2;
    uint8_t ty = VT_F64;
    assert_int_equal(mc_read(m, 1, 0, 10, 1, &id, &ty, a, &r), 0);
    assert_int_equal(r.n, 11);
    for (uint32_t i = 0; i < r.n; i++) assert_false(vec_is_valid(&r.cols[0], i));
    arena_free(a);
    mc_release(m);
    free(md);
}

/* What a reader got stays valid after the cache is gone (flushed and released). */
static void test_mc_strings_outlive_cache(void **state) {
    (void)state;
    model *md = xcalloc(1, sizeof *md);
    memcache *m = mc_new();
    for (int64_t t = 0; t < 3000; t++) put(m, md, 0, 2999 - t, F_STR, 1 + (uint32_t)t % 4);
    mc_retain(m);
    mc_release(m);
    arena *a = arena_new(0);
    mc_rows r;
    assert_int_equal(mc_read(m, 0, INT64_MIN, INT64_MAX, NF, COL_IDS, COL_TYPES, a, &r), 0);
    mc_release(m);
    check_rows(&r, md, 0, INT64_MIN, INT64_MAX, NF, "after release");
    arena_free(a);
    free(md);
}

/* ---- vnodes ------------------------------------------------------------------------------- */

/* Rows read from files equal rows read from the cache they came from; reopening changes
 * nothing; flushed LSN and unflushed LSN follow. */
static void test_flush_equals_cache(void **state) {
    (void)state;
    char *dir = tu_tmpdir("vn");
    model *md = xcalloc(1, sizeof *md);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    assert_int_equal(vnode_flushed_lsn(v), 0);
    assert_int_equal(vnode_min_unflushed_lsn(v), UINT64_MAX);
    assert_false(vnode_freeze(v)); /* nothing to freeze */
    err e;
    assert_int_equal(vnode_flush_one(v, &env, &e), 0);
    trng r = {11};
    uint64_t lsn = 100;
    /* sid 0: more than two chunks in order; others: random with duplicates and subsets */
    wbatch(v, md, lsn++, 0, 0, 9000, 1, F_ALL, 1);
    for (uint32_t g = 2; g < 6000; g++) {
        memcache *m = vnode_active(v);
        put(m, md, 1 + (uint32_t)(tr_next(&r) % 5), (int64_t)(tr_next(&r) % TSPAN),
            (unsigned)(tr_next(&r) % 32), g);
        if (g % 100 == 0) mc_note_lsn(m, lsn++);
    }
    mc_note_lsn(vnode_active(v), lsn);
    assert_int_equal(vnode_min_unflushed_lsn(v), 100);
    assert_true(vnode_mem_bytes(v) > 9000 * 8);
    check_vnode(v, md, NULL, "cache");
    assert_true(vnode_freeze(v));
    assert_int_equal(vnode_pending(v), 1);
    assert_int_equal(mc_row_count(vnode_active(v)), 0);
    check_vnode(v, md, NULL, "frozen");
    assert_int_equal(vnode_flush_one(v, &env, &e), 1);
    assert_int_equal(vnode_pending(v), 0);
    assert_true(c.syncs >= 1); /* series made durable before the file refers to them */
    assert_int_equal(nfiles(v), 1);
    assert_int_equal(vnode_flushed_lsn(v), lsn);
    assert_int_equal(vnode_min_unflushed_lsn(v), UINT64_MAX);
    check_vnode(v, md, NULL, "file");
    /* the streaming fast path sees the single file */
    arena *pa = arena_new(0);
    vversion *vv = vnode_acquire(v);
    vpiece *pc;
    assert_int_equal(vversion_pieces(vv, 0, INT64_MIN, INT64_MAX, NULL, pa, &pc), 1);
    assert_non_null(pc[0].file);
    assert_null(pc[0].mem);
    assert_int_equal(pc[0].series->nchunks, 3);
    assert_int_equal(vversion_pieces(vv, 0, 20000, 30000, NULL, pa, &pc), 0); /* no row there */
    vversion_release(vv);
    /* a cache row after the file's rows: two pieces in time order */
    wbatch(v, md, ++lsn, 0, 9000, 1, 1, F_I64, 2);
    vv = vnode_acquire(v);
    assert_int_equal(vversion_pieces(vv, 0, INT64_MIN, INT64_MAX, NULL, pa, &pc), 2);
    assert_non_null(pc[0].file);
    assert_non_null(pc[1].mem);
    assert_int_equal(pc[1].lo, 9000);
    assert_int_equal(pc[1].hi, 9000);
    assert_int_equal(vversion_pieces(vv, 0, 0, 8999, NULL, pa, &pc), 1);
    vversion_release(vv);
    /* a cache row among the file's rows: a merge is needed */
    struct mrow saved = md->r[0][5];
    wbatch(v, md, lsn, 0, 5, 1, 1, F_I64, 3);
    vv = vnode_acquire(v);
    assert_int_equal(vversion_pieces(vv, 0, INT64_MIN, INT64_MAX, NULL, pa, &pc), -1);
    vversion_release(vv);
    check_vnode(v, md, NULL, "file + cache");
    arena_free(pa);
    vnode_close(v);
    /* reopening: the file, its LSN, and (the cache being gone) the rows without the last ones */
    model_delete(md, 0, 9000, 9000);
    md->r[0][5] = saved;
    v = vopen(dir);
    assert_int_equal(vnode_flushed_lsn(v), lsn - 1);
    check_vnode(v, md, NULL, "reopened");
    /* new files do not collide with old ones */
    wbatch(v, md, lsn + 1, 2, 5, 10, 1, F_ALL, 99);
    flush(v, &env);
    assert_int_equal(nfiles(v), 2);
    check_vnode(v, md, NULL, "second file");
    vnode_close(v);
    v = vopen(dir);
    check_vnode(v, md, NULL, "reopened twice");
    assert_int_equal(vnode_flushed_lsn(v), lsn + 1);
    vnode_close(v);
    free(md);
    tu_rmdir(dir);
}

/* The same (series, time) written in several flushes with different field subsets: reads
 * merge them newest first, and compaction into levels 1, 2, 3 keeps exactly that. */
static void test_compaction_newest_wins(void **state) {
    (void)state;
    char *dir = tu_tmpdir("vn");
    model *md = xcalloc(1, sizeof *md);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    err e;
    uint64_t lsn = 1;
    trng r = {21};
    static const unsigned masks[] = {F_ALL, F_I64, F_STR | F_BOOL, F_F64, F_U64 | F_I64, 0};
    uint32_t gen = 1;
    /* 16 flushes → 4 level-0 compactions → 1 level-1 compaction */
    for (int round = 0; round < 16; round++) {
        /* the watched row: sid 3, ts 77, a different subset every flush */
        wbatch(v, md, lsn++, 3, 77, 1, 1, masks[round % 6], gen++);
        /* overlapping random rows */
        for (int i = 0; i < 400; i++)
            put(vnode_active(v), md, (uint32_t)(tr_next(&r) % NSID), (int64_t)(tr_next(&r) % 2000),
                (unsigned)(tr_next(&r) % 32), gen++);
        mc_note_lsn(vnode_active(v), lsn++);
        flush(v, &env);
        check_vnode(v, md, NULL, "before compaction");
        int rc;
        while ((rc = vnode_compact(v, &env, false, &e)) == 1) check_vnode(v, md, NULL, "compacted");
        assert_int_equal(rc, 0);
    }
    /* 16 flushes: four level-1 files merged into one level-2 file */
    assert_int_equal(nfiles(v), 1);
    /* level 0 files newer than a level 2 file win */
    for (int round = 0; round < 3; round++) {
        wbatch(v, md, lsn++, 3, 77, 1, 1, masks[(round + 1) % 6], gen++);
        for (int i = 0; i < 100; i++)
            put(vnode_active(v), md, (uint32_t)(tr_next(&r) % NSID), (int64_t)(tr_next(&r) % 2000),
                (unsigned)(tr_next(&r) % 32), gen++);
        mc_note_lsn(vnode_active(v), lsn++);
        flush(v, &env);
    }
    assert_int_equal(nfiles(v), 4);
    /* a cache on top of the files */
    wbatch(v, md, lsn++, 3, 77, 1, 1, F_BOOL, gen++);
    check_vnode(v, md, NULL, "levels + cache");
    /* a forced compaction merges everything into one file and loses nothing */
    assert_int_equal(vnode_compact(v, &env, true, &e), 1);
    assert_int_equal(nfiles(v), 1);
    check_vnode(v, md, NULL, "forced");
    assert_int_equal(vnode_compact(v, &env, true, &e), 0); /* one file, no tombstones */
    flush(v, &env);
    assert_int_equal(vnode_compact(v, &env, true, &e), 1);
    vnode_close(v);
    v = vopen(dir);
    check_vnode(v, md, NULL, "reopened after compactions");
    /* the watched row, spelled out: every field from the last write that named it */
    const struct mrow *w = &md->r[3][77];
    assert_int_equal(w->valid, F_ALL);
    vnode_close(v);
    free(md);
    tu_rmdir(dir);
}

/* Tombstones hide rows of sources older than their LSN (files and waiting caches), not rows
 * written after; compaction applies them for good. */
static void test_tombstones(void **state) {
    (void)state;
    char *dir = tu_tmpdir("vn");
    model *md = xcalloc(1, sizeof *md);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    err e;
    for (uint32_t sid = 0; sid < 4; sid++) wbatch(v, md, 10, sid, 0, 1000, 1, F_ALL, 1);
    flush(v, &env); /* file, data LSN 10 */
    for (uint32_t sid = 0; sid < 4; sid++) wbatch(v, md, 12, sid, 1000, 500, 1, F_I64, 2);
    assert_true(vnode_freeze(v));                /* a waiting cache, LSN 12 */
    wbatch(v, md, 13, 1, 1400, 50, 1, F_F64, 3); /* the active cache */
    /* DELETE at LSN 15 of sids 1 and 2, time [100, 1450]; the engine deletes what the active
     * cache holds at once */
    uint32_t tsids[] = {1, 2};
    tombstone t = {.lsn = 15, .table_id = 1, .tmin = 100, .tmax = 1450, .nsids = 2, .sids = tsids};
    tomb_set ts = {&t, 1};
    for (uint32_t i = 0; i < 2; i++) {
        mc_delete(vnode_active(v), tsids[i], t.tmin, t.tmax);
        model_delete(md, tsids[i], t.tmin, t.tmax);
    }
    mc_note_lsn(vnode_active(v), 15);
    assert_true(vnode_has_data_before(v, 15));
    assert_false(vnode_has_data_before(v, 10));
    /* writes after the delete, into the deleted range */
    wbatch(v, md, 16, 1, 200, 10, 1, F_STR, 4);
    wbatch(v, md, 16, 2, 1440, 20, 1, F_BOOL, 4);
    check_vnode(v, md, &ts, "tomb over file + imm + active");
    /* the fast path is refused where the tombstone could apply */
    vversion *vv = vnode_acquire(v);
    arena *pa = arena_new(0);
    vpiece *pc;
    assert_int_equal(vversion_pieces(vv, 1, 0, 50000, &ts, pa, &pc), -1);
    assert_int_equal(vversion_pieces(vv, 1, 3000, 50000, &ts, pa, &pc), 0);
    vversion_release(vv);
    arena_free(pa);
    /* flush both caches: the later file (LSN 16) is not subject to the tombstone */
    assert_int_equal(vnode_flush_one(v, &env, &e), 1);
    flush(v, &env);
    assert_int_equal(nfiles(v), 3);
    check_vnode(v, md, &ts, "tomb over files");
    vversion *old = vnode_acquire(v);
    /* a forced compaction with the tombstone removes the rows for good */
    env.tombs = ts;
    assert_int_equal(vnode_compact(v, &env, true, &e), 1);
    assert_int_equal(nfiles(v), 1);
    check_vnode(v, md, NULL, "compacted without tombstones");
    check_vnode(v, md, &ts, "compacted with tombstones");
    assert_false(vnode_has_data_before(v, 15)); /* the tombstone can go */
    /* the version from before the compaction still reads the old files correctly */
    trng rg = {3};
    check_version(old, md, &ts, &rg, "old version");
    vversion_release(old);
    /* with a single file, a forced compaction applies new tombstones too */
    uint32_t s3 = 3;
    tombstone t2 = {.lsn = 20, .table_id = 2, .tmin = 0, .tmax = 9, .nsids = 1, .sids = &s3};
    env.tombs = (tomb_set){&t2, 1};
    assert_int_equal(vnode_compact(v, &env, true, &e), 1);
    model_delete(md, 3, 0, 9);
    check_vnode(v, md, NULL, "second tombstone compacted");
    vnode_close(v);
    free(md);
    tu_rmdir(dir);
}

/* A version acquired before a compaction keeps reading the old files until it is released;
 * then they are deleted. */
static void test_version_survives_compaction(void **state) {
    (void)state;
    char *dir = tu_tmpdir("vn");
    model *md = xcalloc(1, sizeof *md);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    err e;
    for (int i = 0; i < 4; i++) {
        wbatch(v, md, (uint64_t)i + 1, (uint32_t)i, 0, 3000, 2, F_ALL, (uint32_t)i + 1);
        wbatch(v, md, (uint64_t)i + 1, 5, i * 10, 100, 1, (unsigned)(1 << i), (uint32_t)i + 1);
        flush(v, &env);
    }
    char before[4096], after[4096];
    size_t ncol;
    list_files(dir, before, sizeof before, &ncol);
    assert_int_equal(ncol, 4);
    vversion *old = vnode_acquire(v);
    assert_int_equal(vnode_compact(v, &env, false, &e), 1);
    assert_int_equal(nfiles(v), 1);
    /* all five files exist while the old version is held */
    list_files(dir, after, sizeof after, &ncol);
    assert_int_equal(ncol, 5);
    trng rg = {8};
    check_version(old, md, NULL, &rg, "old version");
    check_vnode(v, md, NULL, "new version");
    /* A version pins the set of files and caches, not the active cache's contents: rows
     * written now show in both. */
    model *snap = xmalloc(sizeof *snap);
    memcpy(snap, md, sizeof *md);
    wbatch(v, md, 9, 0, 1, 10, 2, F_STR, 50);
    check_version(old, md, NULL, &rg, "old version, new rows");
    check_vnode(v, md, NULL, "new version, new rows");
    vversion_release(old);
    list_files(dir, after, sizeof after, &ncol);
    assert_int_equal(ncol, 1);
    assert_null(strstr(after, "f-0000000000000001.col"));
    vnode_close(v);
    v = vopen(dir);
    memcpy(md, snap, sizeof *md); /* the unflushed rows are gone with the cache */
    check_vnode(v, md, NULL, "reopened");
    vnode_close(v);
    free(snap);
    free(md);
    tu_rmdir(dir);
}

/* Writes a column file with other values for sid 0 at the same timestamps: if a leftover file
 * were taken into account, reads would change. */
static void write_stray_file(const char *path) {
    enum { N = 50 };
    int64_t ts[N];
    double f[N];
    for (int i = 0; i < N; i++) {
        ts[i] = i;
        f[i] = -12345.0;
    }
    vec v = {.type = VT_F64, .len = N, .d.f64 = f};
    cf_col col = {.col_id = 1, .type = VT_F64, .v = &v};
    cf_writer *w;
    err e;
    assert_int_equal(cf_writer_open(path, &w, &e), 0);
    assert_int_equal(cf_writer_add(w, 0, 1, N, ts, 1, &col, &e), 0);
    assert_int_equal(cf_writer_finish(w, &e), 0);
}

/* A crash between writing a flush or compaction output and the MANIFEST leaves files the
 * manifest does not list: they are deleted at open and the data is what the manifest says. */
static void test_leftovers_removed(void **state) {
    (void)state;
    char *dir = tu_tmpdir("vn");
    model *md = xcalloc(1, sizeof *md);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    for (int i = 0; i < 3; i++) {
        wbatch(v, md, (uint64_t)i + 1, 0, 0, 100, 1, F_ALL, (uint32_t)i + 1);
        flush(v, &env);
    }
    vnode_close(v);
    char listed[4096];
    size_t ncol;
    list_files(dir, listed, sizeof listed, &ncol);
    assert_int_equal(ncol, 3);
    /* the output of a compaction that never reached the manifest (a newer id, and an id
     * beyond next_file), a half-written file, a manifest being replaced */
    char p[1024];
    snprintf(p, sizeof p, "%s/f-0000000000000004.col", dir);
    write_stray_file(p);
    snprintf(p, sizeof p, "%s/f-00000000000000ff.col", dir);
    write_stray_file(p);
    snprintf(p, sizeof p, "%s/f-0000000000000005.col.tmp", dir);
    write_stray_file(p);
    snprintf(p, sizeof p, "%s/MANIFEST.tmp", dir);
    FILE *fp = fopen(p, "w");
    fputs("00000000 {garbage", fp);
    fclose(fp);
    v = vopen(dir);
    char now[4096];
    list_files(dir, now, sizeof now, &ncol);
    assert_string_equal(now, listed);
    check_vnode(v, md, NULL, "after leftovers");
    /* and the next file id does not reuse a listed one */
    wbatch(v, md, 10, 1, 0, 10, 1, F_ALL, 9);
    flush(v, &env);
    assert_int_equal(nfiles(v), 4);
    vnode_close(v);
    v = vopen(dir);
    check_vnode(v, md, NULL, "after another flush");
    vnode_close(v);
    free(md);
    tu_rmdir(dir);
}

/* Without a MANIFEST (lost, or a first flush cut short before writing it) column files are set
 * aside, never deleted: a lost manifest must not take every file of the vnode with it. */
static void test_no_manifest_keeps_files(void **state) {
    (void)state;
    char *dir = tu_tmpdir("vn");
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    for (int i = 0; i < 2; i++) {
        wbatch(v, NULL, (uint64_t)i + 1, 0, i * 100, 100, 1, F_ALL, 1);
        flush(v, &env);
    }
    vnode_close(v);
    char p[1024];
    snprintf(p, sizeof p, "%s/MANIFEST", dir);
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof p, "%s/f-0000000000000003.col.tmp", dir);
    write_stray_file(p); /* a half-written file still goes */
    v = vopen(dir);
    assert_int_equal(nfiles(v), 0);
    assert_int_equal(tu_count_names(dir, "^f-[0-9a-f]\\{16\\}\\.col\\.orphan$"), 2);
    assert_false(tu_exists(p));
    /* flushing again works (ids restart) and leaves the set-aside files alone */
    wbatch(v, NULL, 3, 0, 0, 10, 1, F_ALL, 2);
    flush(v, &env);
    assert_int_equal(nfiles(v), 1);
    vnode_close(v);
    v = vopen(dir);
    assert_int_equal(nfiles(v), 1);
    assert_int_equal(tu_count_names(dir, "\\.orphan$"), 2);
    vnode_close(v);
    tu_rmdir(dir);
}

/* A damaged or inconsistent manifest is refused with a clear error, never half-read. */
static void test_manifest_damage(void **state) {
    (void)state;
    char *base = tu_tmpdir("vn");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/v", base);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    wbatch(v, NULL, 1, 0, 0, 10, 1, F_ALL, 1);
    flush(v, &env);
    vnode_close(v);
    char mp[1024];
    snprintf(mp, sizeof mp, "%s/MANIFEST", dir);
    FILE *f = fopen(mp, "rb");
    char orig[4096];
    size_t n = fread(orig, 1, sizeof orig, f);
    fclose(f);
    assert_true(n > 20);
    err e;
    for (size_t pos = 0; pos < n; pos++) {
        char copy[4096];
        memcpy(copy, orig, n);
        copy[pos] ^= 0x04;
        f = fopen(mp, "wb");
        fwrite(copy, 1, n, f);
        fclose(f);
        err_clear(&e);
        int rc = vnode_open(dir, 0, 0, 0, 10, &v, &e);
        if (rc == 0) {
            /* only a flip in the trailing newline can go unnoticed */
            assert_int_equal(pos, n - 1);
            vnode_close(v);
            continue;
        }
        assert_int_equal(e.http, 500);
        assert_string_equal(e.code, EC_STORAGE);
    }
    /* truncated manifests */
    for (size_t len = 0; len + 1 < n; len++) {
        f = fopen(mp, "wb");
        fwrite(orig, 1, len, f);
        fclose(f);
        err_clear(&e);
        assert_int_equal(vnode_open(dir, 0, 0, 0, 10, &v, &e), -1);
        assert_int_equal(e.http, 500);
    }
    /* a well-formed manifest with a level out of range */
    {
        const char *js = "{\"flushed_lsn\":1,\"next_file\":2,\"bucket\":0,\"shard\":0,"
                         "\"files\":[[1,7,1]]}";
        f = fopen(mp, "wb");
        fprintf(f, "%08x %s\n", (uint32_t)XXH3_64bits(js, strlen(js)), js);
        fclose(f);
        err_clear(&e);
        assert_int_equal(vnode_open(dir, 0, 0, 0, 10, &v, &e), -1);
        assert_int_equal(e.http, 500);
    }
    /* a listed file that is missing */
    f = fopen(mp, "wb");
    fwrite(orig, 1, n, f);
    fclose(f);
    char fp[1024];
    snprintf(fp, sizeof fp, "%s/f-0000000000000001.col", dir);
    char moved[1100];
    snprintf(moved, sizeof moved, "%s/moved", base);
    assert_int_equal(rename(fp, moved), 0);
    err_clear(&e);
    assert_int_equal(vnode_open(dir, 0, 0, 0, 10, &v, &e), -1);
    assert_int_equal(e.http, 500);
    assert_non_null(strstr(e.msg, "f-0000000000000001.col"));
    assert_int_equal(rename(moved, fp), 0);
    v = vopen(dir);
    vnode_close(v);
    tu_rmdir(base);
}

/* Rows of dropped tables: a flush leaves them out, a compaction drops them, and a forced
 * compaction frees them even when the vnode has a single file (DROP TABLE must free space). */
static void test_dropped_table_rows(void **state) {
    (void)state;
    char *dir = tu_tmpdir("vn");
    model *md = xcalloc(1, sizeof *md);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    err e;
    /* table 1: even sids, table 2: odd sids */
    for (uint32_t sid = 0; sid < 4; sid++) wbatch(v, md, 1, sid, 0, 100, 1, F_ALL, 1);
    flush(v, &env);
    for (uint32_t sid = 0; sid < 4; sid++) wbatch(v, md, 2, sid, 100, 100, 1, F_ALL, 2);
    assert_true(vnode_freeze(v));
    c.dead[2] = true; /* table 2 dropped */
    memset(md->r[1], 0, sizeof md->r[1]);
    memset(md->r[3], 0, sizeof md->r[3]);
    assert_int_equal(vnode_flush_one(v, &env, &e), 1);
    /* the new file holds table 1 only */
    vversion *vv = vnode_acquire(v);
    arena *pa = arena_new(0);
    vpiece *pc;
    assert_int_equal(vversion_pieces(vv, 1, 100, 199, NULL, pa, &pc), 0);
    assert_int_equal(vversion_pieces(vv, 0, 100, 199, NULL, pa, &pc), 1);
    assert_non_null(pc[0].file);
    vversion_release(vv);
    arena_free(pa);
    assert_int_equal(vnode_compact(v, &env, true, &e), 1);
    assert_int_equal(nfiles(v), 1);
    check_vnode(v, md, NULL, "table 2 compacted away");
    /* a single file with table 1 rows only: dropping table 1 too must free the file */
    c.dead[1] = true;
    memset(md, 0, sizeof *md);
    int rc = vnode_compact(v, &env, true, &e);
    assert_int_equal(rc, 1);
    assert_int_equal(nfiles(v), 0);
    check_vnode(v, md, NULL, "everything dropped");
    size_t ncol;
    char names[4096];
    list_files(dir, names, sizeof names, &ncol);
    assert_int_equal(ncol, 0);
    vnode_close(v);
    v = vopen(dir);
    assert_int_equal(nfiles(v), 0);
    vnode_close(v);
    free(md);
    tu_rmdir(dir);
}

/* A flush whose series cannot be made durable fails cleanly and can be retried. */
static void test_flush_failure_retry(void **state) {
    (void)state;
    char *dir = tu_tmpdir("vn");
    model *md = xcalloc(1, sizeof *md);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    err e;
    wbatch(v, md, 5, 0, 0, 100, 1, F_ALL, 1);
    assert_true(vnode_freeze(v));
    c.fail_sync = true;
    err_clear(&e);
    assert_int_equal(vnode_flush_one(v, &env, &e), -1);
    assert_true(e.msg[0] != 0);
    assert_int_equal(vnode_pending(v), 1);
    assert_int_equal(nfiles(v), 0);
    assert_int_equal(vnode_flushed_lsn(v), 0);
    check_vnode(v, md, NULL, "after failed flush");
    c.fail_sync = false;
    assert_int_equal(vnode_flush_one(v, &env, &e), 1);
    assert_int_equal(nfiles(v), 1);
    assert_int_equal(vnode_flushed_lsn(v), 5);
    check_vnode(v, md, NULL, "after retry");
    vnode_close(v);
    free(md);
    tu_rmdir(dir);
}

/* A dropped vnode's directory goes when the last reader leaves, not before. */
static void test_mark_dropped(void **state) {
    (void)state;
    char *base = tu_tmpdir("vn");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/vnode-0_10_0", base);
    model *md = xcalloc(1, sizeof *md);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    wbatch(v, md, 1, 0, 0, 100, 1, F_ALL, 1);
    flush(v, &env);
    wbatch(v, md, 2, 1, 0, 100, 1, F_ALL, 1);
    vversion *vv = vnode_acquire(v);
    vnode_mark_dropped(v);
    vnode_close(v);
    assert_true(tu_exists(dir));
    trng rg = {1};
    check_version(vv, md, NULL, &rg, "dropped but held");
    vversion_release(vv);
    assert_false(tu_exists(dir));
    /* closing without the mark keeps the directory */
    v = vopen(dir);
    vnode_close(v);
    assert_true(tu_exists(dir));
    free(md);
    tu_rmdir(base);
}

/* Readers beside flushes and compactions: every read sees all rows, whichever version. */
struct rdr {
    vnode *v;
    const model *md;
    atomic_int *stop;
    int reads;
};

static void *reader_main(void *arg) {
    struct rdr *r = arg;
    arena *a = arena_new(0);
    err e;
    while (!atomic_load(r->stop)) {
        vversion *vv = vnode_acquire(r->v);
        for (uint32_t sid = 0; sid < 3; sid++) {
            mc_rows rows;
            arena_reset(a);
            if (vversion_read(vv, sid, INT64_MIN, INT64_MAX, NF, COL_IDS, COL_TYPES, NULL, a, &rows,
                              &e) < 0) {
                fprintf(stderr, "read failed: %s\n", e.msg);
                abort();
            }
            /* the model is not written while readers run */
            uint32_t want = 0;
            for (int t = 0; t < TSPAN; t++) want += r->md->r[sid][t].present;
            if (rows.n != want) {
                fprintf(stderr, "sid %u: %u rows, expected %u\n", sid, rows.n, want);
                abort();
            }
        }
        vversion_release(vv);
        r->reads++;
    }
    arena_free(a);
    return NULL;
}

static void test_readers_during_flush_and_compaction(void **state) {
    (void)state;
    char *dir = tu_tmpdir("vn");
    model *md = xcalloc(1, sizeof *md);
    struct tctx c = {0};
    vnode_env env = mkenv(&c);
    vnode *v = vopen(dir);
    err e;
    /* eight frozen caches with overlapping rows, then flush and compact them under readers */
    for (int i = 0; i < 8; i++) {
        for (uint32_t sid = 0; sid < 3; sid++)
            wbatch(v, md, (uint64_t)i + 1, sid, i * 500, 1000, 1, (unsigned)(1 << (i % NF)),
                   (uint32_t)i + 1);
        assert_true(vnode_freeze(v));
    }
    atomic_int stop = 0;
    enum { R = 3 };
    struct rdr rd[R];
    pthread_t th[R];
    for (int i = 0; i < R; i++) {
        rd[i] = (struct rdr){v, md, &stop, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    while (vnode_flush_one(v, &env, &e) == 1)
        while (vnode_compact(v, &env, false, &e) == 1) {
        }
    assert_int_equal(vnode_compact(v, &env, true, &e), 1);
    usleep(20000);
    atomic_store(&stop, 1);
    for (int i = 0; i < R; i++) {
        pthread_join(th[i], NULL);
        assert_true(rd[i].reads > 0);
    }
    check_vnode(v, md, NULL, "after concurrent work");
    vnode_close(v);
    free(md);
    tu_rmdir(dir);
}

int main(void) {
    log_set_level(LOG_ERROR); /* leftovers removed, expected */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mc_in_order),
        cmocka_unit_test(test_mc_out_of_order_lww),
        cmocka_unit_test(test_mc_delete),
        cmocka_unit_test(test_mc_drop_and_types),
        cmocka_unit_test(test_mc_strings_outlive_cache),
        cmocka_unit_test(test_flush_equals_cache),
        cmocka_unit_test(test_compaction_newest_wins),
        cmocka_unit_test(test_tombstones),
        cmocka_unit_test(test_version_survives_compaction),
        cmocka_unit_test(test_leftovers_removed),
        cmocka_unit_test(test_no_manifest_keeps_files),
        cmocka_unit_test(test_manifest_damage),
        cmocka_unit_test(test_dropped_table_rows),
        cmocka_unit_test(test_flush_failure_retry),
        cmocka_unit_test(test_mark_dropped),
        cmocka_unit_test(test_readers_during_flush_and_compaction),
    };
    return cmocka_run_group_tests_name("vnode", tests, NULL, NULL);
}
