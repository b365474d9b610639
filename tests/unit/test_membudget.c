/* Unit tests for the memory budget (util/membudget.c) and the arena's in-place growth of big
 * allocations (util/arena.c), which keeps a doubled buffer from costing twice its size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>

#include "util/arena.h"
#include "util/membudget.h"

static void test_reserve_release(void **state) {
    membudget_init(1000);
    assert_true(membudget_try_reserve(MEMBUDGET_BODY, 600));
    assert_true(membudget_try_reserve(MEMBUDGET_PARSE, 400)); /* exactly the limit */
    assert_false(membudget_try_reserve(MEMBUDGET_QUERY, 1));  /* refused: nothing reserved */
    assert_int_equal(membudget_used(), 1000);
    assert_int_equal(membudget_used_by(MEMBUDGET_BODY), 600);
    assert_int_equal(membudget_used_by(MEMBUDGET_QUERY), 0);
    membudget_release(MEMBUDGET_BODY, 600);
    assert_true(membudget_try_reserve(MEMBUDGET_QUERY, 600));
    membudget_release(MEMBUDGET_QUERY, 600);
    membudget_release(MEMBUDGET_PARSE, 400);
    assert_int_equal(membudget_used(), 0);
    /* 0 = no limit, still counted */
    membudget_init(0);
    assert_true(membudget_try_reserve(MEMBUDGET_INDEX, UINT64_MAX / 4));
    assert_int_equal(membudget_used_by(MEMBUDGET_INDEX), UINT64_MAX / 4);
    membudget_release(MEMBUDGET_INDEX, UINT64_MAX / 4);
    assert_string_equal(membudget_kind_name(MEMBUDGET_MEMCACHE), "memcache");
}

static void *hammer(void *arg) {
    int *granted = arg;
    for (int i = 0; i < 100000; i++) {
        if (membudget_try_reserve(MEMBUDGET_BODY, 7)) {
            if (membudget_used() > 700) abort(); /* never past the limit */
            (*granted)++;
            membudget_release(MEMBUDGET_BODY, 7);
        }
    }
    return NULL;
}

/* A charge counts past the limit, and what it holds makes reservations fail until released. */
static void test_charge_past_limit(void **state) {
    (void)state;
    membudget_init(1000);
    assert_true(membudget_try_reserve(MEMBUDGET_BODY, 900));
    membudget_charge(MEMBUDGET_MEMCACHE, 300);
    assert_int_equal(membudget_used(), 1200);
    assert_int_equal(membudget_used_by(MEMBUDGET_MEMCACHE), 300);
    assert_false(membudget_try_reserve(MEMBUDGET_BODY, 1));
    membudget_release(MEMBUDGET_BODY, 900);
    assert_true(membudget_try_reserve(MEMBUDGET_BODY, 700));
    assert_false(membudget_try_reserve(MEMBUDGET_BODY, 1));
    membudget_release(MEMBUDGET_MEMCACHE, 300);
    membudget_release(MEMBUDGET_BODY, 700);
    assert_int_equal(membudget_used(), 0);
    membudget_init(0);
}

static void test_concurrent_reservations_never_pass_the_limit(void **state) {
    membudget_init(700);
    pthread_t t[4];
    int granted[4] = {0};
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, &granted[i]);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    assert_int_equal(membudget_used(), 0);
    for (int i = 0; i < 4; i++) assert_true(granted[i] > 0);
    membudget_init(0);
}

static void test_default_limit(void **state) {
    /* This machine has memory: the default is some of it, not all. */
    uint64_t d = membudget_default_limit();
    assert_true(d > (64u << 20));
}

static void test_arena_big_growth_in_place(void **state) {
    arena *a = arena_new(4096);
    char *small = arena_alloc(a, 100);
    memset(small, 'x', 100);
    size_t n = 2048;
    char *p = arena_alloc(a, n);
    for (size_t i = 0; i < n; i++) p[i] = (char)i;
    for (int round = 0; round < 12; round++) { /* 2 KiB doubled to 8 MiB */
        p = arena_realloc(a, p, n, 2 * n);
        for (size_t i = 0; i < n; i++)
            if (p[i] != (char)i) fail_msg("byte %zu lost at round %d", i, round);
        for (size_t i = n; i < 2 * n; i++) p[i] = (char)i;
        n *= 2;
        /* small allocations in between go to regular blocks, the big one keeps growing */
        memset(arena_alloc(a, 50), 'y', 50);
    }
    /* used counts the final size once, not the sum of the doublings */
    assert_true(arena_used(a) < n + n / 8);
    for (size_t i = 0; i < 100; i++) assert_int_equal(small[i], 'x');
    /* a second big allocation becomes the one that grows; the first stays intact */
    char *q = arena_alloc(a, 8192);
    memset(q, 'q', 8192);
    q = arena_realloc(a, q, 8192, 65536);
    for (size_t i = 0; i < 8192; i++) assert_int_equal(q[i], 'q');
    for (size_t i = 0; i < n; i++)
        if (p[i] != (char)i) fail_msg("first big allocation changed at %zu", i);
    arena_reset(a);
    char *r = arena_alloc(a, 100000);
    r = arena_realloc(a, r, 100000, 300000);
    memset(r, 0, 300000);
    arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_release),
        cmocka_unit_test(test_charge_past_limit),
        cmocka_unit_test(test_concurrent_reservations_never_pass_the_limit),
        cmocka_unit_test(test_default_limit),
        cmocka_unit_test(test_arena_big_growth_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
