/* Unit tests for the line-protocol parser (ingest/lp.c), the point helpers (ingest/point.c)
 * and the shared scanners (ingest/point_scan.c). */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/lp.h"
#include "ingest/point.h"
#include "ingest/point_scan.h"
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

static bool sv_eq(strv s, const char *want) {
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static void assert_sv(strv s, const char *want) {
    if (!sv_eq(s, want)) fail_msg("got '%.*s' (%u bytes), want '%s'", (int)s.len, s.p, s.len, want);
}

/* Parses body into a fresh batch and returns the batch; fails the test on error. */
static point_batch *ok_n(fx *f, const char *body, size_t len) {
    memset(&f->pb, 0, sizeof f->pb);
    err_clear(&f->e);
    if (lp_parse(f->a, body, len, &f->pb, &f->e) != 0)
        fail_msg("lp_parse failed: [%s] %s", f->e.code, f->e.msg);
    return &f->pb;
}

static point_batch *ok(fx *f, const char *body) {
    return ok_n(f, body, strlen(body));
}

/* Expects exactly one point and returns it. */
static point *ok1(fx *f, const char *body) {
    point_batch *b = ok(f, body);
    if (b->n != 1) fail_msg("want 1 point, got %zu for '%s'", b->n, body);
    return &b->pts[0];
}

static void bad_n(fx *f, const char *body, size_t len, const char *code, const char *msg) {
    memset(&f->pb, 0, sizeof f->pb);
    err_clear(&f->e);
    if (lp_parse(f->a, body, len, &f->pb, &f->e) != -1)
        fail_msg("lp_parse accepted '%.*s'", (int)len, body);
    assert_int_equal(f->pb.n, 0);
    if (strcmp(f->e.code, code) != 0) fail_msg("code %s, want %s (%s)", f->e.code, code, f->e.msg);
    assert_int_equal(f->e.http, 422);
    if (msg && strcmp(f->e.msg, msg) != 0) fail_msg("message\n  '%s'\nwant\n  '%s'", f->e.msg, msg);
}

/* Expects a line-protocol error with exactly this message. */
static void bad(fx *f, const char *body, const char *msg) {
    bad_n(f, body, strlen(body), EC_LP_PARSE, msg);
}

static const pt_field *field(const point *p, const char *key) {
    for (uint32_t i = 0; i < p->nfields; i++)
        if (sv_eq(p->fields[i].key, key)) return &p->fields[i];
    fail_msg("no field '%s'", key);
    return NULL;
}

static double f64_of(fx *f, const char *text) {
    char body[256];
    snprintf(body, sizeof body, "m f=%s", text);
    const pt_field *x = field(ok1(f, body), "f");
    assert_int_equal(x->type, VT_F64);
    return x->v.f;
}

static bool in_body(const char *body, size_t len, strv s) {
    return s.p >= body && s.p + s.len <= body + len;
}

/* ---- basics ------------------------------------------------------------------------- */

static void test_basic(void **st) {
    fx *f = *st;
    const char *body = "cpu,host=a,region=eu usage=1.5,count=3i 1700000000000000000";
    point *p = ok1(f, body);
    assert_sv(p->table, "cpu");
    assert_int_equal(p->ntags, 2);
    assert_sv(p->tags[0].key, "host");
    assert_sv(p->tags[0].val, "a");
    assert_sv(p->tags[1].key, "region");
    assert_sv(p->tags[1].val, "eu");
    assert_int_equal(p->nfields, 2);
    assert_sv(p->fields[0].key, "count"); /* sorted */
    assert_int_equal(p->fields[0].type, VT_I64);
    assert_int_equal(p->fields[0].v.i, 3);
    assert_sv(p->fields[1].key, "usage");
    assert_int_equal(p->fields[1].type, VT_F64);
    assert_true(p->fields[1].v.f == 1.5);
    assert_true(p->has_ts);
    assert_true(p->ts == 1700000000000000000LL);
    assert_int_equal(p->line, 1);
    /* Zero-copy: nothing here is escaped, so everything points into the body. */
    size_t n = strlen(body);
    assert_true(in_body(body, n, p->table));
    for (uint32_t i = 0; i < p->ntags; i++) {
        assert_true(in_body(body, n, p->tags[i].key));
        assert_true(in_body(body, n, p->tags[i].val));
    }
    assert_true(in_body(body, n, p->fields[0].key));
}

static void test_no_tags_no_ts(void **st) {
    fx *f = *st;
    point *p = ok1(f, "m fa=1");
    assert_sv(p->table, "m");
    assert_int_equal(p->ntags, 0);
    assert_null(p->tags);
    assert_false(p->has_ts);
    assert_int_equal(p->fields[0].type, VT_F64);
    assert_true(p->fields[0].v.f == 1.0);
}

static void test_empty_bodies(void **st) {
    fx *f = *st;
    const char *empties[] = {
        "", "\n", "\n\n\n", "   \n\t\n", "# only a comment", "# c1\n  # c2\r\n\r\n", "\r\n", "   "};
    for (size_t i = 0; i < sizeof empties / sizeof *empties; i++)
        assert_int_equal(ok(f, empties[i])->n, 0);
}

static void test_timestamps(void **st) {
    fx *f = *st;
    point *p = ok1(f, "m f=1 -1000");
    assert_true(p->has_ts);
    assert_true(p->ts == -1000);
    assert_true(ok1(f, "m f=1 +42")->ts == 42);
    assert_true(ok1(f, "m f=1 0")->ts == 0);
    assert_true(ok1(f, "m f=1 9223372036854775807")->ts == INT64_MAX);
    assert_true(ok1(f, "m f=1 -9223372036854775808")->ts == INT64_MIN);
    /* Spaces after the fields or the timestamp, CRLF, runs of spaces before it. */
    assert_true(ok1(f, "m f=1    7   ")->ts == 7);
    assert_true(ok1(f, "m f=1 7\r\n")->ts == 7);
    assert_true(ok1(f, "m f=1 7\r")->ts == 7);
    assert_false(ok1(f, "m f=1   ")->has_ts);
    assert_false(ok1(f, "m f=1 \r\n")->has_ts);
    assert_false(ok1(f, "m f=\"x\"\n")->has_ts);

    bad(f, "m f=1 9223372036854775808",
        "Error parsing message: line 1: fail to parse timestamp at 6");
    bad(f, "m f=1 -9223372036854775809",
        "Error parsing message: line 1: fail to parse timestamp at 6");
    bad(f, "m f=1 12a", "Error parsing message: line 1: fail to parse timestamp at 6");
    bad(f, "m f=1 1 2", "Error parsing message: line 1: fail to parse timestamp at 6");
    bad(f, "m f=1 abc", "Error parsing message: line 1: fail to parse timestamp at 6");
    bad(f, "m f=1 -", "Error parsing message: line 1: fail to parse timestamp at 6");
    bad(f, "m f=1 1.5", "Error parsing message: line 1: fail to parse timestamp at 6");
    bad(f, "m f=1 1\tx", "Error parsing message: line 1: fail to parse timestamp at 6");
    /* Not only on the last line. */
    bad(f, "m f=1 1\nm f=2 2x\nm f=3 3",
        "Error parsing message: line 2: fail to parse timestamp at 14");
    bad(f, "m f=1 1\nm f=2 2x", "Error parsing message: line 2: fail to parse timestamp at 14");
}

/* ---- field values --------------------------------------------------------------------- */

static void test_booleans(void **st) {
    fx *f = *st;
    const char *yes[] = {"t", "T", "true", "True", "TRUE"};
    const char *no[] = {"f", "F", "false", "False", "FALSE"};
    char body[64];
    for (size_t i = 0; i < 5; i++) {
        snprintf(body, sizeof body, "m b=%s,c=%s 1", yes[i], no[i]);
        point *p = ok1(f, body);
        assert_int_equal(field(p, "b")->type, VT_BOOL);
        assert_true(field(p, "b")->v.b);
        assert_int_equal(field(p, "c")->type, VT_BOOL);
        assert_false(field(p, "c")->v.b);
    }
    const char *wrong[] = {"tru", "tRUE", "TRue", "fals", "falsE", "truex", "t1", "ff", "yes"};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        char want[128];
        snprintf(body, sizeof body, "m b=%s 1", wrong[i]);
        snprintf(want, sizeof want, "Error parsing message: line 1: invalid field value: '%s'",
                 wrong[i]);
        bad(f, body, want);
    }
}

static void test_integers(void **st) {
    fx *f = *st;
    point *p = ok1(f, "m a=1i,b=-1i,c=+7i,d=0i,e=-0i,g=1u,h=0u,k=007i");
    assert_int_equal(field(p, "a")->type, VT_I64);
    assert_true(field(p, "a")->v.i == 1);
    assert_true(field(p, "b")->v.i == -1);
    assert_true(field(p, "c")->v.i == 7);
    assert_true(field(p, "d")->v.i == 0);
    assert_true(field(p, "e")->v.i == 0);
    assert_int_equal(field(p, "g")->type, VT_U64);
    assert_true(field(p, "g")->v.u == 1);
    assert_true(field(p, "h")->v.u == 0);
    assert_true(field(p, "k")->v.i == 7);
    p = ok1(f, "m a=9223372036854775807i,b=-9223372036854775808i,c=18446744073709551615u");
    assert_true(field(p, "a")->v.i == INT64_MAX);
    assert_true(field(p, "b")->v.i == INT64_MIN);
    assert_true(field(p, "c")->v.u == UINT64_MAX);
}

static void test_floats(void **st) {
    fx *f = *st;
    assert_true(f64_of(f, "1") == 1.0);
    assert_true(f64_of(f, "-1") == -1.0);
    assert_true(f64_of(f, "+1.5") == 1.5);
    assert_true(f64_of(f, "1.") == 1.0);
    assert_true(f64_of(f, "-.5") == -0.5);
    assert_true(f64_of(f, "1e3") == 1000.0);
    assert_true(f64_of(f, "1E+3") == 1000.0);
    assert_true(f64_of(f, "-1.5e-3") == -1.5e-3);
    assert_true(f64_of(f, "0.1") == 0.1);
    assert_true(f64_of(f, "1e308") == 1e308);
    assert_true(f64_of(f, "2.2250738585072014e-308") == 2.2250738585072014e-308);
    assert_true(f64_of(f, "4.9e-324") == 4.9e-324);
    assert_true(f64_of(f, "1e-400") == 0.0); /* underflow reads as zero, like strtod */
    assert_true(f64_of(f, "123456789012345678901234567890") == 123456789012345678901234567890.0);
    assert_true(f64_of(f, "58.1317132304976") == 58.1317132304976);
    double z = f64_of(f, "-0.0");
    assert_true(z == 0.0 && signbit(z));
    /* The number ends where the body ends (no terminator to lean on). */
    const char body[] = {'m', ' ', 'f', '=', '1', '.', '2', '5'};
    point_batch *b = ok_n(f, body, sizeof body);
    assert_true(b->pts[0].fields[0].v.f == 1.25);
}

static void test_bad_numbers(void **st) {
    fx *f = *st;
    const char *vals[] = {"1.2.3",
                          "1e",
                          "1e+",
                          "--1",
                          "-+1",
                          "1i2",
                          "1ii",
                          "1iu",
                          "9223372036854775808i",
                          "-9223372036854775809i",
                          "99999999999999999999999i",
                          "18446744073709551616u",
                          "-1u",
                          "+1u",
                          "1.5i",
                          "1e3i",
                          "1.0u",
                          "nan",
                          "NaN",
                          "inf",
                          "-inf",
                          "+inf",
                          "Infinity",
                          "0x10",
                          "1e309",
                          "-1e309",
                          ".5",
                          ".",
                          "-",
                          "+",
                          "-.",
                          "1-",
                          "1_000",
                          "abc",
                          "i",
                          "u",
                          "1\t",
                          "1a",
                          "1\"x\""};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        char body[128], want[256], show[96];
        snprintf(body, sizeof body, "m f=%s 1", vals[i]);
        utf8_show(show, sizeof show, vals[i], strlen(vals[i]));
        snprintf(want, sizeof want, "Error parsing message: line 1: invalid field value: '%s'",
                 show);
        bad(f, body, want);
    }
    /* Empty values. */
    bad(f, "m f=", "Error parsing message: line 1: invalid field value: ''");
    bad(f, "m f= 1", "Error parsing message: line 1: invalid field value: ''");
    bad(f, "m f=,g=1", "Error parsing message: line 1: invalid field value: ''");
    bad(f, "m f=\n", "Error parsing message: line 1: invalid field value: ''");
}

static void test_strings(void **st) {
    fx *f = *st;
    point *p = ok1(f, "m s=\"hello, world = x\" 1");
    assert_int_equal(p->fields[0].type, VT_STR);
    assert_sv(p->fields[0].v.s, "hello, world = x");
    assert_sv(ok1(f, "m s=\"\"")->fields[0].v.s, "");
    /* Escaped quote and backslash; other backslashes are kept as written. */
    p = ok1(f, "m s=\"a\\\"b\\\\c\\nd\\'e\\\"\" 5");
    assert_sv(p->fields[0].v.s, "a\"b\\c\\nd\\'e\"");
    assert_true(p->ts == 5);
    p = ok1(f, "m s=\"\\\\\"");
    assert_sv(p->fields[0].v.s, "\\");
    /* Newlines inside a string belong to it, and move the line count on. */
    point_batch *b =
        ok(f, "m s=\"line1\nline2\r\nline3\",n=1i 9\nm2 x=1\nm3 y=\"a\\\"\n\"\n\nm4 z=1");
    assert_int_equal(b->n, 4);
    assert_sv(b->pts[0].fields[1].v.s, "line1\nline2\r\nline3");
    assert_int_equal(b->pts[0].line, 1);
    assert_int_equal(b->pts[1].line, 4);
    assert_sv(b->pts[2].fields[0].v.s, "a\"\n");
    assert_int_equal(b->pts[2].line, 5);
    assert_int_equal(b->pts[3].line, 8);
    /* Several string fields, some with escapes. */
    p = ok1(f, "m a=\"x y\",b=\"p\\\"q\",c=\"r,s\"");
    assert_sv(field(p, "a")->v.s, "x y");
    assert_sv(field(p, "b")->v.s, "p\"q");
    assert_sv(field(p, "c")->v.s, "r,s");
    /* Multi-byte text. */
    p = ok1(f, "m,t=中 s=\"白😀\"");
    assert_sv(p->tags[0].val, "中");
    assert_sv(p->fields[0].v.s, "白😀");
}

static void test_unterminated_strings(void **st) {
    fx *f = *st;
    bad(f, "m s=\"abc", "Error parsing message: line 1: unexpect end line start at '4'");
    bad(f, "m f=1\nm s=\"abc\n\ndef 1\n",
        "Error parsing message: line 2: unexpect end line start at '10'");
    bad(f, "m s=\"abc\\\"", "Error parsing message: line 1: unexpect end line start at '4'");
    bad(f, "m s=\"abc\\", "Error parsing message: line 1: unexpect end line start at '4'");
    bad(f, "m s=\"", "Error parsing message: line 1: unexpect end line start at '4'");
    /* Garbage right after the closing quote. */
    bad(f, "m s=\"a\"b", "Error parsing message: line 1: unexpect token 'b' at 7");
    bad(f, "m s=\"a\"\"", "Error parsing message: line 1: unexpect token '\"' at 7");
    /* Line numbers after a multi-line string refer to where the error is. */
    bad(f, "m s=\"a\nb\" zz", "Error parsing message: line 2: fail to parse timestamp at 10");
}

/* ---- names and escapes ---------------------------------------------------------------- */

static void test_escapes(void **st) {
    fx *f = *st;
    const char *body =
        "m\\,x\\ y\\\\z\\\"q\\'r\\=s,t\\,k\\ \\=\\\\\\\"\\'=v\\,a\\ b\\=c\\\\\\\"\\' "
        "f\\,k\\ \\=\\\\\\\"\\'=1 1";
    point *p = ok1(f, body);
    assert_sv(p->table, "m,x y\\z\"q'r=s");
    assert_sv(p->tags[0].key, "t,k =\\\"'");
    assert_sv(p->tags[0].val, "v,a b=c\\\"'");
    assert_sv(p->fields[0].key, "f,k =\\\"'");
    /* Escaped tokens are copies, the others still point into the body. */
    size_t n = strlen(body);
    assert_false(in_body(body, n, p->table));
    assert_false(in_body(body, n, p->tags[0].val));
    p = ok1(f, "m\\ 1,t=a\\ b f=1");
    assert_sv(p->table, "m 1");
    assert_sv(p->tags[0].key, "t");
    assert_true(in_body("m\\ 1,t=a\\ b f=1", 15, p->tags[0].key) || sv_eq(p->tags[0].key, "t"));
    /* A tag value may hold a bare '=' (unless it is also escaped, see below). */
    p = ok1(f, "m,t=a=b,u==x f=1");
    assert_sv(p->tags[0].val, "a=b");
    assert_sv(p->tags[1].val, "=x");
    /* Field keys end only at '=': spaces and commas in them are literal (as in CnosDB). */
    p = ok1(f, "m a b=1,c,d=2");
    assert_sv(p->fields[0].key, "a b");
    assert_sv(p->fields[1].key, "c,d");
    /* A tab or a lone CR separates nothing: part of a tag value, refused in a name (a control
     * character, util/names.h). */
    p = ok1(f, "m,t=a\tb,u=c\rd f=1");
    assert_sv(p->tags[0].val, "a\tb");
    assert_sv(p->tags[1].val, "c\rd");
    bad(f, "m\tx f=1",
        "Error parsing message: line 1: invalid table name: control character 0x09 at 1");
    bad(f, "m f\tg=1",
        "Error parsing message: line 1: invalid field key: control character 0x09 at 3");
    bad(f, "m\rx f=1",
        "Error parsing message: line 1: invalid table name: control character 0x0D at 1");
    bad(f, "m,t\rx=1 f=1",
        "Error parsing message: line 1: invalid tag key: control character 0x0D at 3");
    /* Names may hold '#', quotes and '=' (measurement). */
    p = ok1(f, "a#b=\"c f=1");
    assert_sv(p->table, "a#b=\"c");
}

static void test_bad_escapes(void **st) {
    fx *f = *st;
    bad(f, "m\\x f=1", "Error parsing message: line 1: unexpect token 'x' at 2");
    bad(f, "m,t\\n=1 f=1", "Error parsing message: line 1: unexpect token 'n' at 4");
    bad(f, "m,t=a\\t f=1", "Error parsing message: line 1: unexpect token 't' at 6");
    bad(f, "m f\\x=1", "Error parsing message: line 1: unexpect token 'x' at 4");
    bad(f, "m\\中 f=1", "Error parsing message: line 1: unexpect token '中' at 2");
    bad(f, "m\\\tx f=1", "Error parsing message: line 1: unexpect token '\\t' at 2");
    /* A backslash that ends the line escapes nothing. */
    bad(f, "m\\", "Error parsing message: line 1: unexpect end line start at '0'");
    bad(f, "m\\\nm f=1", "Error parsing message: line 1: unexpect end line start at '0'");
    bad(f, "m,t=a\\\r\n", "Error parsing message: line 1: unexpect end line start at '2'");
    bad(f, "m f\\", "Error parsing message: line 1: unexpect end line start at '2'");
    /* CnosDB's rule: a bare '=' in an escaped tag value is a syntax error. */
    bad(f, "m,t=a=b\\,c f=1", "Error parsing message: line 1: invalid line protocol syntax");
    bad(f, "m,t=a\\ b=c f=1", "Error parsing message: line 1: invalid line protocol syntax");
}

static void test_empty_names(void **st) {
    fx *f = *st;
    bad(f, ",t=a f=1", "Error parsing message: line 1: unexpect token ',' at 0");
    bad(f, "m,=a f=1", "Error parsing message: line 1: unexpect token '=' at 2");
    bad(f, "m,t= f=1", "Error parsing message: line 1: unexpect token ' ' at 4");
    bad(f, "m,t=,u=1 f=1", "Error parsing message: line 1: unexpect token ',' at 4");
    bad(f, "m,t=", "Error parsing message: line 1: unexpect end line start at '2'");
    bad(f, "m, f=1", "Error parsing message: line 1: unexpect token ' ' at 2");
    bad(f, "m,,t=a f=1", "Error parsing message: line 1: unexpect token ',' at 2");
    bad(f, "m,t f=1", "Error parsing message: line 1: unexpect token ' ' at 3");
    bad(f, "m,t,u=1 f=1", "Error parsing message: line 1: unexpect token ',' at 3");
    bad(f, "m =1", "Error parsing message: line 1: unexpect token '=' at 2");
    bad(f, "m f=1,=2", "Error parsing message: line 1: unexpect token '=' at 6");
    bad(f, "m,t=a =1", "Error parsing message: line 1: unexpect token '=' at 6");
    /* 'time' is the time column, neither a tag nor a field. */
    bad(f, "m,time=a f=1", "Error parsing message: line 1: 'time' cannot be a tag key (at 2)");
    bad(f, "m f=1,time=2", "Error parsing message: line 1: 'time' cannot be a field key (at 6)");
    bad(f, "m,t=1 f=1,time=2 3",
        "Error parsing message: line 1: 'time' cannot be a field key (at 10)");
    /* Only the exact unescaped name is reserved. */
    assert_sv(ok1(f, "m,time\\ =a f=1")->tags[0].key, "time ");
    assert_int_equal(ok1(f, "m,Time=a TIME=1,times=2")->nfields, 2);
}

static void test_missing_fields(void **st) {
    fx *f = *st;
    bad(f, "m", "Error parsing message: line 1: unexpect end line start at '0'");
    bad(f, "m ", "Error parsing message: line 1: unexpect end line start at '0'");
    bad(f, "m,t=a", "Error parsing message: line 1: unexpect end line start at '0'");
    bad(f, "m,t=a   ", "Error parsing message: line 1: unexpect end line start at '0'");
    bad(f, "m,t=a\r\n", "Error parsing message: line 1: unexpect end line start at '0'");
    /* Not glued to the next line, unlike CnosDB. */
    bad(f, "m,t=a\nm2 f=1", "Error parsing message: line 1: unexpect end line start at '0'");
    bad(f, "m1 f=1\n\n  m,t=a\nm2 f=1",
        "Error parsing message: line 3: unexpect end line start at '10'");
    /* The E2E case from CnosDB: the timestamp is read as a field key without '='. */
    bad(f, "test,t2=t22,f2=2 1642176000000000000",
        "Error parsing message: line 1: unexpect end line start at '17'");
    bad(f, "m f", "Error parsing message: line 1: unexpect end line start at '2'");
    bad(f, "m f=1,", "Error parsing message: line 1: unexpect end line start at '6'");
    bad(f, "m f=1,g\nm f=1", "Error parsing message: line 1: unexpect end line start at '6'");
}

static void test_error_line_numbers(void **st) {
    fx *f = *st;
    bad(f, "m f=1\n# comment\n\nm x=1,y=zz 5\n",
        "Error parsing message: line 4: invalid field value: 'zz'");
    bad(f, "a f=1\r\nb f=2\r\nc f=x\r\n",
        "Error parsing message: line 3: invalid field value: 'x'");
    bad(f, "a f=1\nb f=2\nc,t=x\\y f=1", "Error parsing message: line 3: unexpect token 'y' at 18");
    /* Long values are cut in the message. */
    char body[400];
    memset(body, 'q', sizeof body);
    memcpy(body, "m f=", 4);
    bad_n(f, body, sizeof body, EC_LP_PARSE,
          "Error parsing message: line 1: invalid field value: "
          "'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq...'");
}

static void test_comments_blank_crlf(void **st) {
    fx *f = *st;
    point_batch *b = ok(f, "# header\n"
                           "   # indented comment with m f=1\n"
                           "\n"
                           "a f=1 1\r\n"
                           "\r\n"
                           "   b f=2 2\n"
                           "\t\tc f=3\r\n"
                           "  \n"
                           "d  f=4   4  \r\n"
                           "e,t=x    f=5");
    assert_int_equal(b->n, 5);
    assert_sv(b->pts[0].table, "a");
    assert_int_equal(b->pts[0].line, 4);
    assert_sv(b->pts[1].table, "b");
    assert_int_equal(b->pts[1].line, 6);
    assert_sv(b->pts[2].table, "c");
    assert_int_equal(b->pts[2].line, 7);
    assert_false(b->pts[2].has_ts);
    assert_sv(b->pts[3].table, "d");
    assert_true(b->pts[3].ts == 4);
    assert_int_equal(b->pts[3].line, 9);
    assert_sv(b->pts[4].tags[0].val, "x");
    assert_true(b->pts[4].fields[0].v.f == 5.0);
    /* A '#' after the start of a line is not a comment. */
    bad(f, "m f=1 # no", "Error parsing message: line 1: fail to parse timestamp at 6");
}

static void test_dedup_and_sort(void **st) {
    fx *f = *st;
    /* Duplicate field keys: the last value wins (InfluxDB), whatever its type. */
    point *p = ok1(f, "m,b=2,a=1,c=0 z=1,y=2i,z=3,x=\"s\",y=5");
    assert_int_equal(p->ntags, 3);
    assert_sv(p->tags[0].key, "a");
    assert_sv(p->tags[0].val, "1");
    assert_sv(p->tags[1].key, "b");
    assert_sv(p->tags[1].val, "2");
    assert_sv(p->tags[2].key, "c");
    assert_int_equal(p->nfields, 3);
    assert_sv(p->fields[0].key, "x");
    assert_sv(p->fields[1].key, "y");
    assert_int_equal(p->fields[1].type, VT_F64);
    assert_true(p->fields[1].v.f == 5.0);
    assert_sv(p->fields[2].key, "z");
    assert_true(p->fields[2].v.f == 3.0);
    p = ok1(f, "m a=1,a=2,a=3,b=0,a=4");
    assert_int_equal(p->nfields, 2);
    assert_true(p->fields[0].v.f == 4.0);
    /* Duplicate tag keys are refused (InfluxDB: "duplicate tags"), even with equal values. */
    bad(f, "m,b=2,a=1,b=3 f=1", "Error parsing message: line 1: duplicate tag key 'b'");
    bad(f, "m,a=1,a=1 f=1", "Error parsing message: line 1: duplicate tag key 'a'");
    bad(f, "ok f=1\nm,a\\ b=1,a\\ b=2 f=1",
        "Error parsing message: line 2: duplicate tag key 'a b'");
    /* Bytewise order: prefixes first, upper case before lower, UTF-8 after ASCII. */
    p = ok1(f, "m,ab=1,a=2,B=3,é=4,a\\ =5 f=1");
    assert_sv(p->tags[0].key, "B");
    assert_sv(p->tags[1].key, "a");
    assert_sv(p->tags[2].key, "a ");
    assert_sv(p->tags[3].key, "ab");
    assert_sv(p->tags[4].key, "é");
    /* Two spellings of one series give the same tags. */
    point_batch *b = ok(f, "m,x=1,y=2 f=1\nm,y=2,x=1 f=2");
    for (int i = 0; i < 2; i++) {
        assert_sv(b->pts[i].tags[0].key, "x");
        assert_sv(b->pts[i].tags[1].key, "y");
    }
}

/* Names may hold no control character and are never cut short at a NUL (util/names.h); tag
 * values may hold any but NUL. */
static void test_control_characters(void **st) {
    fx *f = *st;
    static const char nul_table[] = "x\0y f=1";
    bad_n(f, nul_table, sizeof nul_table - 1, EC_LP_PARSE,
          "Error parsing message: line 1: invalid table name: control character 0x00 at 1");
    bad(f, "m,a\x01=b f=1",
        "Error parsing message: line 1: invalid tag key: control character 0x01 at 3");
    bad(f, "m\tx f=1",
        "Error parsing message: line 1: invalid table name: control character "
        "0x09 at 1");
    bad(f, "m f\x7F=1",
        "Error parsing message: line 1: invalid field key: control character 0x7F at 3");
    static const char nul_value[] = "m,t=a\0b f=1";
    bad_n(f, nul_value, sizeof nul_value - 1, EC_LP_PARSE,
          "Error parsing message: line 1: invalid tag value: control character 0x00 at 5");
    /* Other control characters are fine in tag values and string fields. */
    point *p = ok1(f, "m,t=a\tb s=\"x\x01\ty\"");
    assert_sv(p->tags[0].val, "a\tb");
    assert_sv(p->fields[0].v.s, "x\x01\ty");
    /* Escapes cannot make a blank name. */
    bad(f, "\\  f=1", "Error parsing message: line 1: Invalid table name \" \": only spaces");
    bad(f, "m,\\ =a f=1", "Error parsing message: line 1: Invalid column name \" \": only spaces");
    ok1(f, "m,t=\\  f=1"); /* a blank tag value is a value */
}

static void test_point_normalize_large(void **st) {
    fx *f = *st;
    /* Enough keys to go through the merge sort, in reverse order, each twice. */
    enum { N = 500 };
    point p = {0};
    p.fields = arena_alloc(f->a, 2 * N * sizeof *p.fields);
    p.tags = arena_alloc(f->a, N * sizeof *p.tags);
    char(*names)[16] = arena_alloc(f->a, N * 16);
    for (int i = 0; i < N; i++) snprintf(names[i], 16, "k%04d", N - 1 - i);
    for (int r = 0; r < 2; r++) {
        for (int i = 0; i < N; i++) {
            pt_field *x = &p.fields[p.nfields++];
            x->key = (strv){names[i], 5};
            x->type = VT_I64;
            x->v.i = r; /* the last occurrence has 1 */
            if (r) continue;
            pt_tag *t = &p.tags[p.ntags++];
            t->key = (strv){names[i], 5};
            t->val = (strv){"v", 1};
        }
    }
    assert_int_equal(point_normalize(&p), 0);
    assert_int_equal(p.nfields, N);
    assert_int_equal(p.ntags, N);
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof want, "k%04d", i);
        assert_sv(p.fields[i].key, want);
        assert_true(p.fields[i].v.i == 1);
        assert_sv(p.tags[i].key, want);
    }
    /* A tag key given twice, far apart: reported by its index in the sorted tags. */
    point d = {0};
    d.tags = arena_alloc(f->a, (N + 1) * sizeof *d.tags);
    for (int i = 0; i < N; i++) d.tags[d.ntags++] = (pt_tag){{names[i], 5}, {"v", 1}};
    d.tags[d.ntags++] = (pt_tag){{names[N / 2], 5}, {"w", 1}};
    uint32_t dup = point_normalize(&d);
    assert_true(dup > 0);
    assert_sv(d.tags[dup - 1].key, names[N / 2]);
    /* Already sorted input is left alone; of equal neighbours the last stays. */
    point q = {0};
    pt_field fs[3] = {{.key = {"a", 1}}, {.key = {"a", 1}}, {.key = {"b", 1}}};
    fs[1].v.i = 7;
    q.fields = fs;
    q.nfields = 3;
    assert_int_equal(point_normalize(&q), 0);
    assert_int_equal(q.nfields, 2);
    assert_true(q.fields[0].v.i == 7);
    assert_sv(q.fields[1].key, "b");
}

static void test_point_batch_push(void **st) {
    fx *f = *st;
    point_batch b = {0};
    for (int i = 0; i < 1000; i++) {
        point *p = point_batch_push(f->a, &b);
        assert_int_equal(p->ntags, 0);
        assert_false(p->has_ts);
        p->line = (uint32_t)i;
    }
    assert_int_equal(b.n, 1000);
    assert_true(b.cap >= 1000);
    for (int i = 0; i < 1000; i++) assert_int_equal(b.pts[i].line, i);
}

static void test_appends_and_rolls_back(void **st) {
    fx *f = *st;
    point_batch b = {0};
    err e;
    assert_int_equal(lp_parse(f->a, "a f=1\nb f=2", 11, &b, &e), 0);
    assert_int_equal(b.n, 2);
    assert_int_equal(lp_parse(f->a, "c f=3", 5, &b, &e), 0);
    assert_int_equal(b.n, 3);
    assert_sv(b.pts[2].table, "c");
    assert_int_equal(lp_parse(f->a, "d f=4\ne f=x", 11, &b, &e), -1);
    assert_int_equal(b.n, 3); /* nothing of the failed body stays */
    assert_sv(b.pts[0].table, "a");
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

#define U8CASE(lit, m)                                                                             \
    { lit, sizeof(lit) - 1, m }

static void test_utf8(void **st) {
    fx *f = *st;
    struct {
        const char *body;
        size_t len;
        const char *msg;
    } cases[] = {
        U8CASE("m f=\"\xC0\xAF\"", "Invalid utf-8 sequence: line 1, byte offset 5"), /* overlong */
        U8CASE("m f=\"\xE0\x80\xAF\"",
               "Invalid utf-8 sequence: line 1, byte offset 5"), /* overlong */
        U8CASE("m f=\"\xF0\x80\x80\xAF\"", "Invalid utf-8 sequence: line 1, byte offset 5"),
        U8CASE("m f=1\nm,t=\xED\xA0\x80 f=1", "Invalid utf-8 sequence: line 2, byte offset 10"),
        U8CASE("m f=1\n\nm\xED\xBF\xBF f=1", "Invalid utf-8 sequence: line 3, byte offset 8"),
        U8CASE("m f=\"\xE2\x82\"", "Invalid utf-8 sequence: line 1, byte offset 5"), /* truncated */
        U8CASE("m f=1 1\xE2\x82", "Invalid utf-8 sequence: line 1, byte offset 7"), /* at the end */
        U8CASE("m f=1 1\xF0\x9F\x98", "Invalid utf-8 sequence: line 1, byte offset 7"),
        U8CASE("m\x80 f=1", "Invalid utf-8 sequence: line 1, byte offset 1"), /* stray */
        U8CASE("m\xF5\x80\x80\x80 f=1", "Invalid utf-8 sequence: line 1, byte offset 1"),
        U8CASE("m\xF4\x90\x80\x80 f=1", "Invalid utf-8 sequence: line 1, byte offset 1"),
        U8CASE("m\xFF f=1", "Invalid utf-8 sequence: line 1, byte offset 1"),
        /* Invalid bytes even after a syntax error: UTF-8 is checked first. */
        U8CASE("m f=x\n\xC3", "Invalid utf-8 sequence: line 2, byte offset 6"),
        /* Past the 16-byte fast path. */
        U8CASE("m f=\"0123456789abcdefghijklmnopqrstuvwxyz\xC3(\"",
               "Invalid utf-8 sequence: line 1, byte offset 41"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        bad_n(f, cases[i].body, cases[i].len, EC_UTF8, cases[i].msg);
    /* Boundaries that are valid. */
    const char *good = "m,t=\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80"
                       "\xF4\x8F\xBF\xBF f=1";
    assert_int_equal(ok(f, good)->n, 1);
}

static void test_utf8_scanner(void **st) {
    (void)st;
    /* Every byte position of a long ASCII run, with one bad byte. */
    char b[100];
    for (size_t pos = 0; pos < sizeof b; pos++) {
        memset(b, 'a', sizeof b);
        b[pos] = (char)0x80;
        size_t bad = 12345;
        assert_false(utf8_valid(b, sizeof b, &bad));
        assert_int_equal(bad, pos);
        b[pos] = 'a';
        assert_true(utf8_valid(b, sizeof b, &bad));
    }
    assert_true(utf8_valid("", 0, NULL));
    assert_int_equal(point_line_of("a\nb\nc", 4), 3);
    assert_int_equal(point_line_of("a\nb\nc", 0), 1);
}

/* ---- robustness ----------------------------------------------------------------------- */

static void test_all_prefixes(void **st) {
    fx *f = *st;
    /* Every truncation of a line that uses every feature either parses or fails cleanly. */
    const char *line = "  m\\ x\\,y,t\\=k=v\\ 1,é=中 s=\"a,b \\\"c\\\\\nd\",i=-12i,u=7u,"
                       "b=TRUE,g=-1.5e-3,h=f 1700000000000000000\r\n";
    size_t n = strlen(line);
    size_t oks = 0;
    for (size_t i = 0; i <= n; i++) {
        /* A heap copy of exactly i bytes, so ASan catches any read past the end. */
        char *copy = xmalloc(i ? i : 1);
        memcpy(copy, line, i);
        point_batch b = {0};
        err e;
        err_clear(&e);
        int rc = lp_parse(f->a, copy, i, &b, &e);
        if (rc == 0) {
            oks++;
            assert_true(b.n <= 1);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(b.n, 0);
            assert_int_equal(e.http, 422);
            assert_true(strcmp(e.code, EC_LP_PARSE) == 0 || strcmp(e.code, EC_UTF8) == 0);
            assert_true(strncmp(e.msg, "Error parsing message: line ", 28) == 0 ||
                        strncmp(e.msg, "Invalid utf-8 sequence: line ", 29) == 0);
        }
        free(copy);
    }
    assert_true(oks > 3); /* the whole line and its truncations inside the timestamp */
    point_batch *b = ok(f, line);
    point *p = &b->pts[0];
    assert_sv(p->table, "m x,y");
    assert_sv(p->tags[0].key, "t=k");
    assert_sv(p->tags[0].val, "v 1");
    assert_sv(p->tags[1].key, "é");
    assert_sv(field(p, "s")->v.s, "a,b \"c\\\nd");
    assert_true(field(p, "i")->v.i == -12);
    assert_true(field(p, "u")->v.u == 7);
    assert_true(field(p, "b")->v.b);
    assert_true(field(p, "g")->v.f == -1.5e-3);
    assert_false(field(p, "h")->v.b);
    assert_true(p->ts == 1700000000000000000LL);
}

static void test_garbage_bytes(void **st) {
    fx *f = *st;
    /* Replace each byte of a valid body by each interesting byte: never a crash. */
    const char *line = "m,t=v f=1,s=\"x\" 1\nn g=2i";
    const char subst[] = {' ', ',', '=', '\\', '"', '\n', '\r', '#', '\t', 'x', '-', '.', 0};
    size_t n = strlen(line);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            char *copy = xmalloc(n);
            memcpy(copy, line, n);
            copy[i] = subst[k];
            point_batch b = {0};
            err e;
            int rc = lp_parse(f->a, copy, n, &b, &e);
            assert_true(rc == 0 || (rc == -1 && b.n == 0 && e.http == 422));
            free(copy);
        }
    }
}

static void test_huge_line(void **st) {
    fx *f = *st;
    const size_t big = 5u << 20;
    buf b;
    buf_init(&b);
    buf_puts(&b, "m,big=");
    buf_reserve(&b, big);
    memset(b.p + b.len, 'v', big);
    b.len += big;
    buf_puts(&b, ",t=1 s=\"");
    buf_reserve(&b, big);
    for (size_t i = 0; i < big; i++) b.p[b.len + i] = (i % 1000 == 999) ? '\n' : 's';
    b.len += big;
    buf_puts(&b, "\",x=1i 77\nm2 f=1");
    point_batch *pb = ok_n(f, b.p, b.len);
    assert_int_equal(pb->n, 2);
    point *p = &pb->pts[0];
    assert_int_equal(p->tags[0].val.len, big);
    assert_int_equal(p->fields[0].v.s.len, big);
    assert_true(p->ts == 77);
    assert_int_equal(pb->pts[1].line, 2 + big / 1000);
    /* The same with an escape (the value is copied into the arena), and a bad value on the
     * last line, whose number counts the newlines inside the string. */
    b.p[10] = '\\';
    b.p[11] = ' ';
    buf_putc(&b, 'x');
    memset(&f->pb, 0, sizeof f->pb);
    assert_int_equal(lp_parse(f->a, b.p, b.len, &f->pb, &f->e), -1);
    char want[80];
    snprintf(want, sizeof want, "Error parsing message: line %zu: invalid field value: '1x'",
             2 + big / 1000);
    assert_string_equal(f->e.msg, want);
    b.len--;
    pb = ok_n(f, b.p, b.len);
    assert_int_equal(pb->pts[0].tags[0].val.len, big - 1);
    assert_false(in_body(b.p, b.len, pb->pts[0].tags[0].val));
    buf_free(&b);
}

static void test_many_lines(void **st) {
    fx *f = *st;
    enum { N = 100000 };
    buf b;
    buf_init(&b);
    for (int i = 0; i < N; i++)
        buf_printf(&b, "cpu,host=h%d,dc=d%d u=%d.5,n=%di %lld\n", i % 97, i % 7, i, i,
                   1000000000LL * i);
    point_batch *pb = ok_n(f, b.p, b.len);
    assert_int_equal(pb->n, N);
    for (int i = 0; i < N; i += 997) {
        point *p = &pb->pts[i];
        assert_int_equal(p->line, i + 1);
        assert_true(p->ts == 1000000000LL * i);
        assert_true(p->fields[0].v.i == i);
        assert_true(p->fields[1].v.f == i + 0.5);
        assert_sv(p->tags[0].key, "dc");
    }
    buf_free(&b);
}

/* ---- number scanners ------------------------------------------------------------------ */

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_f64(const char *s) {
    double want = strtod(s, NULL), got = -1;
    size_t n = strlen(s);
    size_t k = point_scan_f64(s, n, &got);
    if (k != n) fail_msg("'%s': consumed %zu of %zu", s, k, n);
    if (memcmp(&want, &got, sizeof want) != 0) fail_msg("'%s': got %.17g want %.17g", s, got, want);
}

static void test_f64_matches_strtod(void **st) {
    (void)st;
    const char *fixed[] = {"0",
                           "-0",
                           "1",
                           "9007199254740992",
                           "9007199254740993",
                           "9007199254740993.0",
                           "18446744073709551615",
                           "1e22",
                           "1e23",
                           "123e25",
                           "9007199254740991e15",
                           "9007199254740993e15",
                           "0.1",
                           "0.3",
                           "1.7976931348623157e308",
                           "1.7976931348623159e308",
                           "2.2250738585072011e-308",
                           "2.4703282292062327e-324",
                           "2.4703282292062328e-324",
                           "0.000000000000000000000000000000000001",
                           "1234567890123456789",
                           "12345678901234567890",
                           "1234567890.123456789",
                           "0.30000000000000004",
                           "00000000000000000000000000000000000000001.5",
                           "1.00000000000000000000000000000000000000000001",
                           "7.038531e-26",
                           "1e-22",
                           "3e-23",
                           "1e0000000000000000000000000000000000000001",
                           ".5",
                           "5.",
                           "-.5e1"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) check_f64(fixed[i]);
    /* Random decimals of every length and exponent, around the fast path's limits. */
    char s[64];
    for (int i = 0; i < 300000; i++) {
        int nd = 1 + (int)(rnd() % 22), dot = (int)(rnd() % (nd + 1));
        size_t o = 0;
        if (rnd() & 1) s[o++] = '-';
        for (int d = 0; d < nd; d++) {
            if (d == dot && d) s[o++] = '.';
            s[o++] = (char)('0' + rnd() % 10);
        }
        if (rnd() % 3 == 0) o += (size_t)snprintf(s + o, 16, "e%d", (int)(rnd() % 80) - 40);
        s[o] = 0;
        check_f64(s);
    }
    /* Exact midpoints between two doubles (ties to even): (2m+1) * 2^(e-1), as integers. */
    for (int i = 0; i < 20000; i++) {
        uint64_t m = (rnd() >> 11) | (1ull << 52);
        int e = 1 + (int)(rnd() % 10);
        snprintf(s, sizeof s, "%llu", (unsigned long long)((2 * m + 1) << (e - 1)));
        check_f64(s);
        snprintf(s, sizeof s, "%llu.0e-3", (unsigned long long)((2 * m + 1) << (e - 1)));
        check_f64(s);
    }
    /* Round trips of random doubles printed with 15 to 17 digits. */
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = rnd();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (d != d || d - d != 0) continue;
        snprintf(s, sizeof s, "%.*g", 15 + (int)(rnd() % 3), d);
        check_f64(s);
    }
}

static void test_int_scanners(void **st) {
    (void)st;
    int64_t i;
    uint64_t u;
    bool ov;
    assert_int_equal(point_scan_i64("-9223372036854775808x", 21, &i, &ov), 20);
    assert_false(ov);
    assert_true(i == INT64_MIN);
    assert_int_equal(point_scan_i64("9223372036854775808", 19, &i, &ov), 19);
    assert_true(ov);
    assert_int_equal(point_scan_i64("-", 1, &i, &ov), 0);
    assert_int_equal(point_scan_i64("", 0, &i, &ov), 0);
    assert_int_equal(point_scan_u64("18446744073709551615", 20, &u, &ov), 20);
    assert_false(ov);
    assert_true(u == UINT64_MAX);
    assert_int_equal(point_scan_u64("18446744073709551616", 20, &u, &ov), 20);
    assert_true(ov);
    assert_int_equal(point_scan_u64("99999999999999999999999", 23, &u, &ov), 23);
    assert_true(ov);
    double d;
    assert_int_equal(point_scan_f64("1e", 2, &d), 1);
    assert_int_equal(point_scan_f64("1.5e+", 5, &d), 3);
    assert_int_equal(point_scan_f64("-", 1, &d), 0);
    assert_int_equal(point_scan_f64(".", 1, &d), 0);
    assert_int_equal(point_scan_f64("-.e1", 4, &d), 0);
    assert_int_equal(point_scan_f64("0x10", 4, &d), 1);
}

/* Parsing a slice at a time (lp_next) gives the same points, line numbers and errors as one
 * pass, whatever the slice size: quoted strings with newlines, comments and blank lines
 * included. */
static void test_slices(void **st) {
    fx *f = *st;
    const char *body = "# c\na f=1 1\n\nb,t=x s=\"two\nlines\" 2\n  # c2\r\nc f=3i 3\nd f=4";
    point_batch all = {0};
    err e;
    assert_int_equal(lp_parse(f->a, body, strlen(body), &all, &e), 0);
    assert_int_equal(all.n, 4);
    for (size_t max = 1; max <= 5; max++) {
        point_cursor cur;
        point_cursor_init(&cur, body, strlen(body));
        size_t k = 0;
        int rc;
        do {
            point_batch b = {0};
            rc = lp_next(&cur, f->a, &b, max, &e);
            assert_true(rc >= 0);
            assert_true(b.n <= max);
            for (size_t i = 0; i < b.n; i++, k++) {
                assert_int_equal(b.pts[i].line, all.pts[k].line);
                assert_true(b.pts[i].table.p == all.pts[k].table.p);
            }
        } while (rc > 0);
        assert_int_equal(k, all.n);
    }
    const char *bad_body = "a f=1\nb f=2\nc s=\"x\ny\"\nd f=oops";
    point_cursor cur;
    point_cursor_init(&cur, bad_body, strlen(bad_body));
    point_batch b = {0};
    assert_int_equal(lp_next(&cur, f->a, &b, 2, &e), 1);
    assert_int_equal(lp_next(&cur, f->a, &b, 2, &e), -1);
    assert_string_equal(e.msg, "Error parsing message: line 5: invalid field value: 'oops'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_tags_no_ts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_empty_bodies, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_timestamps, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_booleans, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_integers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_floats, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_numbers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_strings, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_strings, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_escapes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_escapes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_empty_names, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_missing_fields, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_error_line_numbers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_comments_blank_crlf, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dedup_and_sort, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_control_characters, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_slices, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_point_normalize_large, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_point_batch_push, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_appends_and_rolls_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_utf8, fx_setup, fx_teardown),
        cmocka_unit_test(test_utf8_scanner),
        cmocka_unit_test_setup_teardown(test_all_prefixes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_bytes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_huge_line, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_many_lines, fx_setup, fx_teardown),
        cmocka_unit_test(test_f64_matches_strtod),
        cmocka_unit_test(test_int_scanners),
    };
    return cmocka_run_group_tests_name("lp", tests, NULL, NULL);
}
