/* Unit tests for the time-series generating functions (src/sql/tsgen.c): the grid a
 * timestamp_repair finds (median, mode, cluster, a given interval, both starts) and how the
 * alignment adds, drops and moves points; value_fill's methods at the series' ends; value_repair
 * pulling a spike back in (screen and lsgreedy) and leaving a clean line alone; argument
 * parsing and its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <math.h>

#include "sql/tsgen.h"

#define S 1000000000LL

static void run(int kind, const char *args, const int64_t *t, const double *v, uint32_t n,
                int64_t **ot, double **ov, uint32_t *on, arena *a) {
    tsgen_opts o;
    err e = {0};
    assert_int_equal(tsgen_parse_opts(kind, args, args ? strlen(args) : 0, &o, &e), 0);
    assert_int_equal(tsgen_run(kind, &o, a, t, v, n, ot, ov, on, &e), 0);
}

static void test_timestamp_grid(void **state) {
    (void)state;
    arena *a = arena_new(0);
    /* 10 s apart but for one missing point (40 s) and one 2 s late (52 s) */
    const int64_t t[] = {0, 10 * S, 20 * S, 30 * S, 52 * S, 60 * S, 70 * S};
    const double v[] = {1, 2, 3, 4, 5, 6, 7};
    int64_t *ot;
    double *ov;
    uint32_t on;
    const char *methods[] = {NULL, "method=mode", "method=cluster", "interval=10000",
                             "start_mode=linear&interval=10000"};
    for (int m = 0; m < 4; m++) {
        if (m == 2) continue; /* cluster: below */
        run(TSGEN_TIMESTAMP_REPAIR, methods[m], t, v, 7, &ot, &ov, &on, a);
        assert_int_equal(on, 8);
        for (uint32_t i = 0; i < on; i++) assert_int_equal(ot[i], (int64_t)i * 10 * S);
        assert_true(isnan(ov[4])); /* 40 s: added */
        assert_true(ov[5] == 5);   /* 52 s moved to 50 s */
        assert_true(ov[7] == 7);
    }
    /* cluster: the gaps 10, 10, 10, 22, 8, 10 s fall in two clusters, the large one's mean is
     * 9.6 s */
    run(TSGEN_TIMESTAMP_REPAIR, methods[2], t, v, 7, &ot, &ov, &on, a);
    assert_int_equal(ot[1] - ot[0], 9600000000LL);
    /* a least-squares start: the points' mean offset from a 10 s grid from 0, (12 + 10 + 10)
     * s / 7 */
    run(TSGEN_TIMESTAMP_REPAIR, methods[4], t, v, 7, &ot, &ov, &on, a);
    assert_int_equal(ot[0], 32 * S / 7);
    assert_int_equal(ot[1] - ot[0], 10 * S);
    /* two points or fewer come back as they are */
    run(TSGEN_TIMESTAMP_REPAIR, NULL, t, v, 2, &ot, &ov, &on, a);
    assert_int_equal(on, 2);
    assert_int_equal(ot[1], 10 * S);
    arena_free(a);
}

static void test_fill(void **state) {
    (void)state;
    arena *a = arena_new(0);
    const int64_t t[] = {1, 2, 3, 4, 5};
    const double v[] = {NAN, 1, INFINITY, 5, NAN};
    int64_t *ot;
    double *ov;
    uint32_t on;
    run(TSGEN_VALUE_FILL, NULL, t, v, 5, &ot, &ov, &on, a);
    const double lin[] = {1, 1, 3, 5, 5};
    for (int i = 0; i < 5; i++) assert_true(ov[i] == lin[i]);
    run(TSGEN_VALUE_FILL, "method=mean", t, v, 5, &ot, &ov, &on, a);
    assert_true(ov[0] == 3 && ov[2] == 3 && ov[4] == 3);
    run(TSGEN_VALUE_FILL, "method=previous", t, v, 5, &ot, &ov, &on, a);
    assert_true(isnan(ov[0]) && ov[2] == 1 && ov[4] == 5);
    const double none[] = {NAN, NAN};
    tsgen_opts o;
    err e = {0};
    assert_int_equal(tsgen_parse_opts(TSGEN_VALUE_FILL, NULL, 0, &o, &e), 0);
    assert_int_equal(tsgen_run(TSGEN_VALUE_FILL, &o, a, t, none, 2, &ot, &ov, &on, &e), -1);
    assert_non_null(strstr(e.msg, "All values are Invalid"));
    err_clear(&e);
    arena_free(a);
}

static void test_repair(void **state) {
    (void)state;
    arena *a = arena_new(0);
    int64_t t[20];
    double v[20];
    for (int i = 0; i < 20; i++) {
        t[i] = i * S;
        v[i] = 2.0 * i;
    }
    int64_t *ot;
    double *ov;
    uint32_t on;
    /* a clean line stays as it is */
    run(TSGEN_VALUE_REPAIR, NULL, t, v, 20, &ot, &ov, &on, a);
    for (int i = 0; i < 20; i++) assert_true(fabs(ov[i] - v[i]) < 1e-6);
    /* a spike is pulled back onto the line by both methods */
    v[9] = 500;
    run(TSGEN_VALUE_REPAIR, NULL, t, v, 20, &ot, &ov, &on, a);
    assert_true(fabs(ov[9] - 18) < 1e-6);
    run(TSGEN_VALUE_REPAIR, "method=lsgreedy", t, v, 20, &ot, &ov, &on, a);
    assert_true(fabs(ov[9] - 18) < 1.0);
    assert_true(fabs(ov[0] - 0) < 1e-9 && fabs(ov[19] - 38) < 1e-9);
    arena_free(a);
}

static void test_args(void **state) {
    (void)state;
    tsgen_opts o;
    err e = {0};
    assert_int_equal(tsgen_parse_opts(TSGEN_VALUE_REPAIR,
                                      "method=screen&min_speed=-1.5&max_speed=2", 41, &o, &e),
                     0);
    assert_true(o.has_min_speed && o.min_speed == -1.5 && o.max_speed == 2);
    assert_int_equal(tsgen_parse_opts(TSGEN_TIMESTAMP_REPAIR, "interval=1%30", 13, &o, &e), 0);
    assert_int_equal(o.interval_ms, 10);
    static const struct {
        int kind;
        const char *arg, *msg;
    } bad[] = {
        {TSGEN_VALUE_FILL, "method=x", "Invalid fill method: x"},
        {TSGEN_VALUE_FILL, "m=1", "unknown field `m`, expected `method`"},
        {TSGEN_TIMESTAMP_REPAIR, "method=mode&method=mode", "duplicate field `method`"},
        {TSGEN_TIMESTAMP_REPAIR, "interval=-5", "interval must be positive"},
        {TSGEN_VALUE_REPAIR, "sigma=big", "invalid float literal"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(tsgen_parse_opts(bad[i].kind, bad[i].arg, strlen(bad[i].arg), &o, &e), -1);
        assert_non_null(strstr(e.msg, bad[i].msg));
        err_clear(&e);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamp_grid),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_repair),
        cmocka_unit_test(test_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
