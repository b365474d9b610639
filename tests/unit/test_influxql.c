/* Unit tests for the InfluxQL lexer and parser (src/influxql/): durations, the AST of each
 * statement, precedence, and InfluxDB's wording and positions of syntax errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "influxql/iql_int.h"

static iql_query parse_ok(arena *a, const char *q) {
    iql_query out;
    err e;
    err_clear(&e);
    if (iql_parse(a, q, strlen(q), &out, &e) != 0) fail_msg("'%s' refused: %s", q, e.msg);
    return out;
}

static void parse_bad(const char *q, const char *msg) {
    arena *a = arena_new(0);
    iql_query out;
    err e;
    err_clear(&e);
    if (iql_parse(a, q, strlen(q), &out, &e) != -1) fail_msg("'%s' accepted", q);
    assert_int_equal(e.http, 400);
    if (strcmp(e.msg, msg)) fail_msg("'%s':\n  got  '%s'\n  want '%s'", q, e.msg, msg);
    arena_free(a);
}

static void test_durations(void **state) {
    (void)state;
    int64_t ns;
    assert_true(iql_duration("10s", 3, &ns) && ns == 10000000000LL);
    assert_true(iql_duration("1500ms", 6, &ns) && ns == 1500000000LL);
    assert_true(iql_duration("3u", 2, &ns) && ns == 3000);
    assert_true(iql_duration("3\xC2\xB5", 3, &ns) && ns == 3000);
    assert_true(iql_duration("2w", 2, &ns) && ns == 2 * 604800000000000LL);
    assert_true(iql_duration("7ns", 3, &ns) && ns == 7);
    assert_false(iql_duration("10", 2, &ns));
    assert_false(iql_duration("10x", 3, &ns));
    assert_false(iql_duration("s", 1, &ns));
    assert_false(iql_duration("99999999999999999w", 18, &ns)); /* past int64 */
}

static void test_select(void **state) {
    (void)state;
    arena *a = arena_new(0);
    iql_query q = parse_ok(a, "select mean(\"v\") AS m, v * 2 + 1 FROM \"db\".\"autogen\".\"cpu\" "
                              "WHERE time > now() - 1h AND \"host\" =~ /a\\/b/ "
                              "GROUP BY time(1m, -30s), \"host\" fill(previous) "
                              "ORDER BY time DESC LIMIT 10 OFFSET 2 SLIMIT 3 SOFFSET 1 "
                              "tz('UTC');");
    assert_int_equal(q.n, 1);
    const iql_select *s = &q.stmts[0].sel;
    assert_int_equal(q.stmts[0].k, IS_SELECT);
    assert_int_equal(s->nfields, 2);
    assert_string_equal(s->fields[0].alias, "m");
    assert_int_equal(s->fields[0].e->k, IE_CALL);
    assert_string_equal(s->fields[0].e->s, "mean");
    /* * binds tighter than + */
    const iql_expr *x = s->fields[1].e;
    assert_true(x->k == IE_BIN && x->op == IO_ADD && x->l->k == IE_BIN && x->l->op == IO_MUL);
    assert_int_equal(s->nfrom, 1);
    assert_string_equal(s->from[0], "cpu");
    /* AND of a time comparison and a regex */
    const iql_expr *w = s->where;
    assert_true(w->k == IE_BIN && w->op == IO_AND);
    assert_true(w->l->op == IO_GT && w->l->r->k == IE_BIN && w->l->r->l->k == IE_NOW);
    assert_true(w->r->op == IO_RE && w->r->r->k == IE_REGEX);
    assert_string_equal(w->r->r->s, "a/b");
    assert_int_equal(s->every, 60000000000LL);
    assert_int_equal(s->offset, -30000000000LL);
    assert_int_equal(s->ntags, 1);
    assert_int_equal(s->fill, FILL_PREVIOUS);
    assert_true(s->desc);
    assert_true(s->limit == 10 && s->offset_rows == 2 && s->slimit == 3 && s->soffset == 1);
    assert_string_equal(s->tz, "UTC");
    assert_string_equal(s->db, "db");
    q = parse_ok(a, "SELECT v FROM rp.m GROUP BY /^h/, \"x\"::tag");
    assert_null(q.stmts[0].sel.db);
    assert_string_equal(q.stmts[0].sel.tags_re, "^h");
    assert_string_equal(q.stmts[0].sel.tags[0], "x");
    q = parse_ok(a, "SELECT max(m) FROM (SELECT mean(v) AS m FROM (SELECT v FROM c) GROUP BY "
                    "time(1m)) WHERE m > 1");
    assert_int_equal(q.stmts[0].sel.nfrom, 0);
    assert_string_equal(q.stmts[0].sel.sub->fields[0].alias, "m");
    assert_string_equal(q.stmts[0].sel.sub->sub->from[0], "c");
    assert_non_null(q.stmts[0].sel.where);
    q = parse_ok(a, "SELECT * FROM /^c/ GROUP BY * fill(-1.5)");
    assert_string_equal(q.stmts[0].sel.from_re, "^c");
    assert_true(q.stmts[0].sel.group_all);
    assert_int_equal(q.stmts[0].sel.fill, FILL_VALUE);
    assert_true(q.stmts[0].sel.fill_value->f == -1.5);
    arena_free(a);
}

static void test_other_statements(void **state) {
    (void)state;
    arena *a = arena_new(0);
    iql_query q = parse_ok(a, "SHOW DATABASES; show measurements on d with measurement =~ /x/ "
                              "limit 2; SHOW TAG VALUES FROM m WITH KEY IN (a, \"b\"); "
                              "SHOW TAG KEYS; SHOW FIELD KEYS FROM m; SHOW SERIES ON d; "
                              "SHOW RETENTION POLICIES ON d; CREATE DATABASE x WITH DURATION 3d "
                              "REPLICATION 1 NAME r; DROP DATABASE x; DROP MEASUREMENT m");
    assert_int_equal(q.n, 10);
    enum iql_sk want[] = {IS_SHOW_DATABASES,  IS_SHOW_MEASUREMENTS, IS_SHOW_TAG_VALUES,
                          IS_SHOW_TAG_KEYS,   IS_SHOW_FIELD_KEYS,   IS_SHOW_SERIES,
                          IS_SHOW_RP,         IS_CREATE_DB,         IS_DROP_DB,
                          IS_DROP_MEASUREMENT};
    for (size_t i = 0; i < q.n; i++) assert_int_equal(q.stmts[i].k, want[i]);
    assert_string_equal(q.stmts[1].db, "d");
    assert_string_equal(q.stmts[1].meas_re, "x");
    assert_int_equal(q.stmts[1].limit, 2);
    assert_int_equal(q.stmts[2].nkeys, 2);
    assert_string_equal(q.stmts[2].keys[1], "b");
    assert_int_equal(q.stmts[7].duration, 3 * 86400000000000LL);
    assert_string_equal(q.stmts[9].name, "m");
    q = parse_ok(a, "DELETE FROM m WHERE h = 'a'; DELETE WHERE time < now(); DROP SERIES FROM /x/");
    assert_int_equal(q.n, 3);
    assert_true(q.stmts[0].k == IS_DELETE && !strcmp(q.stmts[0].name, "m") && q.stmts[0].where);
    assert_true(q.stmts[1].k == IS_DELETE && !q.stmts[1].name && q.stmts[1].where);
    assert_true(q.stmts[2].k == IS_DROP_SERIES && !strcmp(q.stmts[2].from_re, "x"));
    arena_free(a);
}

static void test_errors(void **state) {
    (void)state;
    parse_bad("", "error parsing query: found EOF, expected SELECT, DELETE, SHOW, CREATE, DROP, "
                  "EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1");
    parse_bad("SELECT FROM m",
              "error parsing query: found FROM, expected identifier, string, number, bool at "
              "line 1, char 8");
    parse_bad("SELECT v FROM m WHERE",
              "error parsing query: found EOF, expected identifier, string, number, bool at "
              "line 1, char 22");
    parse_bad("SELECT v FROM m;\n  SHOW NOTHING",
              "error parsing query: found NOTHING, expected DATABASES, FIELD, MEASUREMENTS, "
              "RETENTION, SERIES, TAG at line 2, char 8");
    parse_bad("SELECT v FROM m GROUP BY time(0s)",
              "error parsing query: found 0s, expected a positive duration at line 1, char 31");
    parse_bad("SELECT 'é' + FROM m",
              "error parsing query: found FROM, expected identifier, string, number, bool at "
              "line 1, char 14");
    parse_bad("SELECT v FROM m WHERE h = 'x",
              "error parsing query: unterminated string at line 1, char 27");
    parse_bad("SELECT v FROM m fill(sometimes)",
              "error parsing query: found sometimes, expected null, none, previous, linear, "
              "number at line 1, char 22");
    parse_bad("SELECT v FROM a.b.c.d",
              "error parsing query: found ., expected identifier at line 1, char 20");
    parse_bad("SELECT v FROM (SHOW DATABASES)",
              "error parsing query: found SHOW, expected SELECT at line 1, char 16");
    {
        char deep[4096] = "SELECT v FROM m WHERE ";
        for (int i = 0; i < 1000; i++) strcat(deep, "(");
        parse_bad(deep, "error parsing query: more than 200 nested parentheses or subqueries at "
                        "line 1, char 223");
        char sub[8192] = "SELECT v FROM ";
        for (int i = 0; i < 300; i++) strcat(sub, "(SELECT v FROM ");
        parse_bad(sub, "error parsing query: more than 200 nested parentheses or subqueries at "
                       "line 1, char 3015");
    }
    {
        buf b;
        buf_init(&b);
        buf_puts(&b, "SELECT v");
        for (int i = 0; i < 6000; i++) buf_puts(&b, "+v");
        buf_puts(&b, " FROM m");
        arena *a = arena_new(0);
        iql_query out;
        err e;
        assert_int_equal(iql_parse(a, b.p, b.len, &out, &e), -1);
        assert_string_equal(e.msg, "error parsing query: more than 5000 operators at line 1, "
                                   "char 12010");
        arena_free(a);
        buf_free(&b);
    }
    parse_bad("DROP SERIES", "error parsing query: found EOF, expected FROM, WHERE at line 1, "
                             "char 12");
    parse_bad("DELETE FROM a, b", "error parsing query: found EOF, expected one measurement at "
                                  "line 1, char 17");
    parse_bad("SELECT v FROM m x", "error parsing query: found x, expected ; at line 1, char 17");
    parse_bad("SELECT v INTO o FROM m",
              "error parsing query: SELECT ... INTO is not supported by Strata at line 1, "
              "char 10");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_other_statements),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
