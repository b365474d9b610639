/* Unit tests for the query planner (src/sql/plan*.c, bind.c) that need no storage: planning
 * errors, which all happen before a scan is opened.
 *
 * The planner holds a reference to the table it reads from FROM until it returns; every error
 * path must give it back, or the table version is never freed (and a dropped table's memory
 * stays for the life of the server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#include "meta/catalog.h"
#include "sql/sql.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/log.h"

static col_def col(const char *n, uint8_t kind, uint8_t type) {
    return (col_def){n, strlen(n), kind, type, 0, 0, 0};
}

/* Each statement fails in planning, after FROM took the table, with the error quoted. */
static void test_errors_release_the_table(void **state) {
    (void)state;
    static const struct {
        const char *sql, *msg;
    } cases[] = {
        {"SELECT f0 FROM t GROUP BY 3",
         "Expression t.f0 could not be resolved from available columns: Int64(3)"},
        {"SELECT f0 FROM t GROUP BY ROLLUP (t0)", "Projection references non-aggregate values"},
        {"SELECT * FROM t JOIN t AS u ON t.nope = u.f0", "No field named t.nope"},
        {"SELECT * FROM t, t AS u, (SELECT nope FROM t) AS v", "No field named nope"},
        {"SELECT lag(f0) OVER (ORDER BY nope) FROM t", "No field named nope"},
        {"SELECT f0 FROM t WHERE EXISTS (SELECT 1 FROM t AS u WHERE u.f0 = t.f0 AND u.nope = 1)",
         "No field named u.nope"},
        {"SELECT (SELECT max(f0) FROM t AS u WHERE u.t0 > t.t0) FROM t", "by equality"},
        {"SELECT nope FROM t UNION SELECT f0 FROM t", "No field named nope"},
        {"SELECT nope FROM t", "No field named nope"},
        {"SELECT f0 FROM t WHERE nope > 1", "No field named nope"},
        {"SELECT f0 FROM t ORDER BY 5", "Order by column out of bounds"},
        {"SELECT f0 FROM t LIMIT f0", "Unexpected expression in LIMIT clause"},
        {"SELECT t0, count(*) FROM t GROUP BY f0", "Projection references non-aggregate values"},
    };
    char *dir = tu_tmpdir("plan");
    catalog *c = NULL;
    err e;
    err_clear(&e);
    assert_int_equal(catalog_open(dir, &c, &e), 0);
    db_options o;
    db_options_default(&o);
    assert_int_equal(catalog_create_db(c, "cnosdb", "db1", &o, false, &e), 0);
    col_def cols[] = {col("t0", CK_TAG, VT_STR), col("f0", CK_FIELD, VT_I64)};
    assert_int_equal(catalog_create_table(c, "cnosdb", "db1", "t", cols, 2, false, &e), 0);
    meta_table *t = catalog_get_table(c, "cnosdb", "db1", "t", &e);
    assert_non_null(t);
    int refs = __atomic_load_n(&t->refs, __ATOMIC_ACQUIRE);

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        arena *a = arena_new(1 << 12);
        sql_session s = {
            .cat = c, .tenant = "cnosdb", .db = "db1", .user = "root", .is_admin = true, .a = a};
        sql_result *r = NULL;
        err_clear(&e);
        int rc = sql_run(&s, cases[i].sql, strlen(cases[i].sql), &r, &e);
        if (rc == 0 || !strstr(e.msg, cases[i].msg))
            fail_msg("%s: rc %d, error '%s'", cases[i].sql, rc, e.msg);
        assert_int_equal(__atomic_load_n(&t->refs, __ATOMIC_ACQUIRE), refs);
        arena_free(a);
    }
    meta_table_release(t);
    catalog_close(c);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_release_the_table),
    };
    log_set_level(LOG_ERROR);
    return cmocka_run_group_tests_name("sql_plan", tests, NULL, NULL);
}
