/* Unit tests for the mergeable aggregate states (src/sql/agg_state.c) and the budgets that
 * parallel parts share (util/arena.c).
 *
 * A parallel aggregate updates one state per part and merges them in part order; the result
 * must be the one a single state updated with all the rows gives. The sweep below runs every
 * aggregate kind over every argument type it takes, with and without DISTINCT, over rows
 * with NULLs, NaN, -0.0, repeated times and strings, cut into parts at random places (empty
 * parts included). Float values are multiples of 1/4, so sums are exact in any order; the
 * variance, merged by Chan's formula, is compared to a relative 1e-12. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "testutil.h"

#include "sql/func.h"
#include "sql/ops_int.h"
#include "sql/sketch.h"
#include "util/arena.h"
#include "util/vlist.h"

#define NROWS 300

static const char *const words[] = {"", "a", "b", "ab", "zz", "a\xc3\xa9", "m"};

/* Column 0: time (with repeats and disorder), column 1: the argument of type t. */
static void make_rows(arena *a, uint8_t t, unsigned seed, vec *ts, vec *x) {
    srand(seed);
    vec_alloc(a, VT_TS, 0, NROWS, ts);
    vec_alloc(a, t, 0, NROWS, x);
    for (uint32_t i = 0; i < NROWS; i++) {
        ts->d.i64[i] = rand() % 50; /* repeated times: first/last pick among ties */
        if (rand() % 6 == 0) {
            vec_set_null(a, x, i);
            continue;
        }
        int r = rand() % 41 - 20;
        switch (t) {
        case VT_F64:
            x->d.f64[i] = rand() % 23 == 0 ? NAN : rand() % 19 == 0 ? -0.0 : r / 4.0;
            break;
        case VT_I64:
            x->d.i64[i] = rand() % 29 == 0 ? INT64_MAX - 20 - r : r; /* sums wrap */
            break;
        case VT_U64:
            x->d.u64[i] = (uint64_t)(r + 20);
            break;
        case VT_BOOL:
            x->d.b[i] = r > 0;
            break;
        case VT_STR: {
            const char *w = words[(unsigned)(r + 20) % (sizeof words / sizeof *words)];
            x->d.s[i] = (strv){w, (uint32_t)strlen(w)};
            break;
        }
        }
    }
}

/* The state over rows [from, to), updated in batches of up to 37 rows as the operator does;
 * y is the second argument of the two-argument aggregates. */
static void update(arena *a, const agg_spec *sp, struct agg_state *st, const vec *ts, const vec *x,
                   const vec *y, uint32_t from, uint32_t to) {
    bool fl = sp->kind == AGG_FIRST || sp->kind == AGG_LAST || sp->kind == AGG_INCREASE ||
              sp->kind == AGG_GAUGE;
    for (uint32_t i = from; i < to; i += 37) {
        uint32_t e = i + 37 < to ? i + 37 : to;
        agg_state_update_range(a, sp, st,
                               fl        ? ts
                               : sp->arg ? x
                                         : NULL,
                               fl         ? x
                               : sp->arg2 ? y
                                          : NULL,
                               i, e);
    }
}

/* The statistics merged by Chan's formula round differently from the serial update. */
static bool approx_kind(int kind) {
    return kind == AGG_VAR || kind == AGG_VAR_POP || kind == AGG_STDDEV || kind == AGG_STDDEV_POP ||
           kind == AGG_COVAR || kind == AGG_COVAR_POP || kind == AGG_CORR ||
           (kind >= AGG_REGR_SLOPE && kind <= AGG_REGR_SXY);
}

static bool same_result(const agg_spec *sp, const vec *a, const vec *b) {
    if (vec_is_valid(a, 0) != vec_is_valid(b, 0)) return false;
    if (!vec_is_valid(a, 0)) return true;
    switch (sp->type) {
    case VT_F64: {
        double x = a->d.f64[0], y = b->d.f64[0];
        if (isnan(x) || isnan(y)) return isnan(x) && isnan(y);
        if (approx_kind(sp->kind)) return fabs(x - y) <= 1e-9 * fmax(1, fabs(x));
        return memcmp(&x, &y, 8) == 0; /* -0.0 and 0.0 apart */
    }
    case VT_BOOL:
        return a->d.b[0] == b->d.b[0];
    case VT_INTERVAL:
        return !memcmp(&a->d.iv[0], &b->d.iv[0], sizeof a->d.iv[0]);
    case VT_STR:
    case VT_STRUCT: /* a struct's bytes are canonical too (util/vstruct.h) */
    case VT_LIST:   /* a list's bytes are canonical (util/vlist.h) */
        return a->d.s[0].len == b->d.s[0].len && !memcmp(a->d.s[0].p, b->d.s[0].p, a->d.s[0].len);
    default:
        return a->d.i64[0] == b->d.i64[0];
    }
}

static void check_kind(int kind, uint8_t t, bool distinct, unsigned seed, int64_t param2) {
    arena *a = arena_new(0);
    agg_spec sp = {.kind = kind, .distinct = distinct, .param2 = param2};
    err er;
    bool fl = kind == AGG_FIRST || kind == AGG_LAST;
    if (fl) {
        sp.type = t;
        sp.arg = bx_col(a, 0, VT_TS, 0);
        sp.arg2 = bx_col(a, 1, t, 0);
    } else {
        /* percentiles take constants */
        value p = {.type = VT_F64, .v.f = 0.3};
        bexpr *args[3] = {bx_col(a, 0, t, 0), bx_col(a, 1, t, 0), bx_const(a, p)};
        if (kind == AGG_APPROX_PCT) args[1] = args[2];
        if (kind == AGG_INCREASE || kind == AGG_GAUGE) /* (time, x) */
            args[0] = bx_col(a, 0, VT_TS, 0);
        if (kind == AGG_FIRST_VALUE || kind == AGG_LAST_VALUE) { /* ORDER BY the second column */
            sp.arg2 = args[1];
            sp.order_desc = seed % 2;
            sp.order_nulls_first = seed % 3 == 0;
        }
        uint32_t n = kind == AGG_APPROX_PCT_W                                              ? 3
                     : kind == AGG_APPROX_PCT || kind == AGG_INCREASE || kind == AGG_GAUGE ? 2
                                                                                           : 1;
        if ((kind >= AGG_COVAR && kind <= AGG_REGR_SXY) || (kind == AGG_COUNT && distinct)) n = 2;
        if (agg_bind(a, args, n, false, &sp, &er) < 0) {
            arena_free(a);
            return; /* not an argument type of this aggregate */
        }
    }
    uint8_t rt = sp.type;
    vec ts, x, ts2, y;
    make_rows(a, t, seed, &ts, &x);
    make_rows(a, t, seed + 1, &ts2, &y);
    srand(seed);
    for (int trial = 0; trial < 6; trial++) {
        struct agg_state whole; /* afresh: the median's final sorts its values in place */
        memset(&whole, 0, sizeof whole);
        update(a, &sp, &whole, &ts, &x, &y, 0, NROWS);
        /* up to 5 parts; cut points may coincide (empty parts) */
        uint32_t cuts[6] = {0};
        int nparts = 1 + rand() % 5;
        for (int p = 1; p < nparts; p++) cuts[p] = (uint32_t)(rand() % (NROWS + 1));
        cuts[nparts] = NROWS;
        for (int p = 1; p < nparts; p++)
            for (int q = p; q > 1 && cuts[q - 1] > cuts[q]; q--) {
                uint32_t tmp = cuts[q];
                cuts[q] = cuts[q - 1];
                cuts[q - 1] = tmp;
            }
        struct agg_state merged;
        memset(&merged, 0, sizeof merged);
        for (int p = 0; p < nparts; p++) {
            /* each part's state in an arena of its own, as a worker's */
            arena *pa = arena_new(0);
            struct agg_state part;
            memset(&part, 0, sizeof part);
            update(pa, &sp, &part, &ts, &x, &y, cuts[p], cuts[p + 1]);
            agg_state_merge(a, &sp, &merged, &part); /* the first into an empty state */
            arena_free(pa); /* the merged state must not point into a part's arena */
        }
        vec r1, r2;
        vec_alloc(a, rt, 0, 1, &r1);
        vec_alloc(a, rt, 0, 1, &r2);
        memset(r1.d.raw, 0, vtype_size(rt));
        memset(r2.d.raw, 0, vtype_size(rt));
        agg_state_final(&sp, &whole, &r1, 0, a);
        agg_state_final(&sp, &merged, &r2, 0, a);
        if (!same_result(&sp, &r1, &r2))
            fail_msg("%s(%s%s) over type %u, seed %u, %d parts: merged differs from serial",
                     agg_display(kind), distinct ? "DISTINCT " : "", fl ? "time, x" : "x", t, seed,
                     nparts);
    }
    arena_free(a);
}

static void test_merge_equals_serial(void **state) {
    (void)state;
    static const uint8_t types[] = {VT_F64, VT_I64, VT_U64, VT_BOOL, VT_STR};
    for (int kind = AGG_COUNT; kind <= AGG_LAST_VALUE; kind++)
        for (size_t t = 0; t < sizeof types; t++)
            for (int d = 0; d < 2; d++)
                for (unsigned seed = 1; seed <= 4; seed++)
                    check_kind(kind, types[t], d, seed * 7919 + (unsigned)kind, 0);
    /* gauge_agg read by each accessor (0: the struct), over times with repeats */
    for (int64_t acc = 0; acc <= 10; acc++)
        for (size_t t = 0; t < sizeof types; t++)
            for (unsigned seed = 1; seed <= 6; seed++)
                check_kind(AGG_GAUGE, types[t], false, seed * 104729 + (unsigned)acc, acc);
}

/* The state over rows [0, n) equals the states of parts of one, two and three rows (so a
 * part's kept points overlap), each in an arena of its own, merged one by one. */
static bool small_parts_agree(arena *a, const agg_spec *sp, const vec *ts, const vec *x,
                              uint32_t n) {
    struct agg_state whole, merged;
    memset(&whole, 0, sizeof whole);
    memset(&merged, 0, sizeof merged);
    agg_state_update_range(a, sp, &whole, ts, x, 0, n);
    for (uint32_t i = 0, w = 1; i < n; i += w, w = w % 3 + 1) {
        arena *pa = arena_new(0);
        struct agg_state part;
        memset(&part, 0, sizeof part);
        agg_state_update_range(pa, sp, &part, ts, x, i, i + w < n ? i + w : n);
        agg_state_merge(a, sp, &merged, &part);
        arena_free(pa);
    }
    vec r1, r2;
    vec_alloc(a, sp->type, 0, 1, &r1);
    vec_alloc(a, sp->type, 0, 1, &r2);
    memset(r1.d.raw, 0, vtype_size(sp->type));
    memset(r2.d.raw, 0, vtype_size(sp->type));
    agg_state_final(sp, &whole, &r1, 0, a);
    agg_state_final(sp, &merged, &r2, 0, a);
    return same_result(sp, &r1, &r2);
}

/* gauge_agg, for every accessor. */
static void test_gauge_small_parts(void **state) {
    (void)state;
    for (int64_t acc = 0; acc <= 10; acc++)
        for (unsigned seed = 1; seed <= 20; seed++) {
            arena *a = arena_new(0);
            agg_spec sp = {.kind = AGG_GAUGE, .param2 = acc};
            bexpr *args[2] = {bx_col(a, 0, VT_TS, 0), bx_col(a, 1, VT_F64, 0)};
            err er;
            assert_int_equal(agg_bind(a, args, 2, false, &sp, &er), 0);
            vec ts, x;
            make_rows(a, VT_F64, seed, &ts, &x);
            if (!small_parts_agree(a, &sp, &ts, &x, 40))
                fail_msg("gauge accessor %lld, seed %u: merged differs from serial", (long long)acc,
                         seed);
            arena_free(a);
        }
}

/* state_agg read by duration_in(.., 3) and state_at(.., 25), repeated times included. */
static void test_state_agg_parts(void **state) {
    (void)state;
    for (int64_t acc = 1; acc <= 2; acc++)
        for (unsigned seed = 1; seed <= 20; seed++) {
            arena *a = arena_new(0);
            agg_spec sp = {.kind = AGG_STATE_AGG, .param2 = acc};
            bexpr *args[2] = {bx_col(a, 0, VT_TS, 0), bx_col(a, 1, VT_I64, 0)};
            value pv = {.type = acc == 1 ? VT_I64 : VT_TS};
            pv.v.i = acc == 1 ? 3 : 25;
            bexpr *params[1] = {bx_const(a, pv)};
            err er;
            assert_int_equal(agg_stateagg_bind(a, "state_agg", args, 2, params, 1, &sp, &er), 0);
            vec ts, x;
            make_rows(a, VT_I64, seed, &ts, &x);
            for (uint32_t i = 0; i < 60; i++) x.d.i64[i] = x.d.i64[i] % 5; /* repeated states */
            if (!small_parts_agree(a, &sp, &ts, &x, 60))
                fail_msg("state accessor %lld, seed %u: merged differs from serial", (long long)acc,
                         seed);
            arena_free(a);
        }
}

/* count(*) has no argument: the counts add. */
static void test_merge_count_star(void **state) {
    (void)state;
    arena *a = arena_new(0);
    agg_spec sp = {.kind = AGG_COUNT, .type = VT_I64};
    struct agg_state x = {0}, y = {0};
    agg_state_update_range(a, &sp, &x, NULL, NULL, 0, 10);
    agg_state_update_range(a, &sp, &y, NULL, NULL, 0, 0);
    agg_state_update_range(a, &sp, &y, NULL, NULL, 0, 5);
    agg_state_merge(a, &sp, &x, &y);
    assert_int_equal(x.count, 15);
    arena_free(a);
}

/* A worker's budget charges the query's; the query's limit and the cancel flag reach it. */
static void test_budget_chain(void **state) {
    (void)state;
    arena_budget root = {.limit = 1 << 20};
    arena_budget w1 = {.parent = &root}, w2 = {.parent = &root};
    arena *a1 = arena_new(0), *a2 = arena_new(0);
    arena_set_budget(a1, &w1);
    arena_set_budget(a2, &w2);
    arena_alloc(a1, 300000);
    arena_alloc(a2, 300000);
    assert_true(w1.held >= 300000 && w1.held < 400000);
    assert_true(root.held == w1.held + w2.held);
    err er;
    assert_int_equal(budget_check(&w1, &er), 0);
    arena_alloc(a2, 600000); /* together past the root's limit, each alone below it */
    assert_true(w1.held < root.limit && w2.held < root.limit);
    assert_int_equal(budget_check(&w1, &er), -1);
    assert_non_null(strstr(er.msg, "memory limit"));
    arena_free(a2);
    assert_true(root.held == w1.held);
    assert_int_equal(budget_check(&w1, &er), 0);
    w2.cancelled = true; /* a sibling's flag stops only that part */
    assert_int_equal(budget_check(&w1, &er), 0);
    assert_int_equal(budget_check(&w2, &er), -1);
    assert_non_null(strstr(er.msg, "cancelled"));
    arena_set_budget(a1, NULL);
    assert_true(root.held == 0 && w1.held == 0);
    arena_free(a1);
}

/* The t-digest's answers are DataFusion 27's (CnosDB's approx_median cases): four values, the
 * interpolation clamped to the neighbouring centroids; five, the middle one; eight, halfway
 * between neighbours of the middle. */
static void test_tdigest_datafusion(void **state) {
    (void)state;
    arena *a = arena_new(0);
    double v[8] = {2.15, 0.19, 53718.4708571, -1571984.887109, 905092.579, -5.0, -10.0, -2.5};
    double s[8];
    tdigest td;
    td_init(&td, TD_DEFAULT_SIZE);
    assert_true(td_quantile(&td, 0.5) == 0.0);
    memcpy(s, v, sizeof s);
    td_sort(s, 4);
    td_add_sorted(a, &td, s, 4);
    assert_true(td_quantile(&td, 0.5) == 0.19);
    td_init(&td, TD_DEFAULT_SIZE);
    memcpy(s, v, sizeof s);
    td_sort(s, 5);
    td_add_sorted(a, &td, s, 5);
    assert_true(td_quantile(&td, 0.5) == 2.15);
    td_init(&td, TD_DEFAULT_SIZE);
    memcpy(s, v, sizeof s);
    td_sort(s, 8);
    td_add_sorted(a, &td, s, 8);
    assert_true(td_quantile(&td, 0.5) == -0.9725000000000001);
    assert_true(td_quantile(&td, 0.0) == -1571984.887109 && td_quantile(&td, 1.0) == 905092.579);
    /* two digests of four merged give the digest of all eight */
    tdigest ds[2];
    td_init(&ds[0], TD_DEFAULT_SIZE);
    td_init(&ds[1], TD_DEFAULT_SIZE);
    memcpy(s, v, sizeof s);
    td_sort(s, 4);
    td_sort(s + 4, 4);
    td_add_sorted(a, &ds[0], s, 4);
    td_add_sorted(a, &ds[1], s + 4, 4);
    tdigest m;
    td_merge(a, &m, ds, 2);
    assert_int_equal(m.n, 8);
    assert_true(td_quantile(&m, 0.5) == -0.9725000000000001);
    /* 100000 values keep at most about max_size centroids and a close median */
    td_init(&td, TD_DEFAULT_SIZE);
    double *big = arena_alloc(a, sizeof *big * 8192);
    for (int b = 0; b < 12; b++) {
        for (int i = 0; i < 8192; i++) big[i] = (double)((b * 8192 + i) * 7919 % 100000);
        td_sort(big, 8192);
        td_add_sorted(a, &td, big, 8192);
    }
    assert_true(td.n <= 2 * TD_DEFAULT_SIZE);
    assert_true(fabs(td_quantile(&td, 0.5) - 49150) < 1000);
    /* batch after batch reuses the digest's two buffers: their room is one batch's */
    assert_true(td.cap <= 16384 && td.spare_cap <= 16384);
    /* weighted pairs merged at once are the merge of one-centroid digests of count 1 */
    td_centroid pairs[6] = {{3, 2}, {1, 1}, {3, 0.5}, {-2, 4}, {1, 1}, {9, 3}};
    tdigest w, one[7];
    td_init(&w, TD_DEFAULT_SIZE);
    td_add_weighted(a, &w, pairs, 3);
    td_add_weighted(a, &w, pairs + 3, 3);
    td_init(&one[0], TD_DEFAULT_SIZE);
    td_add_weighted(a, &one[0], pairs, 3);
    for (int i = 0; i < 3; i++)
        one[i + 1] = (tdigest){.c = &pairs[3 + i],
                               .n = 1,
                               .max_size = TD_DEFAULT_SIZE,
                               .count = 1,
                               .min = pairs[3 + i].mean,
                               .max = pairs[3 + i].mean};
    tdigest mw;
    td_merge(a, &mw, one, 4);
    assert_int_equal(w.n, mw.n);
    assert_true(w.count == 6 && mw.count == 6 && w.min == -2 && w.max == 9);
    for (uint32_t i = 0; i < w.n; i++)
        assert_true(w.c[i].mean == mw.c[i].mean && w.c[i].weight == mw.c[i].weight);
    assert_true(td_quantile(&w, 0.5) == td_quantile(&mw, 0.5));
    arena_free(a);
}

/* Small counts are exact; large ones within the sketch's error; merged registers estimate the
 * union. */
static void test_hll(void **state) {
    (void)state;
    uint8_t *r1 = calloc(HLL_REGISTERS, 1), *r2 = calloc(HLL_REGISTERS, 1);
    assert_int_equal(hll_count(r1), 0);
    for (uint64_t i = 1; i <= 100; i++) {
        hll_add(r1, XXH3_64bits(&i, sizeof i));
        hll_add(r1, XXH3_64bits(&i, sizeof i)); /* twice: counted once */
    }
    assert_int_equal(hll_count(r1), 100);
    for (uint64_t i = 50; i < 100050; i++) hll_add(r2, XXH3_64bits(&i, sizeof i));
    double n2 = (double)hll_count(r2);
    assert_true(fabs(n2 - 100000) < 2000);
    hll_merge(r1, r2);
    assert_true(fabs((double)hll_count(r1) - 100049) < 2000);
    free(r1);
    free(r2);
}

/* sample(x, 10) over 0..99, fed in up to four parts merged in turn: every answer is 10
 * distinct values of the input, and over many trials each value is drawn about a tenth of the
 * time (the reservoir and the merge are uniform; the bounds are six standard deviations). */
static void test_sample_uniform(void **state) {
    (void)state;
    enum { N = 100, K = 10, TRIALS = 2000 };
    uint32_t hits[N] = {0};
    arena *a = arena_new(0);
    vec x;
    vec_alloc(a, VT_I64, 0, N, &x);
    for (uint32_t i = 0; i < N; i++) x.d.i64[i] = i;
    bexpr *args[2] = {bx_col(a, 0, VT_I64, 0), bx_const(a, (value){.type = VT_I64, .v.i = K})};
    agg_spec sp = {.kind = AGG_SAMPLE};
    err er;
    assert_int_equal(agg_bind(a, args, 2, false, &sp, &er), 0);
    srand(7);
    for (int t = 0; t < TRIALS; t++) {
        arena *ta = arena_new(0);
        struct agg_state merged;
        memset(&merged, 0, sizeof merged);
        uint32_t cuts[5] = {0, (uint32_t)(rand() % N), (uint32_t)(rand() % N), 0, N};
        if (cuts[1] > cuts[2]) {
            uint32_t tmp = cuts[1];
            cuts[1] = cuts[2];
            cuts[2] = tmp;
        }
        cuts[3] = cuts[2] + (uint32_t)(rand() % (N - cuts[2] + 1));
        for (int p = 0; p < 4; p++) {
            struct agg_state part;
            memset(&part, 0, sizeof part);
            agg_state_update_range(ta, &sp, &part, &x, NULL, cuts[p], cuts[p + 1]);
            agg_state_merge(ta, &sp, &merged, &part);
        }
        vec out;
        vec_alloc(ta, VT_LIST, sp.unit, 1, &out);
        agg_state_final(&sp, &merged, &out, 0, ta);
        value *vals;
        uint32_t n = vlist_items(ta, out.d.s[0], sp.unit, &vals);
        assert_int_equal(n, K);
        bool seen[N] = {false};
        for (uint32_t k = 0; k < n; k++) {
            int64_t v = vals[k].v.i;
            assert_true(v >= 0 && v < N && !seen[v]);
            seen[v] = true;
            hits[v]++;
        }
        arena_free(ta);
    }
    for (uint32_t v = 0; v < N; v++)
        if (hits[v] < 120 || hits[v] > 280)
            fail_msg("value %u drawn %u times in %d samples of %d of %d", v, hits[v], TRIALS, K, N);
    arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_equals_serial),
        cmocka_unit_test(test_merge_count_star),
        cmocka_unit_test(test_gauge_small_parts),
        cmocka_unit_test(test_state_agg_parts),
        cmocka_unit_test(test_budget_chain),
        cmocka_unit_test(test_tdigest_datafusion),
        cmocka_unit_test(test_hll),
        cmocka_unit_test(test_sample_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
