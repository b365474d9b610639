/* Unit tests for the system views (src/sql/sysview*.c) and the registries behind them
 * (src/sql/queries.c, src/sql/rstatus.c): a view lists only the session tenant's objects and
 * statements, gives back every table version it took, and KILL QUERY reaches only a statement
 * of the killer's tenant, stopping it at its next check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#include "meta/catalog_int.h"
#include "sql/expr.h"
#include "sql/queries.h"
#include "sql/rstatus.h"
#include "sql/sql.h"
#include "sql/parser.h"
#include "sql/sql_int.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

static col_def col(const char *n, uint8_t kind, uint8_t type) {
    return (col_def){n, strlen(n), kind, type, 0, 0, 0};
}

/* A catalog with tenants cnosdb (db a, table ta) and t2 (db b, table tb). */
static catalog *two_tenants(char **dir) {
    *dir = tu_tmpdir("sysview");
    catalog *c = NULL;
    err e;
    err_clear(&e);
    assert_int_equal(catalog_open(*dir, &c, &e), 0);
    tenant_opts to = {0};
    assert_int_equal(catalog_create_tenant(c, "t2", &to, false, &e), 0);
    db_options o;
    db_options_default(&o);
    col_def cols[] = {col("t0", CK_TAG, VT_STR), col("f0", CK_FIELD, VT_I64)};
    assert_int_equal(catalog_create_db(c, "cnosdb", "a", &o, false, &e), 0);
    assert_int_equal(catalog_create_table(c, "cnosdb", "a", "ta", cols, 2, false, &e), 0);
    assert_int_equal(catalog_create_db(c, "t2", "b", &o, false, &e), 0);
    assert_int_equal(catalog_create_table(c, "t2", "b", "tb", cols, 2, false, &e), 0);
    return c;
}

/* The rows of sql as `v,v\n` lines (strings and integers only), or the error. */
static char *run(catalog *c, const char *tenant, const char *sql) {
    arena *a = arena_new(1 << 12);
    sql_session s = {.cat = c, .tenant = tenant, .db = "public", .user = "root", .a = a};
    sql_result *r = NULL;
    err e;
    err_clear(&e);
    buf out;
    buf_init(&out);
    if (sql_run(&s, sql, strlen(sql), &r, &e) < 0) {
        buf_printf(&out, "error: %s", e.msg);
    } else {
        batch b;
        int rc;
        while ((rc = sql_result_next(r, &b, &e)) > 0)
            for (uint32_t i = 0; i < b.nrows; i++)
                for (uint32_t k = 0; k < b.ncols; k++) {
                    const vec *v = &b.cols[k];
                    if (v->type == VT_STR)
                        buf_printf(&out, "%.*s", (int)v->d.s[i].len, v->d.s[i].p);
                    else if (v->type == VT_U64)
                        buf_printf(&out, "%llu", (unsigned long long)v->d.u64[i]);
                    else if (v->type == VT_I64)
                        buf_printf(&out, "%lld", (long long)v->d.i64[i]);
                    buf_putc(&out, k + 1 < b.ncols ? ',' : '\n');
                }
        if (rc < 0) buf_printf(&out, "error: %s", e.msg);
        sql_result_close(r);
    }
    arena_free(a);
    buf_putc(&out, 0);
    return out.p;
}

static void expect(catalog *c, const char *tenant, const char *sql, const char *want) {
    char *got = run(c, tenant, sql);
    if (strcmp(got, want)) fail_msg("%s as %s:\n got '%s'\nwant '%s'", sql, tenant, got, want);
    free(got);
}

static void test_views_are_scoped_to_the_tenant(void **state) {
    (void)state;
    char *dir;
    catalog *c = two_tenants(&dir);
    err e;
    meta_table *ta = catalog_get_table(c, "cnosdb", "a", "ta", &e);
    assert_non_null(ta);
    int refs = __atomic_load_n(&ta->refs, __ATOMIC_ACQUIRE);

    expect(c, "t2", "SELECT tenant_name, database_name FROM information_schema.databases",
           "t2,b\n");
    expect(c, "t2", "SELECT * FROM information_schema.tables", "t2,b,tb,TABLE,TSKV,TODO\n");
    expect(c, "t2",
           "SELECT table_name, column_name, ordinal_position FROM INFORMATION_SCHEMA.Columns",
           "tb,time,0\ntb,t0,1\ntb,f0,2\n");
    expect(c, "cnosdb", "SELECT table_database, table_name FROM information_schema.tables",
           "a,ta\n");
    /* views join and aggregate like tables */
    expect(c, "cnosdb",
           "SELECT t.table_name, count(*) FROM information_schema.tables t JOIN "
           "information_schema.columns c ON t.table_name = c.table_name GROUP BY t.table_name",
           "ta,3\n");
    expect(c, "t2", "SELECT * FROM information_schema.nope",
           "error: Table not found: \"t2.information_schema.nope\"");
    /* every table version a view took is given back */
    assert_int_equal(__atomic_load_n(&ta->refs, __ATOMIC_ACQUIRE), refs);

    /* a delayed drop is listed to its own tenant only */
    rstatus_schedule("cnosdb", "a", catalog_db_id_any(c, "cnosdb", "a"), 1);
    expect(c, "t2", "SELECT name FROM information_schema.resource_status", "");
    expect(c, "cnosdb", "SELECT name, status FROM information_schema.resource_status",
           "cnosdb-a,Cancel\n");

    meta_table_release(ta);
    catalog_close(c);
    tu_rmdir(dir);
}

static void test_kill_reaches_only_its_tenant(void **state) {
    (void)state;
    arena_budget b1 = {0}, b2 = {0};
    static const char t1[] = "select 1", t2[] = "select 2";
    query_entry *q1 = queries_enter("cnosdb", "root", "public", t1, strlen(t1), &b1);
    query_entry *q2 = queries_enter("t2", "u", "db", t2, strlen(t2), &b2);
    arena *a = arena_new(0);
    query_row *rows;
    size_t n;
    queries_list("t2", NULL, a, &rows, &n);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].text, "select 2");
    assert_string_equal(rows[0].state, "ANALYZING");
    uint64_t id2 = rows[0].id;
    queries_running(q2);
    queries_processed(q2, 7);
    queries_list("t2", NULL, a, &rows, &n);
    assert_string_equal(rows[0].state, "SCHEDULING");
    assert_int_equal(rows[0].processed, 7);

    err e;
    err_clear(&e);
    /* another tenant's id is not found, and its statement goes on */
    assert_int_equal(queries_kill("cnosdb", NULL, id2, &e), -1);
    assert_non_null(strstr(e.msg, "Query not found"));
    /* another user of the tenant (not an administrator) neither sees nor kills it */
    queries_list("t2", "v", a, &rows, &n);
    assert_int_equal(n, 0);
    assert_int_equal(queries_kill("t2", "v", id2, &e), -1);
    queries_list("t2", "u", a, &rows, &n);
    assert_int_equal(n, 1);
    assert_int_equal(budget_check(&b2, &e), 0);
    assert_int_equal(queries_kill("t2", "u", id2, &e), 0);
    assert_int_equal(budget_check(&b2, &e), -1);
    assert_string_equal(e.msg, "The query has been canceled");
    assert_string_equal(e.code, "010014");
    /* a worker's budget under the killed one stops too */
    arena_budget part = {.parent = &b2};
    assert_int_equal(budget_check(&part, &e), -1);
    assert_int_equal(budget_check(&b1, &e), 0);

    queries_leave(q2);
    assert_int_equal(queries_kill("t2", NULL, id2, &e), -1);
    queries_list("cnosdb", NULL, a, &rows, &n);
    assert_int_equal(n, 1);
    queries_leave(q1);
    queries_list("cnosdb", NULL, a, &rows, &n);
    assert_int_equal(n, 0);
    arena_free(a);
}

/* SHOW QUERIES never shows a password: the text of CREATE/ALTER USER ... PASSWORD is replaced. */
static void test_query_text_hides_passwords(void **state) {
    (void)state;
    arena *a = arena_new(0);
    const char *cases[][2] = {
        {"create user u1 with password = 'S3cret', comment = 'c'",
         "CREATE USER u1 ... PASSWORD = '*****' ..."},
        {"alter user u1 set password = 'S3cret'", "ALTER USER u1 ... PASSWORD = '*****' ..."},
        {"alter user u1 set comment = 'kept'", "alter user u1 set comment = 'kept'"},
        {"select 'password'", "select 'password'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sql_stmt **st;
        size_t n;
        err e;
        size_t len = strlen(cases[i][0]);
        assert_int_equal(sql_parse(a, cases[i][0], len, &st, &n, &e), 0);
        const char *t = sqlx_secret_free_text(a, st[0], cases[i][0], &len);
        assert_int_equal(len, strlen(cases[i][1]));
        assert_memory_equal(t, cases[i][1], len);
    }
    arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_views_are_scoped_to_the_tenant),
        cmocka_unit_test(test_kill_reaches_only_its_tenant),
        cmocka_unit_test(test_query_text_hides_passwords),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
