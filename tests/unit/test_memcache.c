/* Unit tests for the memcache's memory layout (src/storage/memcache.c); its semantics (last
 * write wins, deletes, dropped series, type conflicts, strings outliving the cache) are tested
 * against a reference model in test_vnode.c. Here: a series read back correctly at every size
 * while it grows from the slab into malloc'd arrays, with columns that appear while it is in
 * the slab and after it left; a first row wider than the slab's column table and than the
 * column index threshold; series ids far apart (the two-level series table); drop and delete
 * on series in the slab and out of it, and a dropped series written again; and the cost of a
 * one-row series, which is what a million new series pay; rows written out of order and again
 * (a reader sorts the series in place, then writes unsort it again) against a model. Leaks are
 * caught by ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "storage/memcache.h"
#include "util/arena.h"
#include "util/membudget.h"

static int64_t ival(uint32_t sid, int64_t ts, uint32_t col) {
    return (int64_t)sid * 1000003 + ts * 31 + col;
}

/* Appends a row of sid at ts with BIGINT columns 1..ncols, and, when str, a STRING column 1000. */
static void put(memcache *m, uint32_t sid, int64_t ts, uint32_t ncols, bool str) {
    mc_val vals[64];
    char s[32];
    uint32_t n = 0;
    for (uint32_t c = 1; c <= ncols; c++)
        vals[n++] = (mc_val){.col_id = c, .type = VT_I64, .v.i = ival(sid, ts, c)};
    if (str) {
        int len = snprintf(s, sizeof s, "v%lld", (long long)ts);
        vals[n++] = (mc_val){.col_id = 1000, .type = VT_STR, .v.s = {s, (uint32_t)len}};
    }
    mc_append(m, sid, ts, vals, n);
}

/* Reads sid's rows ts in [lo, hi] (each written once, in order) and checks columns 1..ncols
 * and 1000: a column is NULL in rows written before it first appeared (col_from[c]). */
static void check(memcache *m, uint32_t sid, int64_t lo, int64_t hi, uint32_t ncols,
                  const int64_t *col_from, int64_t str_from) {
    arena *a = arena_new(0);
    uint32_t ids[65];
    uint8_t types[65];
    for (uint32_t c = 0; c < ncols; c++) {
        ids[c] = c + 1;
        types[c] = VT_I64;
    }
    ids[ncols] = 1000;
    types[ncols] = VT_STR;
    mc_rows r;
    assert_int_equal(mc_read(m, sid, INT64_MIN, INT64_MAX, ncols + 1, ids, types, a, &r), 0);
    assert_int_equal(r.n, (uint32_t)(hi - lo + 1));
    for (uint32_t i = 0; i < r.n; i++) {
        int64_t ts = lo + i;
        assert_int_equal(r.ts[i], ts);
        for (uint32_t c = 0; c < ncols; c++) {
            bool want = ts >= col_from[c];
            assert_int_equal(vec_is_valid(&r.cols[c], i), want);
            if (want) assert_int_equal(r.cols[c].d.i64[i], ival(sid, ts, c + 1));
        }
        bool want = str_from >= 0 && ts >= str_from;
        assert_int_equal(vec_is_valid(&r.cols[ncols], i), want);
        if (want) {
            char s[32];
            int len = snprintf(s, sizeof s, "v%lld", (long long)ts);
            assert_int_equal(r.cols[ncols].d.s[i].len, len);
            assert_memory_equal(r.cols[ncols].d.s[i].p, s, (size_t)len);
        }
    }
    arena_free(a);
}

/* One series from 1 row to 100: column 2 appears at row 3 (in the slab), the string column at
 * row 12 and column 3 at row 40 (out of it, validity bits still in the column), column 4 at
 * row 70 (validity bits malloc'd); checked after every row. */
static void test_growth_across_slab(void **state) {
    (void)state;
    memcache *m = mc_new();
    int64_t from[4] = {0, 3, 40, 70};
    for (int64_t ts = 0; ts < 100; ts++) {
        uint32_t ncols = ts < 3 ? 1 : ts < 40 ? 2 : ts < 70 ? 3 : 4;
        put(m, 7, ts, ncols, ts >= 12);
        put(m, 8, ts, 1, false); /* a neighbour growing alongside */
        check(m, 7, 0, ts, 4, from, 12);
    }
    int64_t from8[4] = {0, 1000, 1000, 1000};
    check(m, 8, 0, 99, 4, from8, -1);
    assert_int_equal(mc_row_count(m), 200);
    int64_t lo, hi;
    assert_true(mc_series_range(m, 7, &lo, &hi));
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 99);
    mc_release(m);
}

/* A first row of 60 columns (past the slab's column table and the column index), then a row
 * with one column more; columns read back in any order. */
static void test_wide_rows(void **state) {
    (void)state;
    memcache *m = mc_new();
    for (int64_t ts = 0; ts < 20; ts++) put(m, 1, ts, ts < 10 ? 60 : 61, false);
    arena *a = arena_new(0);
    uint32_t *ids;
    uint8_t *types;
    assert_int_equal(mc_series_cols(m, 1, a, &ids, &types), 61);
    uint32_t want[3] = {61, 1, 33};
    uint8_t wt[3] = {VT_I64, VT_I64, VT_I64};
    mc_rows r;
    assert_int_equal(mc_read(m, 1, 5, 14, 3, want, wt, a, &r), 0);
    assert_int_equal(r.n, 10);
    for (uint32_t i = 0; i < r.n; i++) {
        int64_t ts = 5 + i;
        assert_int_equal(vec_is_valid(&r.cols[0], i), ts >= 10);
        if (ts >= 10) assert_int_equal(r.cols[0].d.i64[i], ival(1, ts, 61));
        assert_int_equal(r.cols[1].d.i64[i], ival(1, ts, 1));
        assert_int_equal(r.cols[2].d.i64[i], ival(1, ts, 33));
    }
    arena_free(a);
    mc_release(m);
}

/* Series ids far apart: listed in order, found, and the cache stays small. */
static void test_sparse_sids(void **state) {
    (void)state;
    memcache *m = mc_new();
    const uint32_t sids[] = {3000000, 5, 1024, 1023, 70000, 0};
    for (size_t i = 0; i < 6; i++) put(m, sids[i], 1, 1, false);
    arena *a = arena_new(0);
    uint32_t *got;
    size_t n = mc_sids(m, a, &got);
    const uint32_t sorted[] = {0, 5, 1023, 1024, 70000, 3000000};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) assert_int_equal(got[i], sorted[i]);
    assert_true(mc_has_series(m, 3000000));
    assert_false(mc_has_series(m, 3000001));
    assert_false(mc_has_series(m, 1022));
    assert_false(mc_has_series(m, UINT32_MAX));
    int64_t from[1] = {0};
    check(m, 3000000, 1, 1, 1, from, -1);
    /* a dense table of 3 million pointers would be 24 MB */
    assert_true(mc_bytes(m) < 256 * 1024);
    arena_free(a);
    mc_release(m);
}

/* Drop and delete on a series in the slab (2 rows) and one out of it (100 rows); a dropped
 * series written again holds only its new rows. */
static void test_drop_delete(void **state) {
    (void)state;
    memcache *m = mc_new();
    for (int64_t ts = 0; ts < 100; ts++) {
        if (ts < 2) put(m, 1, ts, 2, true);
        put(m, 2, ts, 2, ts % 3 == 0);
        if (ts < 50) put(m, 3, ts, 1, false);
    }
    mc_delete(m, 2, 10, 39); /* keeps 0..9 and 40..99 */
    mc_delete(m, 1, 1, 1);
    arena *a = arena_new(0);
    mc_rows r;
    uint32_t ids[2] = {1, 1000};
    uint8_t types[2] = {VT_I64, VT_STR};
    assert_int_equal(mc_read(m, 2, INT64_MIN, INT64_MAX, 2, ids, types, a, &r), 0);
    assert_int_equal(r.n, 70);
    for (uint32_t i = 0; i < r.n; i++) {
        int64_t ts = i < 10 ? i : 30 + i;
        assert_int_equal(r.ts[i], ts);
        assert_int_equal(r.cols[0].d.i64[i], ival(2, ts, 1));
        assert_int_equal(vec_is_valid(&r.cols[1], i), ts % 3 == 0); /* bits moved with rows */
    }
    int64_t from[2] = {0, 0};
    check(m, 1, 0, 0, 2, from, 0);
    uint32_t drop[2] = {1, 2};
    mc_drop_series(m, drop, 2);
    assert_false(mc_has_series(m, 1));
    assert_false(mc_has_series(m, 2));
    assert_int_equal(mc_row_count(m), 50);
    for (int64_t ts = 100; ts < 120; ts++) put(m, 2, ts, 1, false);
    int64_t from2[1] = {0};
    check(m, 2, 100, 119, 1, from2, -1);
    check(m, 3, 0, 49, 1, from2, -1);
    assert_int_equal(mc_row_count(m), 70);
    arena_free(a);
    mc_release(m);
}

/* What a million new series pay in the cache: one row of one DOUBLE each. The layout gives
 * about 100 bytes (header, time, column table, value and validity in the slab, and a pointer);
 * the malloc-per-array layout it replaced paid about 380. */
static void test_one_row_series_cost(void **state) {
    (void)state;
    enum { N = 100000 };
    memcache *m = mc_new();
    size_t b0 = mc_bytes(m);
    for (uint32_t sid = 0; sid < N; sid++) {
        mc_val v = {.col_id = 1, .type = VT_F64, .v.f = sid * 0.5};
        mc_append(m, sid, 1000 + sid, &v, 1);
    }
    size_t per = (mc_bytes(m) - b0) / N;
    assert_true(per >= 16); /* a time and a value at the very least */
    assert_true(per <= 128);
    arena *a = arena_new(0);
    uint32_t id = 1;
    uint8_t type = VT_F64;
    mc_rows r;
    assert_int_equal(mc_read(m, N - 1, INT64_MIN, INT64_MAX, 1, &id, &type, a, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ts[0], 1000 + N - 1);
    assert_true(r.cols[0].d.f64[0] == (N - 1) * 0.5);
    arena_free(a);
    mc_release(m);
}

/* The memory budget counts what a cache holds while it lives (past its limit too: the rows
 * are durable already) and gets all of it back when the cache goes. */
static void test_budget_charged_and_released(void **state) {
    (void)state;
    uint64_t base = membudget_used_by(MEMBUDGET_MEMCACHE);
    memcache *m = mc_new();
    memcache *other = mc_new();
    for (uint32_t sid = 0; sid < 5000; sid++) {
        put(m, sid, 1, 2, sid % 3 == 0);
        if (sid % 10 == 0) put(m, 1, 2 + sid, 1, true); /* one series out of the slab */
    }
    put(other, 1, 1, 1, false);
    assert_int_equal(membudget_used_by(MEMBUDGET_MEMCACHE), base + mc_bytes(m) + mc_bytes(other));
    uint32_t drop = 1;
    mc_drop_series(m, &drop, 1);
    mc_retain(m); /* a reader still holds it: nothing is given back yet */
    mc_release(m);
    assert_int_equal(membudget_used_by(MEMBUDGET_MEMCACHE), base + mc_bytes(m) + mc_bytes(other));
    mc_release(m);
    assert_int_equal(membudget_used_by(MEMBUDGET_MEMCACHE), base + mc_bytes(other));
    mc_release(other);
    assert_int_equal(membudget_used_by(MEMBUDGET_MEMCACHE), base);
}

/* Model of one series: per timestamp 0..NTS-1, per column, the last valid value written. */
#define NTS 400
#define MCOLS 3
struct model {
    bool row[NTS];
    bool valid[NTS][MCOLS];
    int64_t val[NTS][MCOLS];
};

static void check_model(memcache *m, const struct model *mo, int64_t lo, int64_t hi) {
    arena *a = arena_new(0);
    uint32_t ids[MCOLS] = {1, 2, 3};
    uint8_t types[MCOLS] = {VT_I64, VT_I64, VT_I64};
    mc_rows r;
    assert_int_equal(mc_read(m, 7, lo, hi, MCOLS, ids, types, a, &r), 0);
    uint32_t i = 0;
    for (int64_t ts = lo; ts <= hi; ts++) {
        if (!mo->row[ts]) continue;
        assert_true(i < r.n);
        assert_int_equal(r.ts[i], ts);
        for (uint32_t c = 0; c < MCOLS; c++) {
            assert_int_equal(r.cols[c].len ? vec_is_valid(&r.cols[c], i) : 0, mo->valid[ts][c]);
            if (mo->valid[ts][c]) assert_int_equal(r.cols[c].d.i64[i], mo->val[ts][c]);
        }
        i++;
    }
    assert_int_equal(r.n, i);
    int64_t tmin, tmax;
    uint32_t first = 0;
    while (first < NTS && !mo->row[first]) first++;
    assert_true(mc_series_range(m, 7, &tmin, &tmax));
    assert_int_equal(tmin, first);
    arena_free(a);
}

/* Rows arrive out of order, some timestamps twice with other columns set; reads between the
 * writes sort the series (from the first misplaced row on), later writes unsort it again.
 * Every read must equal the model: time order, one row per timestamp, later writes winning per
 * column. The series passes through the slab, inline and malloc'd validity bits. */
static void test_out_of_order_sorted_by_readers(void **state) {
    (void)state;
    memcache *m = mc_new();
    static struct model mo;
    memset(&mo, 0, sizeof mo);
    uint64_t x = 88172645463325252ull;
    for (int step = 0; step < 900; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* mostly advancing, sometimes far back, sometimes a rewrite of a recent timestamp */
        int64_t ts = step < 600
                         ? (int64_t)((step / 2 + (x % 7 == 0 ? NTS - 1 - step / 2 : 0)) % NTS)
                         : (int64_t)(x % NTS);
        mc_val vals[MCOLS];
        uint32_t n = 0;
        for (uint32_t c = 0; c < MCOLS; c++) {
            if ((x >> (20 + c)) % 3 == 0) continue;
            int64_t v = (int64_t)(x >> 8) + c;
            vals[n++] = (mc_val){.col_id = c + 1, .type = VT_I64, .v.i = v};
            mo.valid[ts][c] = true;
            mo.val[ts][c] = v;
        }
        mo.row[ts] = true;
        mc_append(m, 7, ts, vals, n);
        if (x % 5 == 0) {
            int64_t lo = (int64_t)((x >> 30) % NTS), hi = lo + (int64_t)((x >> 40) % 50);
            check_model(m, &mo, lo, hi < NTS ? hi : NTS - 1);
        }
    }
    check_model(m, &mo, 0, NTS - 1);
    size_t distinct = 0;
    for (int t = 0; t < NTS; t++) distinct += mo.row[t];
    assert_int_equal(mc_row_count(m), distinct);
    mc_release(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growth_across_slab),
        cmocka_unit_test(test_wide_rows),
        cmocka_unit_test(test_sparse_sids),
        cmocka_unit_test(test_drop_delete),
        cmocka_unit_test(test_one_row_series_cost),
        cmocka_unit_test(test_budget_charged_and_released),
        cmocka_unit_test(test_out_of_order_sorted_by_readers),
    };
    return cmocka_run_group_tests_name("memcache", tests, NULL, NULL);
}
