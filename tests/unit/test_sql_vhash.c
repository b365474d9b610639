/* Unit tests for the vector-keyed hash table (src/sql/vhash.c).
 *
 * Rows of three key columns (BIGINT, STRING, DOUBLE with NaN, -0.0 and NULLs) drawn from a
 * small domain, so keys repeat many times, are inserted in several calls into a table sized
 * for one row (it grows), then every row of a second set is looked up; each answer is checked
 * against a brute-force scan with the equality vhash.h promises: the chain from vhash_find
 * through vhash_next must be exactly the inserted rows with an equal key, newest first. The
 * same runs with the real hashes and with degenerate ones (all equal, or two bits), which puts
 * every key in one run of buckets and makes the key comparisons decide everything. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#include "sql/vhash.h"
#include "util/arena.h"
#include "util/vec.h"

#define NK 3

static const char *const words[] = {"", "a", "b", "ab", "host_1", "host_10"};

/* n rows of the three key columns; seed picks the values. */
static void make_keys(arena *a, trng *r, uint32_t n, vec *k) {
    vec_alloc(a, VT_I64, 0, n, &k[0]);
    vec_alloc(a, VT_STR, 0, n, &k[1]);
    vec_alloc(a, VT_F64, 0, n, &k[2]);
    static const double fs[] = {0.0, -0.0, 1.5, -2.0};
    for (uint32_t i = 0; i < n; i++) {
        k[0].d.i64[i] = (int64_t)(tr_next(r) % 4) - 1;
        const char *w = words[tr_next(r) % 6];
        k[1].d.s[i] = (strv){w, (uint32_t)strlen(w)};
        uint64_t f = tr_next(r) % 7;
        /* two NaNs of different bits: one class */
        k[2].d.f64[i] = f < 4 ? fs[f] : f == 4 ? NAN : f == 5 ? -NAN : 0.0;
        if (tr_next(r) % 9 == 0) vec_set_null(a, &k[tr_next(r) % NK], i);
    }
}

static bool ref_eq(const vec *a, uint32_t i, const vec *b, uint32_t j) {
    for (uint32_t k = 0; k < NK; k++) {
        bool va = vec_is_valid(&a[k], i), vb = vec_is_valid(&b[k], j);
        if (va != vb) return false;
        if (!va) continue;
        switch (a[k].type) {
        case VT_I64:
            if (a[k].d.i64[i] != b[k].d.i64[j]) return false;
            break;
        case VT_STR:
            if (a[k].d.s[i].len != b[k].d.s[j].len ||
                memcmp(a[k].d.s[i].p, b[k].d.s[j].p, a[k].d.s[i].len) != 0)
                return false;
            break;
        default: {
            double x = a[k].d.f64[i], y = b[k].d.f64[j];
            if (!(x == y || (isnan(x) && isnan(y)))) return false;
        }
        }
    }
    return true;
}

/* Inserts nb rows in uneven calls, probes np rows; with mask != ~0 the hashes are degenerate.
 * skip_nulls: SQL's `=` (rows with a NULL key neither inserted nor looked up). */
static void run(uint64_t mask, bool skip_nulls, uint32_t nb, uint32_t np, uint64_t seed) {
    arena *a = arena_new(0);
    trng r = {seed};
    vec bk[NK], pk[NK];
    make_keys(a, &r, nb, bk);
    make_keys(a, &r, np, pk);
    uint64_t *h = arena_alloc(a, sizeof *h * (nb + np + 1));
    uint8_t *nulls = arena_alloc(a, bitmap_bytes(nb + np) + 1);
    vhash_hash(bk, NK, nb, h, nulls);
    for (uint32_t i = 0; i < nb; i++) h[i] &= mask;
    vhash *t = vhash_new(a, bk, NK, 1);
    bool *ins = arena_calloc(a, nb + 1);
    for (uint32_t from = 0; from < nb;) {
        uint32_t n = 1 + (uint32_t)(tr_next(&r) % 300);
        if (n > nb - from) n = nb - from;
        /* the call's own bitmap, indexed from its first row */
        uint8_t *skip = arena_calloc(a, bitmap_bytes(n) + 1);
        for (uint32_t i = 0; i < n; i++) {
            bool sk = skip_nulls && bitmap_get(nulls, from + i);
            if (sk) bitmap_set(skip, i);
            ins[from + i] = !sk;
        }
        vhash_insert(t, from, n, h + from, skip);
        from += n;
    }
    /* distinct keys among the inserted rows, by brute force */
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < nb; i++) {
        if (!ins[i]) continue;
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++) seen = ins[j] && ref_eq(bk, i, bk, j);
        distinct += !seen;
    }
    assert_int_equal(vhash_nkeys(t), distinct);

    uint64_t *ph = arena_alloc(a, sizeof *ph * np);
    uint8_t *pn = arena_alloc(a, bitmap_bytes(np) + 1);
    uint32_t *first = arena_alloc(a, sizeof *first * np);
    vhash_hash(pk, NK, np, ph, pn);
    for (uint32_t i = 0; i < np; i++) ph[i] &= mask;
    vhash_find(t, pk, np, ph, skip_nulls ? pn : NULL, first, a);
    for (uint32_t i = 0; i < np; i++) {
        uint32_t e = first[i];
        bool looked = !(skip_nulls && bitmap_get(pn, i));
        for (uint32_t j = nb; j-- > 0;) {
            if (!ins[j] || !looked || !ref_eq(bk, j, pk, i)) continue;
            assert_int_equal(e, j); /* newest first */
            e = vhash_next(t, e);
        }
        assert_int_equal(e, VHASH_NONE);
    }
    arena_free(a);
}

static void test_real_hashes(void **state) {
    (void)state;
    run(~0ull, false, 2000, 500, 1);
    run(~0ull, true, 2000, 500, 2);
}

static void test_degenerate_hashes(void **state) {
    (void)state;
    run(0, false, 600, 200, 3);
    run(0, true, 600, 200, 4);
    run(3, false, 1500, 300, 5);
}

/* The rules of the hash itself: equal keys hash alike whatever their slots' bits, NULLs are
 * flagged. */
static void test_hash_rules(void **state) {
    (void)state;
    arena *a = arena_new(0);
    vec v[2];
    vec_alloc(a, VT_F64, 0, 6, &v[0]);
    vec_alloc(a, VT_STR, 0, 6, &v[1]);
    double fs[] = {0.0, -0.0, NAN, -NAN, 1.0, 7.0};
    char s1[] = "key", s2[] = "key"; /* equal bytes at different addresses */
    for (uint32_t i = 0; i < 6; i++) {
        v[0].d.f64[i] = fs[i];
        v[1].d.s[i] = (strv){i % 2 ? s1 : s2, 3};
    }
    vec_set_null(a, &v[0], 4);
    vec_set_null(a, &v[0], 5);
    v[0].d.f64[5] = 7.0; /* a NULL slot holding another value: still the same NULL */
    uint64_t h[6];
    uint8_t nulls[1];
    vhash_hash(v, 2, 6, h, nulls);
    assert_true(h[0] == h[1]);
    assert_true(h[2] == h[3]);
    assert_true(h[0] != h[2]);
    assert_true(h[4] == h[5]);
    assert_int_equal(nulls[0] & 0x3f, 0x30);
    /* a table over them: three keys, NULL equal to NULL */
    vhash *t = vhash_new(a, v, 2, 6);
    vhash_insert(t, 0, 6, h, NULL);
    assert_int_equal(vhash_nkeys(t), 3);
    uint32_t first[6];
    vhash_find(t, v, 6, h, nulls, first, a);
    assert_int_equal(first[0], 1);
    assert_int_equal(vhash_next(t, 1), 0);
    assert_int_equal(first[3], 3);
    assert_int_equal(first[4], VHASH_NONE); /* skipped: SQL's `=` */
    arena_free(a);
}

/* Many rows of one key, and an empty table. */
static void test_duplicates_and_empty(void **state) {
    (void)state;
    arena *a = arena_new(0);
    enum { N = 5000 };
    vec v;
    vec_alloc(a, VT_I64, 0, N, &v);
    for (uint32_t i = 0; i < N; i++) v.d.i64[i] = 42;
    uint64_t *h = arena_alloc(a, sizeof *h * N);
    uint8_t *nulls = arena_alloc(a, bitmap_bytes(N));
    vhash_hash(&v, 1, N, h, nulls);
    uint32_t first[1];
    vhash *e = vhash_new(a, &v, 1, 0);
    vhash_find(e, &v, 1, h, NULL, first, a);
    assert_int_equal(first[0], VHASH_NONE);
    vhash *t = vhash_new(a, &v, 1, 4);
    vhash_insert(t, 0, N, h, NULL);
    assert_int_equal(vhash_nkeys(t), 1);
    vhash_find(t, &v, 1, h, NULL, first, a);
    uint32_t n = 0;
    for (uint32_t r = first[0]; r != VHASH_NONE; r = vhash_next(t, r))
        assert_int_equal(r, N - 1 - n++);
    assert_int_equal(n, N);
    arena_free(a);
}

/* Probe rows in the order of the inserted rows, with jumps, repeats and keys missing from the
 * table (rows left out by their skip bit): the row after the last candidate is tried before
 * the buckets, and must never be taken for another key, an older row of its key or a row
 * that was not inserted. */
static void predicted(uint64_t mask) {
    arena *a = arena_new(0);
    enum { N = 3000 };
    trng r = {7};
    vec b, p;
    vec_alloc(a, VT_I64, 0, N, &b);
    vec_alloc(a, VT_I64, 0, N, &p);
    uint8_t skip[bitmap_bytes(N)];
    memset(skip, 0, sizeof skip);
    for (uint32_t i = 0; i < N; i++) {
        b.d.i64[i] = i % 500 == 499 ? (int64_t)i - 1 : (int64_t)i; /* a few keys twice */
        if (i % 97 == 5) bitmap_set(skip, i);
        uint64_t x = tr_next(&r) % 10;
        p.d.i64[i] = x < 7 ? (int64_t)i : x < 9 ? (int64_t)(tr_next(&r) % N) : -1;
    }
    uint64_t hb[N], hp[N];
    uint8_t nb[bitmap_bytes(N)], np[bitmap_bytes(N)];
    vhash_hash(&b, 1, N, hb, nb);
    vhash_hash(&p, 1, N, hp, np);
    for (uint32_t i = 0; i < N; i++) {
        hb[i] &= mask;
        hp[i] &= mask;
    }
    vhash *t = vhash_new(a, &b, 1, N);
    vhash_insert(t, 0, N, hb, skip);
    uint32_t first[N];
    vhash_find(t, &p, N, hp, NULL, first, a);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t want = VHASH_NONE;
        for (uint32_t j = 0; j < N; j++)
            if (!bitmap_get(skip, j) && b.d.i64[j] == p.d.i64[i]) want = j; /* the newest */
        assert_int_equal(first[i], want);
    }
    arena_free(a);
}

static void test_predicted_rows(void **state) {
    (void)state;
    predicted(~0ull);
    predicted(0xffffffffull); /* every high half equal: predictions rest on the keys */
    predicted(0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_hashes),    cmocka_unit_test(test_degenerate_hashes),
        cmocka_unit_test(test_hash_rules),     cmocka_unit_test(test_duplicates_and_empty),
        cmocka_unit_test(test_predicted_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
