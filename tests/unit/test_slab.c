/* Unit tests for slabs (src/util/slab.c): every record aligned as asked, records never overlap
 * or move (each keeps its own bytes while thousands more are added), outsized records get a
 * chunk of their own without wasting the current one, the byte count covers what is held and
 * stays close to what was asked, and a freed slab is empty and reusable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "util/slab.h"

struct rec {
    unsigned char *p;
    size_t n;
    unsigned char fill;
};

static void test_records_stay_put(void **state) {
    (void)state;
    enum { N = 20000 };
    trng r = {3};
    slab s = SLAB_INIT;
    struct rec *recs = xmalloc(sizeof *recs * N);
    size_t asked = 0;
    for (size_t i = 0; i < N; i++) {
        size_t align = (size_t)1 << (tr_next(&r) % 5); /* 1 .. 16 */
        size_t n = (size_t)(tr_next(&r) % 100);        /* zero-length records too */
        if (i == N / 2) n = SLAB_CHUNK_MAX + 123;      /* outsized */
        unsigned char *p = slab_alloc(&s, n, align);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % align, 0);
        recs[i] = (struct rec){p, n, (unsigned char)(i * 7 + 1)};
        memset(p, recs[i].fill, n);
        asked += n;
    }
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < recs[i].n; k++) assert_int_equal(recs[i].p[k], recs[i].fill);
    /* Held bytes cover what was asked; the doubling chunks and alignment waste stay bounded. */
    assert_true(slab_bytes(&s) >= asked);
    assert_true(slab_bytes(&s) <= asked + asked / 2 + 2 * SLAB_CHUNK_MAX);
    slab_free(&s);
    assert_int_equal(slab_bytes(&s), 0);
    free(recs);
}

/* An outsized record goes behind the current chunk, which keeps serving small ones. */
static void test_outsized_keeps_chunk(void **state) {
    (void)state;
    slab s = SLAB_INIT;
    unsigned char *a = slab_alloc(&s, 10, 1);
    size_t before = slab_bytes(&s);
    unsigned char *big = slab_calloc(&s, 3 * SLAB_CHUNK_MAX, 16);
    for (size_t i = 0; i < 3 * SLAB_CHUNK_MAX; i += 4096) assert_int_equal(big[i], 0);
    size_t after_big = slab_bytes(&s);
    assert_true(after_big >= before + 3 * SLAB_CHUNK_MAX);
    unsigned char *b = slab_alloc(&s, 10, 1);
    assert_ptr_equal(b, a + 10); /* same chunk, right after the first record */
    assert_int_equal(slab_bytes(&s), after_big);
    slab_free(&s);
    /* reusable */
    unsigned char *c = slab_calloc(&s, 100, 8);
    assert_int_equal(c[99], 0);
    slab_free(&s);
    /* an outsized first record, then small ones */
    big = slab_alloc(&s, 2 * SLAB_CHUNK_MAX, 8);
    a = slab_alloc(&s, 16, 8);
    assert_true(a < big || a >= big + 2 * SLAB_CHUNK_MAX);
    slab_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_stay_put),
        cmocka_unit_test(test_outsized_keeps_chunk),
    };
    return cmocka_run_group_tests_name("slab", tests, NULL, NULL);
}
