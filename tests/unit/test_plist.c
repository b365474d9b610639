/* Unit tests for posting lists (src/storage/plist.c): every representation (inline, sorted
 * array, roaring) and the moves between them checked against a reference sorted set, with ids
 * added in increasing order (the index's case), out of order and repeated; contains for present
 * and absent ids; removal in each representation; free leaves a reusable empty list. Leaks are
 * caught by ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "storage/plist.h"

/* Reference: a sorted array without duplicates. */
typedef struct model {
    uint32_t *v;
    size_t n, cap;
} model;

static void model_add(model *m, uint32_t id) {
    size_t at = 0;
    while (at < m->n && m->v[at] < id) at++;
    if (at < m->n && m->v[at] == id) return;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->v = xrealloc(m->v, sizeof *m->v * m->cap);
    }
    memmove(m->v + at + 1, m->v + at, sizeof *m->v * (m->n - at));
    m->v[at] = id;
    m->n++;
}

static void check(const plist *p, const model *m) {
    assert_int_equal(plist_count(p), m->n);
    uint32_t *out = xmalloc(sizeof *out * (m->n + 1));
    plist_to_array(p, out);
    for (size_t i = 0; i < m->n; i++) {
        assert_int_equal(out[i], m->v[i]);
        assert_true(plist_contains(p, m->v[i]));
        /* the gaps between members are absent */
        if (m->v[i] > 0 && (i == 0 || m->v[i - 1] != m->v[i] - 1))
            assert_false(plist_contains(p, m->v[i] - 1));
    }
    assert_false(plist_contains(p, UINT32_MAX));
    free(out);
}

static void test_empty_and_one(void **state) {
    (void)state;
    plist p = PLIST_INIT;
    model m = {0};
    check(&p, &m);
    assert_false(plist_contains(&p, 0));
    plist_add(&p, 7);
    model_add(&m, 7);
    check(&p, &m);
    assert_int_equal(plist_heap_bytes(&p), 0); /* one id costs no allocation */
    plist_add(&p, 7);                          /* again: nothing changes */
    check(&p, &m);
    plist_add(&p, 3); /* a second id, smaller than the first */
    model_add(&m, 3);
    check(&p, &m);
    assert_true(plist_heap_bytes(&p) > 0);
    plist_free(&p);
    assert_int_equal(plist_count(&p), 0);
    assert_false(plist_contains(&p, 3));
    plist_add(&p, 0); /* reusable after free; id 0 is an id like any other */
    assert_int_equal(plist_count(&p), 1);
    assert_true(plist_contains(&p, 0));
    plist_free(&p);
    free(m.v);
}

/* Increasing ids across both thresholds, checked at every size near them. */
static void test_increasing_across_thresholds(void **state) {
    (void)state;
    plist p = PLIST_INIT;
    model m = {0};
    for (uint32_t i = 0; i < 3 * PLIST_ARRAY_MAX; i++) {
        uint32_t id = i * 37 + 5; /* gaps, spread over a few roaring containers */
        plist_add(&p, id);
        model_add(&m, id);
        if (i < 4 || (i + 2 >= PLIST_ARRAY_MAX && i <= PLIST_ARRAY_MAX + 2) || i % 97 == 0)
            check(&p, &m);
        plist_add(&p, id); /* the last id again: no change */
        assert_int_equal(plist_count(&p), m.n);
    }
    check(&p, &m);
    plist_free(&p);
    free(m.v);
}

/* Random ids in random order with repeats, in arrays and past them, and ids at the ends of
 * the range. */
static void test_random_order(void **state) {
    (void)state;
    trng r = {42};
    for (int round = 0; round < 20; round++) {
        plist p = PLIST_INIT;
        model m = {0};
        size_t adds = round < 10 ? (size_t)(tr_next(&r) % (PLIST_ARRAY_MAX + 10)) : 2000;
        uint32_t range = round % 2 ? 1000 : UINT32_MAX;
        for (size_t i = 0; i < adds; i++) {
            uint32_t id = (uint32_t)(tr_next(&r) % range);
            if (i % 50 == 0) id = i % 100 == 0 ? 0 : UINT32_MAX - 1;
            plist_add(&p, id);
            model_add(&m, id);
            if (i % 61 == 0) check(&p, &m);
        }
        check(&p, &m);
        plist_free(&p);
        free(m.v);
    }
}

static void model_remove(model *m, uint32_t id) {
    size_t at = 0;
    while (at < m->n && m->v[at] < id) at++;
    if (at == m->n || m->v[at] != id) return;
    memmove(m->v + at, m->v + at + 1, sizeof *m->v * (m->n - at - 1));
    m->n--;
}

/* Removal (UPDATE of tags) in every representation, present and absent ids, down to empty;
 * plist_min names the smallest id left. */
static void test_remove(void **state) {
    (void)state;
    uint32_t sizes[] = {1, 2, 5, PLIST_ARRAY_MAX, PLIST_ARRAY_MAX + 50};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        plist p = PLIST_INIT;
        model m = {0};
        for (uint32_t i = 0; i < sizes[si]; i++) {
            plist_add(&p, i * 3);
            model_add(&m, i * 3);
        }
        plist_remove(&p, 1); /* absent */
        plist_remove(&p, sizes[si] * 3 + 3);
        check(&p, &m);
        /* every other id, then the rest from the top */
        for (uint32_t i = 0; i < sizes[si]; i += 2) {
            plist_remove(&p, i * 3);
            model_remove(&m, i * 3);
            check(&p, &m);
            if (m.n) assert_int_equal(plist_min(&p), m.v[0]);
        }
        for (uint32_t i = sizes[si]; i-- > 0;) {
            plist_remove(&p, i * 3);
            model_remove(&m, i * 3);
            check(&p, &m);
            if (m.n) assert_int_equal(plist_min(&p), m.v[0]);
        }
        assert_int_equal(plist_count(&p), 0);
        plist_add(&p, 7); /* still usable */
        assert_true(plist_contains(&p, 7));
        assert_int_equal(plist_min(&p), 7);
        plist_free(&p);
        free(m.v);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_one),
        cmocka_unit_test(test_increasing_across_thresholds),
        cmocka_unit_test(test_random_order),
        cmocka_unit_test(test_remove),
    };
    return cmocka_run_group_tests_name("plist", tests, NULL, NULL);
}
