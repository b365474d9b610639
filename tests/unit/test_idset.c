/* Unit tests for id sets (src/util/idset.c): members found from their hash and only from it,
 * after growth and after removals in any order (backward shift keeps every member of a probe
 * run reachable, including runs that wrap around the end of the table), with many members
 * sharing one hash, and an empty set probed safely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "util/idset.h"

/* How many times id comes back when probing hash h. */
static int found(const idset *s, uint32_t h, uint32_t id) {
    int k = 0;
    uint32_t pos = idset_start(s, h), got;
    while ((got = idset_probe(s, h, &pos)) != IDSET_NONE) k += got == id;
    return k;
}

static void test_empty(void **state) {
    (void)state;
    idset s = IDSET_INIT;
    assert_int_equal(found(&s, 5, 1), 0);
    assert_false(idset_remove(&s, 5, 1));
    assert_int_equal(idset_bytes(&s), 0);
    idset_insert(&s, 5, 0); /* id 0 is a member like any other */
    assert_int_equal(found(&s, 5, 0), 1);
    assert_int_equal(found(&s, 6, 0), 0);
    assert_false(idset_remove(&s, 6, 0)); /* wrong hash */
    assert_true(idset_remove(&s, 5, 0));
    assert_int_equal(s.count, 0);
    idset_free(&s);
    idset_free(&s); /* twice is harmless */
}

/* Random hashes from a small range, so runs are long, collide and wrap; removals in random
 * order, re-insertions, and a check of every member after each phase. */
static void test_random(void **state) {
    (void)state;
    enum { N = 5000 };
    trng r = {7};
    for (int round = 0; round < 4; round++) {
        idset s = IDSET_INIT;
        uint32_t h[N];
        bool in[N] = {false};
        uint32_t hrange = round == 0 ? 1 : round == 1 ? 16 : round == 2 ? 4096 : UINT32_MAX;
        for (uint32_t i = 0; i < N; i++) {
            /* all hashes near the top of the range in round 3: runs start at the last slots */
            h[i] = round == 3 ? UINT32_MAX - (uint32_t)(tr_next(&r) % 8)
                              : (uint32_t)(tr_next(&r) % hrange);
            if (round == 0 && i >= 300) break; /* one hash for all: keep it quadratic-small */
            idset_insert(&s, h[i], i);
            in[i] = true;
        }
        uint32_t n = round == 0 ? 300 : N;
        for (int phase = 0; phase < 3; phase++) {
            for (uint32_t i = 0; i < n; i++) {
                if (phase == 1 && tr_next(&r) % 2 && in[i]) {
                    assert_true(idset_remove(&s, h[i], i));
                    in[i] = false;
                    assert_false(idset_remove(&s, h[i], i));
                } else if (phase == 2 && !in[i] && tr_next(&r) % 2) {
                    idset_insert(&s, h[i], i);
                    in[i] = true;
                }
            }
            uint32_t cnt = 0;
            for (uint32_t i = 0; i < n; i++) {
                assert_int_equal(found(&s, h[i], i), in[i] ? 1 : 0);
                cnt += in[i];
            }
            assert_int_equal(s.count, cnt);
            /* at most three quarters full */
            assert_true((uint64_t)s.count * 4 <= ((uint64_t)s.mask + 1) * 3);
        }
        idset_free(&s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests_name("idset", tests, NULL, NULL);
}
