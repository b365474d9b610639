/* Unit tests for the OpenTSDB text and JSON parsers (ingest/opentsdb.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/opentsdb.h"
#include "ingest/point.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

typedef struct fx {
    arena *a;
    point_batch pb;
    err e;
} fx;

static int fx_setup(void **st) {
    fx *f = xcalloc(1, sizeof *f);
    f->a = arena_new(0);
    *st = f;
    return 0;
}

static int fx_teardown(void **st) {
    fx *f = *st;
    arena_free(f->a);
    free(f);
    return 0;
}

static void assert_sv(strv s, const char *want) {
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("got '%.*s', want '%s'", (int)s.len, s.p, want);
}

typedef int (*parse_fn)(arena *, const char *, size_t, point_batch *, err *);

static point_batch *ok_with(fx *f, parse_fn fn, const char *body) {
    memset(&f->pb, 0, sizeof f->pb);
    err_clear(&f->e);
    if (fn(f->a, body, strlen(body), &f->pb, &f->e) != 0)
        fail_msg("parse failed: [%s] %s", f->e.code, f->e.msg);
    return &f->pb;
}

static void bad_with(fx *f, parse_fn fn, const char *body, size_t len, int http, const char *code,
                     const char *msg) {
    memset(&f->pb, 0, sizeof f->pb);
    err_clear(&f->e);
    if (fn(f->a, body, len, &f->pb, &f->e) != -1) fail_msg("accepted '%.*s'", (int)len, body);
    assert_int_equal(f->pb.n, 0);
    assert_int_equal(f->e.http, http);
    if (strcmp(f->e.code, code) != 0) fail_msg("code %s, want %s (%s)", f->e.code, code, f->e.msg);
    if (msg && strcmp(f->e.msg, msg) != 0) fail_msg("message\n  '%s'\nwant\n  '%s'", f->e.msg, msg);
}

static point_batch *text_ok(fx *f, const char *body) {
    return ok_with(f, tsdb_parse_text, body);
}
static point_batch *json_ok(fx *f, const char *body) {
    return ok_with(f, tsdb_parse_json, body);
}

static void text_bad(fx *f, const char *body, const char *msg) {
    bad_with(f, tsdb_parse_text, body, strlen(body), 400, EC_OPENTSDB_TEXT, msg);
}

static void json_bad(fx *f, const char *body, const char *msg) {
    bad_with(f, tsdb_parse_json, body, strlen(body), 400, EC_OPENTSDB_JSON, msg);
}

static void check_value_field(const point *p, double v) {
    assert_int_equal(p->nfields, 1);
    assert_sv(p->fields[0].key, "value");
    assert_int_equal(p->fields[0].type, VT_F64);
    assert_true(p->fields[0].v.f == v);
}

/* ---- text ----------------------------------------------------------------------------- */

static void test_text_basic(void **st) {
    fx *f = *st;
    point_batch *b = text_ok(f, "sys.if.bytes.out 1666165200290401000 1 host=web01 interface=eth0");
    assert_int_equal(b->n, 1);
    point *p = &b->pts[0];
    assert_sv(p->table, "sys.if.bytes.out");
    assert_true(p->has_ts);
    assert_true(p->ts == 1666165200290401000LL);
    assert_int_equal(p->ntags, 2);
    assert_sv(p->tags[0].key, "host");
    assert_sv(p->tags[0].val, "web01");
    assert_sv(p->tags[1].key, "interface");
    assert_sv(p->tags[1].val, "eth0");
    check_value_field(p, 1.0);
    assert_int_equal(p->line, 1);
}

static void test_text_many_lines(void **st) {
    fx *f = *st;
    point_batch *b = text_ok(f, "put m1 1 1.5 b=2 a=1\r\n"
                                "\n"
                                "   \r\n"
                                "m2 -5 -2.5e3 x=y,z=w\n"
                                "\tput\tm3\t7\t+3\tk=v\n"
                                "m4 8 0.1\n"
                                "m5 9 7 b=3,a=1 c=4\n"
                                "put put 10 1e-2 t=1");
    assert_int_equal(b->n, 6);
    assert_sv(b->pts[0].table, "m1");
    assert_sv(b->pts[0].tags[0].key, "a"); /* sorted */
    assert_sv(b->pts[0].tags[1].val, "2");
    check_value_field(&b->pts[0], 1.5);
    assert_int_equal(b->pts[1].line, 4);
    assert_true(b->pts[1].ts == -5);
    check_value_field(&b->pts[1], -2500.0);
    assert_int_equal(b->pts[1].ntags, 2);
    assert_sv(b->pts[1].tags[1].key, "z");
    assert_sv(b->pts[2].table, "m3");
    check_value_field(&b->pts[2], 3.0);
    assert_int_equal(b->pts[3].ntags, 0); /* zero tags accepted */
    assert_null(b->pts[3].tags);
    check_value_field(&b->pts[3], 0.1);
    assert_int_equal(b->pts[4].ntags, 3);
    assert_sv(b->pts[4].tags[0].val, "1"); /* sorted */
    assert_sv(b->pts[5].table, "put");
    check_value_field(&b->pts[5], 0.01);
    assert_int_equal(b->pts[5].line, 8);
    /* Empty bodies. */
    assert_int_equal(text_ok(f, "")->n, 0);
    assert_int_equal(text_ok(f, "\n\r\n  \n")->n, 0);
    /* A tag value may hold '='. */
    assert_sv(text_ok(f, "m 1 1 k=a=b")->pts[0].tags[0].val, "a=b");
}

static void test_text_big(void **st) {
    fx *f = *st;
    buf b;
    buf_init(&b);
    for (int i = 0; i < 20000; i++)
        buf_printf(&b, "put cpu %d %d.25 host=h%d dc=x\n", i, i, i % 10);
    point_batch *pb = ok_with(f, tsdb_parse_text, buf_cstr(&b));
    assert_int_equal(pb->n, 20000);
    assert_true(pb->pts[19999].ts == 19999);
    check_value_field(&pb->pts[123], 123.25);
    assert_int_equal(pb->pts[123].line, 124);
    buf_free(&b);
}

static void test_text_errors(void **st) {
    fx *f = *st;
    text_bad(f, "m", "Error parsing message: line 1: missing timestamp");
    text_bad(f, "put", "Error parsing message: line 1: missing metric");
    text_bad(f, "put   \r\n", "Error parsing message: line 1: missing metric");
    text_bad(f, "m 1", "Error parsing message: line 1: missing value");
    text_bad(f, "m x 1", "Error parsing message: line 1: invalid timestamp 'x'");
    text_bad(f, "m 12a 1", "Error parsing message: line 1: invalid timestamp '12a'");
    text_bad(f, "m 1.5 1", "Error parsing message: line 1: invalid timestamp '1.5'");
    text_bad(f, "m 9223372036854775808 1",
             "Error parsing message: line 1: invalid timestamp '9223372036854775808'");
    const char *vals[] = {"abc",   "1.2.3", "nan", "inf", "-inf", "0x10",
                          "1e999", "1i",    "--1", "1e",  "."};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        char body[64], want[128];
        snprintf(body, sizeof body, "m 1 %s a=b", vals[i]);
        snprintf(want, sizeof want, "Error parsing message: line 1: invalid value '%s'", vals[i]);
        text_bad(f, body, want);
    }
    text_bad(f, "m 1 1 host",
             "Error parsing message: line 1: invalid tag 'host', expected key=value");
    text_bad(f, "m 1 1 =a", "Error parsing message: line 1: invalid tag '=a', expected key=value");
    text_bad(f, "m 1 1 a=", "Error parsing message: line 1: invalid tag 'a=', expected key=value");
    text_bad(f, "m 1 1 a=b,c",
             "Error parsing message: line 1: invalid tag 'c', expected key=value");
    text_bad(f, "m 1 1 time=b", "Error parsing message: line 1: 'time' cannot be a tag key");
    text_bad(f, "m 1 1 a=1\n\nm 2 2 b=2\r\nm 3 oops c=3\nm 4 4",
             "Error parsing message: line 4: invalid value 'oops'");
    bad_with(f, tsdb_parse_text, "m 1 1 a=\xC3\x28", 10, 422, EC_UTF8,
             "Invalid utf-8 sequence: line 1, byte offset 8");
    /* A tag key given twice: which value names the series? Refused, as InfluxDB does. */
    text_bad(f, "m 1 1 a=1 b=2 a=3", "Error parsing message: line 1: duplicate tag key 'a'");
    /* Names are checked (util/names.h), never cut short at a NUL. */
    static const char nul_metric[] = "m\0x 1 1 a=b", ctl_key[] = "m 1 1 a\x01=b",
                      nul_value[] = "m 1 1 a=b\0c";
    bad_with(f, tsdb_parse_text, nul_metric, sizeof nul_metric - 1, 400, EC_OPENTSDB_TEXT,
             "Error parsing message: line 1: Invalid table name \"m\\x00x\": control character "
             "0x00 at byte 1");
    bad_with(f, tsdb_parse_text, ctl_key, sizeof ctl_key - 1, 400, EC_OPENTSDB_TEXT,
             "Error parsing message: line 1: Invalid column name \"a\\x01\": control character "
             "0x01 at byte 1");
    bad_with(f, tsdb_parse_text, nul_value, sizeof nul_value - 1, 400, EC_OPENTSDB_TEXT,
             "Error parsing message: line 1: tag value 'b\\x00c' holds a NUL byte");
}

static void test_text_prefixes(void **st) {
    fx *f = *st;
    const char *line = "put sys.cpu 1700000000 -12.5e-1 host=web01,dc=é\r\n";
    size_t n = strlen(line);
    for (size_t i = 0; i <= n; i++) {
        char *copy = xmalloc(i ? i : 1);
        memcpy(copy, line, i);
        point_batch b = {0};
        err e;
        int rc = tsdb_parse_text(f->a, copy, i, &b, &e);
        assert_true(rc == 0 || (rc == -1 && b.n == 0 && (e.http == 400 || e.http == 422)));
        free(copy);
    }
}

static void test_text_rollback(void **st) {
    fx *f = *st;
    point_batch b = {0};
    err e;
    assert_int_equal(tsdb_parse_text(f->a, "a 1 1", 5, &b, &e), 0);
    assert_int_equal(tsdb_parse_text(f->a, "b 1 1\nc 1 x", 11, &b, &e), -1);
    assert_int_equal(b.n, 1);
    assert_sv(b.pts[0].table, "a");
}

/* ---- JSON ----------------------------------------------------------------------------- */

static void test_json_array(void **st) {
    fx *f = *st;
    point_batch *b =
        json_ok(f, "[{\"metric\":\"nice\",\"timestamp\":1667456411000001,\"value\":18,"
                   "\"tags\":{\"host\":\"web01\",\"dc\":\"lga\"}},\n"
                   " {\"metric\":\"m\\u00e9\",\"timestamp\":-3,\"value\":-1.25e2,\"tags\":{},"
                   "\"extra\":[1,{\"x\":null}]}]");
    assert_int_equal(b->n, 2);
    point *p = &b->pts[0];
    assert_sv(p->table, "nice");
    assert_true(p->has_ts);
    assert_true(p->ts == 1667456411000001LL);
    check_value_field(p, 18.0);
    assert_int_equal(p->ntags, 2);
    assert_sv(p->tags[0].key, "dc");
    assert_sv(p->tags[0].val, "lga");
    assert_sv(p->tags[1].key, "host");
    assert_int_equal(p->line, 1);
    p = &b->pts[1];
    assert_sv(p->table, "m\xC3\xA9");
    assert_true(p->ts == -3);
    check_value_field(p, -125.0);
    assert_int_equal(p->ntags, 0);
    assert_int_equal(p->line, 2);
}

static void test_json_single_and_empty(void **st) {
    fx *f = *st;
    point_batch *b =
        json_ok(f, " {\"tags\":{\"a\":\"b\"},\"value\":0.5,\"timestamp\":9223372036854775807,"
                   "\"metric\":\"x\"} ");
    assert_int_equal(b->n, 1);
    assert_true(b->pts[0].ts == INT64_MAX);
    check_value_field(&b->pts[0], 0.5);
    assert_int_equal(json_ok(f, "[]")->n, 0);
    assert_int_equal(json_ok(f, "  [ ]\n")->n, 0);
}

static void test_json_strings_point_into_the_body(void **st) {
    fx *f = *st;
    /* As in line protocol, strings point into the body (no copy) unless they hold an escape,
     * whose text is unescaped into the arena (ASan checks it outlives the body). */
    const char *src = "[{\"metric\":\"cpu\",\"timestamp\":1,\"value\":2,"
                      "\"tags\":{\"k\":\"v\",\"\\u006b2\":\"\\\"q\\u00e9\\ud83d\\ude00\"}}]";
    char *body = xstrdup(src);
    point_batch b = {0};
    err e;
    assert_int_equal(tsdb_parse_json(f->a, body, strlen(body), &b, &e), 0);
    const point *p = &b.pts[0];
    assert_true(p->table.p >= body && p->table.p < body + strlen(body));
    assert_sv(p->table, "cpu");
    assert_sv(p->tags[0].key, "k");
    free(body);
    assert_sv(p->tags[1].key, "k2");
    assert_sv(p->tags[1].val, "\"q\xC3\xA9\xF0\x9F\x98\x80");
}

static void test_json_errors(void **st) {
    fx *f = *st;
    json_bad(f, "[{\"timestamp\":1,\"value\":1,\"tags\":{}}]",
             "Error parsing message: element 1: missing key 'metric'");
    json_bad(f, "[{\"metric\":\"m\",\"value\":1,\"tags\":{}}]",
             "Error parsing message: element 1: missing key 'timestamp'");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"tags\":{}}]",
             "Error parsing message: element 1: missing key 'value'");
    json_bad(f, "{\"metric\":\"m\",\"timestamp\":1,\"value\":1}",
             "Error parsing message: element 1: missing key 'tags'");
    json_bad(f,
             "[{\"metric\":\"a\",\"timestamp\":1,\"value\":1,\"tags\":{}},"
             "{\"metric\":5,\"timestamp\":1,\"value\":1,\"tags\":{}}]",
             "Error parsing message: element 2: 'metric' must be a string");
    json_bad(f, "[{\"metric\":\"\",\"timestamp\":1,\"value\":1,\"tags\":{}}]",
             "Error parsing message: element 1: 'metric' must not be empty");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1.5,\"value\":1,\"tags\":{}}]",
             "Error parsing message: element 1: 'timestamp' must be an integer");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":\"1\",\"value\":1,\"tags\":{}}]",
             "Error parsing message: element 1: 'timestamp' must be an integer");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"value\":\"1\",\"tags\":{}}]",
             "Error parsing message: element 1: 'value' must be a number");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"value\":true,\"tags\":{}}]",
             "Error parsing message: element 1: 'value' must be a number");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"value\":null,\"tags\":{}}]",
             "Error parsing message: element 1: 'value' must be a number");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":[]}]",
             "Error parsing message: element 1: 'tags' must be an object");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{\"a\":1}}]",
             "Error parsing message: element 1: tag 'a' must be a string");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{\"a\":{\"b\":\"c\"}}}]",
             "Error parsing message: element 1: tag 'a' must be a string");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{\"\":\"c\"}}]",
             "Error parsing message: element 1: empty tag key");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{\"a\":\"\"}}]",
             "Error parsing message: element 1: tag 'a' must not be empty");
    json_bad(f, "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{\"time\":\"x\"}}]",
             "Error parsing message: element 1: 'time' cannot be a tag key");
    json_bad(f, "[{\"metric\":\"a\\u0007b\",\"timestamp\":1,\"value\":1,\"tags\":{}}]",
             "Error parsing message: element 1: Invalid table name \"a\\x07b\": control "
             "character 0x07 at byte 1");
    json_bad(f, "[{\"metric\":\"  \",\"timestamp\":1,\"value\":1,\"tags\":{}}]",
             "Error parsing message: element 1: Invalid table name \"  \": only spaces");
    /* Not objects. */
    json_bad(f, "[{\"metric\":\"a\",\"timestamp\":1,\"value\":1,\"tags\":{}},[1]]",
             "Error parsing message: element 2: expected an object");
    json_bad(f, "[[[[]]]]", "Error parsing message: element 1: expected an object");
    json_bad(f, "[1]", "Error parsing message: element 1: expected an object");
    json_bad(f, "42", "Error parsing message: expected an object or an array of objects");
    json_bad(f, "\"x\"", "Error parsing message: expected an object or an array of objects");
    json_bad(f, "null", "Error parsing message: expected an object or an array of objects");
}

static void test_json_syntax_errors(void **st) {
    fx *f = *st;
    const char *bodies[] = {"",
                            "[",
                            "{",
                            "[{\"metric\":}]",
                            "[{\"metric\":\"m\",}]",
                            "[{}]x",
                            "[{\"metric\":\"m\"]",
                            "{\"a\":1}{\"b\":2}",
                            "[1e999]",
                            "[{\"timestamp\":99999999999999999999999}]",
                            "[\"\\ud800\"]",
                            "[NaN]",
                            "\xff"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        bad_with(f, tsdb_parse_json, bodies[i], strlen(bodies[i]), 400, EC_OPENTSDB_JSON, NULL);
        if (strncmp(f->e.msg, "Error parsing message: ", 23) != 0) fail_msg("%s", f->e.msg);
    }
    /* Syntax errors name jansson's line and column. */
    bad_with(f, tsdb_parse_json, "[\n  {\"metric\": x}\n]", 19, 400, EC_OPENTSDB_JSON, NULL);
    assert_non_null(strstr(f->e.msg, "line 2 column"));
    /* Deep nesting fails cleanly. */
    size_t n = 100000;
    char *deep = xmalloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    bad_with(f, tsdb_parse_json, deep, 2 * n, 400, EC_OPENTSDB_JSON, NULL);
    free(deep);
}

static void test_json_rollback(void **st) {
    fx *f = *st;
    point_batch b = {0};
    err e;
    const char *one = "{\"metric\":\"a\",\"timestamp\":1,\"value\":1,\"tags\":{}}";
    assert_int_equal(tsdb_parse_json(f->a, one, strlen(one), &b, &e), 0);
    const char *two = "[{\"metric\":\"b\",\"timestamp\":1,\"value\":1,\"tags\":{}},{}]";
    assert_int_equal(tsdb_parse_json(f->a, two, strlen(two), &b, &e), -1);
    assert_int_equal(b.n, 1);
    assert_sv(b.pts[0].table, "a");
}

static void test_json_prefixes(void **st) {
    fx *f = *st;
    const char *body = "[{\"metric\":\"m\",\"timestamp\":-1,\"value\":1.5,\"tags\":{\"a\":\"é\"}}]";
    size_t n = strlen(body);
    for (size_t i = 0; i < n; i++) {
        char *copy = xmalloc(i ? i : 1);
        memcpy(copy, body, i);
        point_batch b = {0};
        err e;
        assert_int_equal(tsdb_parse_json(f->a, copy, i, &b, &e), -1);
        assert_int_equal(e.http, 400);
        free(copy);
    }
}

static void test_json_reader_details(void **st) {
    fx *f = *st;
    /* Whitespace anywhere, unknown keys of any shape skipped, a repeated key: the last counts. */
    point_batch *b = json_ok(f, " \t\r\n[ {\"x\" : {\"a\":[1,2,{\"b\":null}],\"c\":\"}\"} ,\n"
                                "\"metric\":\"a\",\"metric\":\"b\", \"timestamp\" : -0 ,"
                                "\"value\":1E2,\"tags\":{\"t\":\"1\"},\"tags\":{\"u\":\"2\"},"
                                "\"more\":[true,false,null,\"\\\\\",-1.5e-3]} ] \n");
    assert_int_equal(b->n, 1);
    assert_sv(b->pts[0].table, "b");
    assert_true(b->pts[0].ts == 0);
    check_value_field(&b->pts[0], 100.0);
    assert_int_equal(b->pts[0].ntags, 1);
    assert_sv(b->pts[0].tags[0].key, "u");
    /* A tag key given twice in one object is refused, as in the text format. */
    json_bad(f,
             "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{\"a\":\"1\",\"a\":\"2\"}}]",
             "Error parsing message: element 1: duplicate tag key 'a'");
    /* Syntax errors past the first elements are still errors: nothing is kept. */
    const char *bad_docs[] = {
        "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{}},]",
        "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{}} {}]",
        "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{}}] x",
        "[{\"metric\":\"m\",\"timestamp\":01,\"value\":1,\"tags\":{}}]",
        "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1.,\"tags\":{}}]",
        "[{\"metric\":\"m\\x\",\"timestamp\":1,\"value\":1,\"tags\":{}}]",
        "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{\"a\":\"\\udc00\"}}]",
        "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{\"a\" \"b\"}}]",
        "[{\"metric\":\"m\tx\",\"timestamp\":1,\"value\":1,\"tags\":{}}]",
        "[{\"metric\":\"m\",\"timestamp\":1,\"value\":tru,\"tags\":{}}]",
        "[{\"metric\":\"m\",\"timestamp\":1,\"value\":1,\"tags\":{}}",
    };
    for (size_t i = 0; i < sizeof bad_docs / sizeof *bad_docs; i++) {
        bad_with(f, tsdb_parse_json, bad_docs[i], strlen(bad_docs[i]), 400, EC_OPENTSDB_JSON, NULL);
        if (!strstr(f->e.msg, " at line 1 column ")) fail_msg("%s: %s", bad_docs[i], f->e.msg);
    }
}

/* Parsing a slice at a time gives the same points, line numbers and errors as all at once. */
typedef int (*next_fn)(point_cursor *, arena *, point_batch *, size_t, err *);

static void check_slices(fx *f, next_fn next, const char *body, size_t want_points) {
    for (size_t max = 1; max <= 4; max++) {
        point_cursor cur;
        point_cursor_init(&cur, body, strlen(body));
        size_t total = 0, calls = 0;
        uint32_t last_line = 0;
        int rc;
        do {
            point_batch b = {0};
            err e;
            rc = next(&cur, f->a, &b, max, &e);
            if (rc < 0) fail_msg("slice %zu failed: %s", calls, e.msg);
            assert_true(b.n <= max);
            for (size_t i = 0; i < b.n; i++) {
                assert_true(b.pts[i].line > last_line); /* numbered as in one pass */
                last_line = b.pts[i].line;
            }
            total += b.n;
            calls++;
        } while (rc > 0);
        assert_int_equal(total, want_points);
    }
}

static void test_slices(void **st) {
    fx *f = *st;
    check_slices(f, tsdb_text_next, "put a 1 1 t=1\n\nb 2 2\r\nc 3 3 x=y\nd 4 4", 4);
    check_slices(f, tsdb_json_next,
                 "[{\"metric\":\"a\",\"timestamp\":1,\"value\":1,\"tags\":{}},"
                 "{\"metric\":\"b\",\"timestamp\":1,\"value\":1,\"tags\":{}},"
                 "{\"metric\":\"c\",\"timestamp\":1,\"value\":1,\"tags\":{}}]",
                 3);
    check_slices(f, tsdb_json_next, "{\"metric\":\"a\",\"timestamp\":1,\"value\":1,\"tags\":{}}",
                 1);
    check_slices(f, tsdb_json_next, "[]", 0);
    /* An error in a later slice names its line or element as in one pass. */
    point_cursor cur;
    const char *text = "a 1 1\nb 2 2\nc 3 x";
    point_cursor_init(&cur, text, strlen(text));
    point_batch b = {0};
    err e;
    assert_int_equal(tsdb_text_next(&cur, f->a, &b, 2, &e), 1);
    assert_int_equal(tsdb_text_next(&cur, f->a, &b, 2, &e), -1);
    assert_string_equal(e.msg, "Error parsing message: line 3: invalid value 'x'");
    const char *json = "[{\"metric\":\"a\",\"timestamp\":1,\"value\":1,\"tags\":{}},{}]";
    point_cursor_init(&cur, json, strlen(json));
    memset(&b, 0, sizeof b);
    assert_int_equal(tsdb_json_next(&cur, f->a, &b, 1, &e), 1);
    assert_int_equal(tsdb_json_next(&cur, f->a, &b, 1, &e), -1);
    assert_string_equal(e.msg, "Error parsing message: element 2: missing key 'metric'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_basic, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_text_many_lines, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_text_big, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_text_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_text_prefixes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_text_rollback, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_json_array, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_json_single_and_empty, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_json_strings_point_into_the_body, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_json_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_json_syntax_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_json_rollback, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_json_prefixes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_json_reader_details, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_slices, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("opentsdb", tests, NULL, NULL);
}
