/* Unit tests for format/: Accept negotiation, float text, and every encoder (CSV, TSV, JSON,
 * ND-JSON, table) over every value type, NULLs, empty results and several batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format/fmt_num.h"
#include "format/format.h"
#include "util/timeutil.h"

/* ---- helpers ---- */

#define MAXC 8

/* A result under construction: columns (vectors) plus the schema describing them. */
typedef struct tres {
    uint32_t ncols;
    const char *names[MAXC];
    uint8_t types[MAXC], units[MAXC];
    bool tz[MAXC];
    vec cols[MAXC];
    rschema s;
} tres;

static void tres_add(tres *t, const char *name, vec v) {
    uint32_t c = t->ncols++;
    t->names[c] = name;
    t->types[c] = v.type;
    t->units[c] = v.unit;
    t->tz[c] = v.has_tz;
    t->cols[c] = v;
    t->s.ncols = t->ncols;
    t->s.names = t->names;
    t->s.types = t->types;
    t->s.units = t->units;
    t->s.has_tz = t->tz;
}

static batch tres_batch(tres *t, uint32_t nrows) {
    batch b = {t->ncols, nrows, t->cols};
    return b;
}

static vec v_bool(bool *d, uint32_t n, uint8_t *valid) {
    vec v = {.type = VT_BOOL, .len = n, .valid = valid};
    v.d.b = d;
    return v;
}
static vec v_i64(int64_t *d, uint32_t n, uint8_t *valid) {
    vec v = {.type = VT_I64, .len = n, .valid = valid};
    v.d.i64 = d;
    return v;
}
static vec v_u64(uint64_t *d, uint32_t n, uint8_t *valid) {
    vec v = {.type = VT_U64, .len = n, .valid = valid};
    v.d.u64 = d;
    return v;
}
static vec v_f64(double *d, uint32_t n, uint8_t *valid) {
    vec v = {.type = VT_F64, .len = n, .valid = valid};
    v.d.f64 = d;
    return v;
}
static vec v_str(strv *d, uint32_t n, uint8_t *valid) {
    vec v = {.type = VT_STR, .len = n, .valid = valid};
    v.d.s = d;
    return v;
}
static vec v_ts(int64_t *d, uint32_t n, enum tunit u, bool tz, uint8_t *valid) {
    vec v = {.type = VT_TS, .unit = (uint8_t)u, .has_tz = tz, .len = n, .valid = valid};
    v.d.i64 = d;
    return v;
}
static vec v_null(uint32_t n) {
    vec v = {.type = VT_NULL, .len = n};
    return v;
}
static vec v_date(int64_t *d, uint32_t n, uint8_t *valid) {
    vec v = {.type = VT_DATE, .len = n, .valid = valid};
    v.d.i64 = d;
    return v;
}
static vec v_iv(interval *d, uint32_t n, uint8_t *valid) {
    vec v = {.type = VT_INTERVAL, .len = n, .valid = valid};
    v.d.iv = d;
    return v;
}

#define S(lit) ((strv){lit, (uint32_t)(sizeof(lit) - 1)})

/* Encodes the batches; with `chunked`, also checks that the pieces are what a streaming
 * server would send. Returns the whole output (caller frees). */
static char *encode(enum fmt_kind k, bool chunked, const rschema *s, const batch *bs, int nb) {
    buf out;
    buf_init(&out);
    fmt_enc *f = fmt_enc_new(k, s, chunked);
    for (int i = 0; i < nb; i++) fmt_enc_batch(f, &bs[i], &out);
    fmt_enc_finish(f, &out);
    fmt_enc_free(f);
    buf_cstr(&out);
    return buf_detach(&out, NULL);
}

static void expect_enc(enum fmt_kind k, bool chunked, const rschema *s, const batch *bs, int nb,
                       const char *want) {
    char *got = encode(k, chunked, s, bs, nb);
    if (strcmp(got, want) != 0)
        fail_msg("format %d chunked %d:\n--- got ---\n%s\n--- want ---\n%s", (int)k, (int)chunked,
                 got, want);
    free(got);
}

static void expect_double(double d, const char *csv, const char *json) {
    char out[40];
    memset(out, 0, sizeof out);
    size_t n = fmt_double(out, d);
    assert_true(n < 32);
    out[n] = 0;
    if (strcmp(out, csv) != 0) fail_msg("fmt_double(%.17g) = %s, want %s", d, out, csv);
    n = fmt_double_json(out, d);
    assert_true(n < 32);
    out[n] = 0;
    if (strcmp(out, json) != 0) fail_msg("fmt_double_json(%.17g) = %s, want %s", d, out, json);
}

/* ---- Accept ---- */

static void test_accept(void **st) {
    (void)st;
    static const struct {
        const char *in;
        enum fmt_kind k;
    } ok[] = {
        {NULL, FMT_CSV},
        {"", FMT_CSV},
        {"*/*", FMT_CSV},
        {"application/*", FMT_CSV},
        {"text/csv", FMT_CSV},
        {"application/csv", FMT_CSV},
        {"text/CSV", FMT_CSV},
        {"text/tsv", FMT_TSV},
        {"application/TsV", FMT_TSV},
        {"application/json", FMT_JSON},
        {"text/json", FMT_JSON},
        {"application/nd-json", FMT_NDJSON},
        {"text/ND-JSON", FMT_NDJSON},
        {"text/table", FMT_TABLE},
        {"application/Table", FMT_TABLE},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        enum fmt_kind k = (enum fmt_kind)99;
        err e;
        err_clear(&e);
        if (fmt_from_accept(ok[i].in, &k, &e) != 0) fail_msg("rejected %s", ok[i].in);
        assert_int_equal(k, ok[i].k);
    }
    const char *bad[] = {"*",
                         "xx",
                         "text/*",
                         "Text/csv",
                         "APPLICATION/json",
                         "application/ndjson",
                         "application/",
                         "text/",
                         "text/csv; charset=utf-8",
                         "text/csv,application/json",
                         " text/csv",
                         "text/csv ",
                         "text/plain",
                         "application/arrow",
                         "image/csv",
                         "*/*;q=0.8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum fmt_kind k = (enum fmt_kind)99;
        err e;
        err_clear(&e);
        if (fmt_from_accept(bad[i], &k, &e) == 0) fail_msg("accepted %s", bad[i]);
        assert_int_equal(k, 99);
        assert_int_equal(e.http, 400);
        assert_string_equal(e.code, "040005");
        char want[256];
        snprintf(want, sizeof want, "Invalid header: accept type not support: %s", bad[i]);
        assert_string_equal(e.msg, want);
    }
    enum fmt_kind k;
    assert_int_equal(fmt_from_accept("bogus", &k, NULL), -1); /* a NULL err is allowed */
}

static void test_content_type(void **st) {
    (void)st;
    assert_string_equal(fmt_content_type(FMT_CSV), "text/csv");
    assert_string_equal(fmt_content_type(FMT_TSV), "text/tsv");
    assert_string_equal(fmt_content_type(FMT_JSON), "application/json");
    assert_string_equal(fmt_content_type(FMT_NDJSON), "application/nd-json");
    assert_string_equal(fmt_content_type(FMT_TABLE), "text/table");
}

/* ---- floats ---- */

static void test_double_text(void **st) {
    (void)st;
    expect_double(0.1, "0.1", "0.1");
    expect_double(1.0, "1.0", "1.0");
    expect_double(-10.5, "-10.5", "-10.5");
    expect_double(2.0, "2.0", "2.0");
    expect_double(89.0, "89.0", "89.0");
    expect_double(123456789.0, "123456789.0", "123456789.0");
    expect_double(1e9, "1000000000.0", "1000000000.0");
    expect_double(1e10, "1.0e10", "10000000000.0");
    expect_double(123456789012.0, "1.23456789012e11", "123456789012.0");
    expect_double(1e15, "1.0e15", "1000000000000000.0");
    expect_double(1e16, "1.0e16", "1e16");
    expect_double(1e17, "1.0e17", "1e17");
    expect_double(1e20, "1.0e20", "1e20");
    expect_double(1.2345e20, "1.2345e20", "1.2345e20");
    expect_double(1e-5, "0.00001", "0.00001");
    expect_double(1.234e-5, "0.00001234", "0.00001234");
    expect_double(-0.0000111, "-0.0000111", "-0.0000111");
    expect_double(1e-6, "1.0e-6", "1e-6");
    expect_double(1.5e-7, "1.5e-7", "1.5e-7");
    expect_double(5e-324, "5.0e-324", "5e-324");
    expect_double(-5e-324, "-5.0e-324", "-5e-324");
    expect_double(2.2250738585072014e-308, "2.2250738585072014e-308", "2.2250738585072014e-308");
    expect_double(1.7976931348623157e308, "1.7976931348623157e308", "1.7976931348623157e308");
    expect_double(-1.7976931348623157e308, "-1.7976931348623157e308", "-1.7976931348623157e308");
    expect_double(0.0, "0.0", "0.0");
    expect_double(-0.0, "-0.0", "-0.0");
    expect_double(0.30000000000000004, "0.30000000000000004", "0.30000000000000004");
    expect_double(0.1 + 0.2, "0.30000000000000004", "0.30000000000000004");
    expect_double(1.692022416413119e18, "1.692022416413119e18", "1.692022416413119e18");
    expect_double(-1.8499075046247687e-10, "-1.8499075046247687e-10", "-1.8499075046247687e-10");
    expect_double(16185542082.0, "1.6185542082e10", "16185542082.0");
    expect_double(0.14928332458710802, "0.14928332458710802", "0.14928332458710802");
    expect_double(9007199254740992.0, "9.007199254740992e15", "9007199254740992.0");
    expect_double(9007199254740993.0, "9.007199254740992e15", "9007199254740992.0");
    expect_double(18446744073709551616.0, "1.8446744073709552e19", "1.8446744073709552e19");
    expect_double(1152921504606846976.0, "1.152921504606847e18", "1.152921504606847e18");
    expect_double(1e23, "1.0e23", "1e23");
    expect_double(8.41e21, "8.41e21", "8.41e21");
    expect_double(5e-310, "5.0e-310", "5e-310");
    expect_double(0.5, "0.5", "0.5");
    expect_double(100.0, "100.0", "100.0");
    expect_double(NAN, "NaN", "null");
    expect_double(INFINITY, "inf", "null");
    expect_double(-INFINITY, "-inf", "null");
}

/* Every output reads back as the same double, and no shorter decimal would. */
static void test_double_roundtrip_shortest(void **st) {
    (void)st;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        uint64_t bits = x;
        if (i % 4 == 1) {
            /* decimal-looking values: few digits, various scales */
            d = (double)(x % 100000000) / pow(10, (double)((x >> 40) % 12));
            memcpy(&bits, &d, sizeof d);
        } else if (i % 4 == 2) {
            bits =
                (x & 0x800FFFFFFFFFFFFFULL) | ((uint64_t)(1023 + (int)(x >> 52) % 70 - 35) << 52);
        }
        memcpy(&d, &bits, sizeof d);
        char out[40];
        size_t n = fmt_double(out, d);
        out[n] = 0;
        double back = strtod(out, NULL);
        if (isnan(d)) {
            assert_true(isnan(back));
            continue;
        }
        if (memcmp(&back, &d, sizeof d) != 0) fail_msg("%.17g printed as %s", d, out);
        n = fmt_double_json(out, d);
        out[n] = 0;
        if (isfinite(d)) {
            back = strtod(out, NULL);
            if (memcmp(&back, &d, sizeof d) != 0) fail_msg("%.17g printed (json) as %s", d, out);
            char dig[17];
            int e, nd = fmt_shortest(d, dig, &e);
            if (d != 0 && nd > 1) {
                char shorter[40];
                snprintf(shorter, sizeof shorter, "%.*e", nd - 2, d);
                if (strtod(shorter, NULL) == d)
                    fail_msg("%.17g: %s is shorter than %d digits", d, shorter, nd);
            }
        }
    }
}

/* fmt_double's text laid out from fmt_shortest's digits by the lexical-core rules: the
 * reference for its fast path (decimal values written straight from c / 10^k). */
static void lexical_reference(double d, char *out) {
    char dig[17];
    int e, n = fmt_shortest(d, dig, &e);
    char *p = out;
    if (d < 0) *p++ = '-';
    if (e < 0) {
        p += sprintf(p, "0.%.*s%.*s", -e - 1, "0000", n, dig);
    } else if (n <= e + 1) {
        p += sprintf(p, "%.*s%.*s.0", n, dig, e + 1 - n, "0000000000");
    } else {
        p += sprintf(p, "%.*s.%.*s", e + 1, dig, n - e - 1, dig + e + 1);
    }
    *p = 0;
}

static void test_double_decimal_fast_path(void **st) {
    (void)st;
    uint64_t x = 0x243F6A8885A308D3ULL;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* few and many digits, at every scale of the decimal range, both signs */
        double d = (double)(x % (i % 3 ? 100000ULL : 10000000000000000ULL)) /
                   pow(10, (double)((x >> 40) % 21));
        if (x >> 63) d = -d;
        if (fabs(d) < 1e-5 || fabs(d) >= 1e10) continue;
        char out[40], want[64];
        out[fmt_double(out, d)] = 0;
        lexical_reference(d, want);
        if (strcmp(out, want) != 0) fail_msg("fmt_double(%.17g) = %s, want %s", d, out, want);
    }
}

static void test_integers(void **st) {
    (void)st;
    char out[32];
    size_t n = fmt_i64(out, INT64_MIN);
    out[n] = 0;
    assert_string_equal(out, "-9223372036854775808");
    n = fmt_i64(out, 0);
    out[n] = 0;
    assert_string_equal(out, "0");
    n = fmt_u64(out, UINT64_MAX);
    out[n] = 0;
    assert_string_equal(out, "18446744073709551615");
    n = fmt_i64(out, -7);
    out[n] = 0;
    assert_string_equal(out, "-7");
    n = fmt_u64(out, 10);
    out[n] = 0;
    assert_string_equal(out, "10");
}

/* ---- a result with every type ---- */

static bool all_b[3] = {true, false, true};
static int64_t all_i[3] = {-1, 0, INT64_MAX};
static uint64_t all_u[3] = {UINT64_MAX, 0, 7};
static double all_f[3] = {1.0, 0.1, 1e10};
static strv all_s[3];
static int64_t all_t[3] = {1, 1690510331000000000LL, -1};
static uint8_t all_valid[1] = {0x5}; /* rows 0 and 2 valid, row 1 NULL */

static void all_types(tres *t) {
    memset(t, 0, sizeof *t);
    all_s[0] = S("a,b");
    all_s[1] = S("x");
    all_s[2] = S("q\"t");
    tres_add(t, "time", v_ts(all_t, 3, TU_NS, false, NULL));
    tres_add(t, "s", v_str(all_s, 3, all_valid));
    tres_add(t, "b", v_bool(all_b, 3, all_valid));
    tres_add(t, "i", v_i64(all_i, 3, all_valid));
    tres_add(t, "u", v_u64(all_u, 3, all_valid));
    tres_add(t, "f", v_f64(all_f, 3, all_valid));
    tres_add(t, "n", v_null(3));
}

static void test_csv_all_types(void **st) {
    (void)st;
    tres t;
    all_types(&t);
    batch b = tres_batch(&t, 3);
    expect_enc(FMT_CSV, false, &t.s, &b, 1,
               "time,s,b,i,u,f,n\n"
               "1970-01-01T00:00:00.000000001,\"a,b\",true,-1,18446744073709551615,1.0,\n"
               "2023-07-28T02:12:11.000000000,,,,,,\n"
               "1969-12-31T23:59:59.999999999,\"q\"\"t\",true,9223372036854775807,7,1.0e10,\n");
    expect_enc(
        FMT_TSV, false, &t.s, &b, 1,
        "time\ts\tb\ti\tu\tf\tn\n"
        "1970-01-01T00:00:00.000000001\ta,b\ttrue\t-1\t18446744073709551615\t1.0\t\n"
        "2023-07-28T02:12:11.000000000\t\t\t\t\t\t\n"
        "1969-12-31T23:59:59.999999999\t\"q\"\"t\"\ttrue\t9223372036854775807\t7\t1.0e10\t\n");
}

static void test_json_all_types(void **st) {
    (void)st;
    tres t;
    all_types(&t);
    batch b = tres_batch(&t, 3);
    expect_enc(FMT_JSON, false, &t.s, &b, 1,
               "[{\"time\":\"1970-01-01T00:00:00.000000001\",\"s\":\"a,b\",\"b\":true,\"i\":-1,"
               "\"u\":18446744073709551615,\"f\":1.0},"
               "{\"time\":\"2023-07-28T02:12:11\"},"
               "{\"time\":\"1969-12-31T23:59:59.999999999\",\"s\":\"q\\\"t\",\"b\":true,"
               "\"i\":9223372036854775807,\"u\":7,\"f\":10000000000.0}]");
    expect_enc(FMT_NDJSON, false, &t.s, &b, 1,
               "{\"time\":\"1970-01-01T00:00:00.000000001\",\"s\":\"a,b\",\"b\":true,\"i\":-1,"
               "\"u\":18446744073709551615,\"f\":1.0}\n"
               "{\"time\":\"2023-07-28T02:12:11\"}\n"
               "{\"time\":\"1969-12-31T23:59:59.999999999\",\"s\":\"q\\\"t\",\"b\":true,"
               "\"i\":9223372036854775807,\"u\":7,\"f\":10000000000.0}\n");
}

static void test_table_all_types(void **st) {
    (void)st;
    tres t;
    all_types(&t);
    batch b = tres_batch(&t, 3);
    expect_enc(FMT_TABLE, false, &t.s, &b, 1,
               "+-------------------------------+-----+------+---------------------+"
               "----------------------+--------+---+\n"
               "| time                          | s   | b    | i                   "
               "| u                    | f      | n |\n"
               "+-------------------------------+-----+------+---------------------+"
               "----------------------+--------+---+\n"
               "| 1970-01-01T00:00:00.000000001 | a,b | true | -1                  "
               "| 18446744073709551615 | 1.0    |   |\n"
               "| 2023-07-28T02:12:11           |     |      |                     "
               "|                      |        |   |\n"
               "| 1969-12-31T23:59:59.999999999 | q\"t | true | 9223372036854775807 "
               "| 7                    | 1.0e10 |   |\n"
               "+-------------------------------+-----+------+---------------------+"
               "----------------------+--------+---+");
}

/* ---- CSV / TSV details ---- */

static void test_csv_quoting(void **st) {
    (void)st;
    strv s[9] = {S("plain"),     S("with,comma"), S("with\"quote"), S("cr\rhere"),    S("lf\nhere"),
                 S("tab\there"), S(""),           S(" spaced "),    S("{\"k\":true}")};
    tres t = {0};
    tres_add(&t, "v", v_str(s, 9, NULL));
    tres_add(&t, "w", v_str(s, 9, NULL));
    batch b = tres_batch(&t, 9);
    expect_enc(FMT_CSV, false, &t.s, &b, 1,
               "v,w\nplain,plain\n\"with,comma\",\"with,comma\"\n"
               "\"with\"\"quote\",\"with\"\"quote\"\n\"cr\rhere\",\"cr\rhere\"\n"
               "\"lf\nhere\",\"lf\nhere\"\ntab\there,tab\there\n,\n"
               " spaced , spaced \n\"{\"\"k\"\":true}\",\"{\"\"k\"\":true}\"\n");
    expect_enc(FMT_TSV, false, &t.s, &b, 1,
               "v\tw\nplain\tplain\nwith,comma\twith,comma\n"
               "\"with\"\"quote\"\t\"with\"\"quote\"\n\"cr\rhere\"\t\"cr\rhere\"\n"
               "\"lf\nhere\"\t\"lf\nhere\"\n\"tab\there\"\t\"tab\there\"\n\t\n"
               " spaced \t spaced \n\"{\"\"k\"\":true}\"\t\"{\"\"k\"\":true}\"\n");
}

static void test_csv_single_empty_field(void **st) {
    (void)st;
    strv s[3] = {S(""), S("x"), S("")};
    uint8_t valid[1] = {0x3}; /* row 2 NULL */
    tres t = {0};
    tres_add(&t, "table_name", v_str(s, 3, valid));
    batch b = tres_batch(&t, 3);
    expect_enc(FMT_CSV, false, &t.s, &b, 1, "table_name\n\"\"\nx\n\"\"\n");
    expect_enc(FMT_TSV, false, &t.s, &b, 1, "table_name\n\"\"\nx\n\"\"\n");
    /* An empty column name is a record of one empty field too. */
    tres t2 = {0};
    tres_add(&t2, "", v_str(s, 3, valid));
    batch b2 = tres_batch(&t2, 2);
    expect_enc(FMT_CSV, false, &t2.s, &b2, 1, "\"\"\n\"\"\nx\n");
}

static void test_csv_header_and_batches(void **st) {
    (void)st;
    int64_t a[3] = {1, 2, 3};
    tres t = {0};
    tres_add(&t, "Int64(1)", v_i64(a, 3, NULL));
    /* No batch at all: header at finish. */
    expect_enc(FMT_CSV, false, &t.s, NULL, 0, "Int64(1)\n");
    expect_enc(FMT_TSV, true, &t.s, NULL, 0, "Int64(1)\n");
    /* Zero-row batches only. */
    batch z = tres_batch(&t, 0);
    batch zz[2] = {z, z};
    expect_enc(FMT_CSV, true, &t.s, zz, 2, "Int64(1)\n");
    /* Several batches continue one document with one header. */
    batch b1 = tres_batch(&t, 1);
    batch b3 = tres_batch(&t, 3);
    batch bs[4] = {z, b1, z, b3};
    expect_enc(FMT_CSV, false, &t.s, bs, 4, "Int64(1)\n1\n1\n2\n3\n");
    expect_enc(FMT_CSV, true, &t.s, bs, 4, "Int64(1)\n1\n1\n2\n3\n");

    /* The header is in the first piece and only there. */
    buf out;
    buf_init(&out);
    fmt_enc *f = fmt_enc_new(FMT_CSV, &t.s, true);
    fmt_enc_batch(f, &b1, &out);
    assert_int_equal(out.len, strlen("Int64(1)\n1\n"));
    assert_memory_equal(out.p, "Int64(1)\n1\n", out.len);
    buf_reset(&out);
    fmt_enc_batch(f, &b3, &out);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.p, "1\n2\n3\n", 6);
    buf_reset(&out);
    fmt_enc_finish(f, &out);
    assert_int_equal(out.len, 0);
    fmt_enc_free(f);
    buf_free(&out);
}

static void test_csv_header_quoting(void **st) {
    (void)st;
    int64_t a[1] = {5};
    tres t = {0};
    tres_add(&t, "a,b", v_i64(a, 1, NULL));
    tres_add(&t, "c\"d", v_i64(a, 1, NULL));
    tres_add(&t, "e\tf", v_i64(a, 1, NULL));
    batch b = tres_batch(&t, 1);
    expect_enc(FMT_CSV, false, &t.s, &b, 1, "\"a,b\",\"c\"\"d\",e\tf\n5,5,5\n");
    expect_enc(FMT_TSV, false, &t.s, &b, 1, "a,b\t\"c\"\"d\"\t\"e\tf\"\n5\t5\t5\n");
}

static void test_csv_timestamps(void **st) {
    (void)st;
    int64_t ns[2] = {1690510331000000000LL, -1};
    int64_t us[2] = {1667456411000001LL, -1};
    int64_t ms[2] = {1690510331123LL, -1};
    int64_t s[2] = {1690510331LL, -1};
    tres t = {0};
    tres_add(&t, "ns", v_ts(ns, 2, TU_NS, false, NULL));
    tres_add(&t, "us", v_ts(us, 2, TU_US, false, NULL));
    tres_add(&t, "ms", v_ts(ms, 2, TU_MS, false, NULL));
    tres_add(&t, "s", v_ts(s, 2, TU_S, true, NULL));
    batch b = tres_batch(&t, 2);
    expect_enc(FMT_CSV, false, &t.s, &b, 1,
               "ns,us,ms,s\n"
               "2023-07-28T02:12:11.000000000,2022-11-03T06:20:11.000001000,"
               "2023-07-28T02:12:11.123000000,2023-07-28T02:12:11.000000000+00:00\n"
               "1969-12-31T23:59:59.999999999,1969-12-31T23:59:59.999999000,"
               "1969-12-31T23:59:59.999000000,1969-12-31T23:59:59.000000000+00:00\n");
    expect_enc(FMT_JSON, false, &t.s, &b, 1,
               "[{\"ns\":\"2023-07-28T02:12:11\",\"us\":\"2022-11-03T06:20:11.000001\","
               "\"ms\":\"2023-07-28T02:12:11.123\",\"s\":\"2023-07-28T02:12:11Z\"},"
               "{\"ns\":\"1969-12-31T23:59:59.999999999\",\"us\":\"1969-12-31T23:59:59.999999\","
               "\"ms\":\"1969-12-31T23:59:59.999\",\"s\":\"1969-12-31T23:59:59Z\"}]");
    /* A zone flagged only in the schema counts as well. */
    tres t2 = {0};
    tres_add(&t2, "now()", v_ts(ns, 1, TU_NS, false, NULL));
    t2.tz[0] = true;
    batch b2 = tres_batch(&t2, 1);
    expect_enc(FMT_CSV, false, &t2.s, &b2, 1, "now()\n2023-07-28T02:12:11.000000000+00:00\n");
    expect_enc(FMT_NDJSON, false, &t2.s, &b2, 1, "{\"now()\":\"2023-07-28T02:12:11Z\"}\n");
}

static void test_csv_floats(void **st) {
    (void)st;
    double f[8] = {NAN, INFINITY, -INFINITY, -0.0, 1.5e-7, 1e9, 123456789012.0, 0.1};
    tres t = {0};
    tres_add(&t, "f", v_f64(f, 8, NULL));
    batch b = tres_batch(&t, 8);
    expect_enc(FMT_CSV, false, &t.s, &b, 1,
               "f\nNaN\ninf\n-inf\n-0.0\n1.5e-7\n1000000000.0\n1.23456789012e11\n0.1\n");
    /* JSON leaves NaN and infinities out like NULLs. */
    expect_enc(FMT_JSON, false, &t.s, &b, 1,
               "[{},{},{},{\"f\":-0.0},{\"f\":1.5e-7},{\"f\":1000000000.0},"
               "{\"f\":123456789012.0},{\"f\":0.1}]");
}

/* ---- JSON details ---- */

static void test_json_escaping(void **st) {
    (void)st;
    strv s[4] = {S("q\"b\\s/"), S("\n\t\r\b\f\x01\x1f\x7f"), S("caf\xc3\xa9 \xe4\xb8\xad"), S("")};
    tres t = {0};
    tres_add(&t, "k\"\n\xc3\xa9", v_str(s, 4, NULL));
    batch b = tres_batch(&t, 4);
    expect_enc(FMT_JSON, false, &t.s, &b, 1,
               "[{\"k\\\"\\n\xc3\xa9\":\"q\\\"b\\\\s/\"},"
               "{\"k\\\"\\n\xc3\xa9\":\"\\n\\t\\r\\b\\f\\u0001\\u001f\x7f\"},"
               "{\"k\\\"\\n\xc3\xa9\":\"caf\xc3\xa9 \xe4\xb8\xad\"},"
               "{\"k\\\"\\n\xc3\xa9\":\"\"}]");
}

static void test_json_empty_and_batches(void **st) {
    (void)st;
    int64_t a[3] = {1, 2, 3};
    tres t = {0};
    tres_add(&t, "a", v_i64(a, 3, NULL));
    batch z = tres_batch(&t, 0);
    batch b1 = tres_batch(&t, 1);
    batch b2 = tres_batch(&t, 2);
    for (int chunked = 0; chunked < 2; chunked++) {
        expect_enc(FMT_JSON, chunked, &t.s, NULL, 0, "[]");
        expect_enc(FMT_JSON, chunked, &t.s, &z, 1, "[]");
        expect_enc(FMT_NDJSON, chunked, &t.s, NULL, 0, "");
        expect_enc(FMT_NDJSON, chunked, &t.s, &z, 1, "");
        batch bs[4] = {z, b1, z, b2};
        expect_enc(FMT_JSON, chunked, &t.s, bs, 4, "[{\"a\":1},{\"a\":1},{\"a\":2}]");
        expect_enc(FMT_NDJSON, chunked, &t.s, bs, 4, "{\"a\":1}\n{\"a\":1}\n{\"a\":2}\n");
    }
    /* Pieces: `[` opens with the first row, later batches continue with `,`. */
    buf out;
    buf_init(&out);
    fmt_enc *f = fmt_enc_new(FMT_JSON, &t.s, true);
    fmt_enc_batch(f, &z, &out);
    assert_int_equal(out.len, 0);
    fmt_enc_batch(f, &b1, &out);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.p, "[{\"a\":1}", 8);
    buf_reset(&out);
    fmt_enc_batch(f, &b1, &out);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.p, ",{\"a\":1}", 8);
    buf_reset(&out);
    fmt_enc_finish(f, &out);
    assert_int_equal(out.len, 1);
    assert_memory_equal(out.p, "]", 1);
    fmt_enc_free(f);
    buf_free(&out);
}

static void test_json_nulls_and_order(void **st) {
    (void)st;
    /* Keys follow column order (not sorted); a row of NULLs is `{}`. */
    int64_t a[2] = {1, 2};
    double f[2] = {1.0, 2.5};
    strv s[2] = {S("a"), S("b")};
    uint8_t v0[1] = {0x1}, v1[1] = {0x2};
    tres t = {0};
    tres_add(&t, "time", v_i64(a, 2, v0));
    tres_add(&t, "ta", v_str(s, 2, v0));
    tres_add(&t, "fa", v_f64(f, 2, v1));
    batch b = tres_batch(&t, 2);
    expect_enc(FMT_JSON, false, &t.s, &b, 1, "[{\"time\":1,\"ta\":\"a\"},{\"fa\":2.5}]");
    uint8_t none[1] = {0};
    t.cols[0].valid = t.cols[1].valid = t.cols[2].valid = none;
    expect_enc(FMT_JSON, false, &t.s, &b, 1, "[{},{}]");
    expect_enc(FMT_NDJSON, false, &t.s, &b, 1, "{}\n{}\n");
    expect_enc(FMT_CSV, false, &t.s, &b, 1, "time,ta,fa\n,,\n,,\n");
}

static void test_json_u64_and_extremes(void **st) {
    (void)st;
    uint64_t u[1] = {UINT64_MAX};
    int64_t i[1] = {INT64_MIN};
    double f[1] = {1e20};
    bool bo[1] = {false};
    tres t = {0};
    tres_add(&t, "u", v_u64(u, 1, NULL));
    tres_add(&t, "i", v_i64(i, 1, NULL));
    tres_add(&t, "f", v_f64(f, 1, NULL));
    tres_add(&t, "b", v_bool(bo, 1, NULL));
    batch b = tres_batch(&t, 1);
    expect_enc(FMT_JSON, false, &t.s, &b, 1,
               "[{\"u\":18446744073709551615,\"i\":-9223372036854775808,\"f\":1e20,\"b\":false}]");
    expect_enc(FMT_CSV, false, &t.s, &b, 1,
               "u,i,f,b\n18446744073709551615,-9223372036854775808,1.0e20,false\n");
}

/* ---- intervals and dates ---- */

static void test_interval_and_date(void **st) {
    (void)st;
    interval iv[5] = {{0, 1, 0},
                      {0, 0, 5000000},
                      {0, 0, 630000000000LL},
                      {14, -3, -1500000000LL},
                      {0, 0, 90061000000001LL}};
    int64_t d[5] = {0, 19000, -1, -719529, 2932896};
    tres t = {0};
    tres_add(&t, "iv", v_iv(iv, 5, NULL));
    tres_add(&t, "d", v_date(d, 5, NULL));
    batch b = tres_batch(&t, 5);
    expect_enc(FMT_CSV, false, &t.s, &b, 1,
               "iv,d\n"
               "0 years 0 mons 1 days 0 hours 0 mins 0.000000000 secs,1970-01-01\n"
               "0 years 0 mons 0 days 0 hours 0 mins 0.005000000 secs,2022-01-08\n"
               "0 years 0 mons 0 days 0 hours 10 mins 30.000000000 secs,1969-12-31\n"
               "0 years 14 mons -3 days 0 hours 0 mins -1.500000000 secs,-0001-12-31\n"
               "0 years 0 mons 0 days 25 hours 1 mins 1.000000001 secs,9999-12-31\n");
    batch b1 = tres_batch(&t, 1);
    expect_enc(FMT_JSON, false, &t.s, &b1, 1,
               "[{\"iv\":\"0 years 0 mons 1 days 0 hours 0 mins 0.000000000 secs\","
               "\"d\":\"1970-01-01\"}]");
    interval neg[1] = {{0, 0, -500000000LL}};
    tres t2 = {0};
    tres_add(&t2, "x", v_iv(neg, 1, NULL));
    batch b2 = tres_batch(&t2, 1);
    expect_enc(FMT_TSV, false, &t2.s, &b2, 1,
               "x\n0 years 0 mons 0 days 0 hours 0 mins -0.500000000 secs\n");
}

/* ---- table ---- */

static void test_table_reference(void **st) {
    (void)st;
    int64_t a[1] = {1};
    tres t = {0};
    tres_add(&t, "Int64(1)", v_i64(a, 1, NULL));
    batch b = tres_batch(&t, 1);
    const char *want = "+----------+\n| Int64(1) |\n+----------+\n| 1        |\n+----------+";
    expect_enc(FMT_TABLE, false, &t.s, &b, 1, want);
    expect_enc(FMT_TABLE, true, &t.s, &b, 1, want);

    strv s[1] = {S("x")};
    tres e = {0};
    tres_add(&e, "table_name", v_str(s, 1, NULL));
    batch z = tres_batch(&e, 0);
    const char *empty = "+------------+\n| table_name |\n+------------+\n+------------+";
    expect_enc(FMT_TABLE, false, &e.s, NULL, 0, empty);
    expect_enc(FMT_TABLE, false, &e.s, &z, 1, empty);
    expect_enc(FMT_TABLE, true, &e.s, NULL, 0, empty);
    expect_enc(FMT_TABLE, true, &e.s, &z, 1, empty);
}

static void test_table_batches(void **st) {
    (void)st;
    strv s[3] = {S("a"), S("bbbb"), S("cc")};
    tres t = {0};
    tres_add(&t, "v", v_str(s, 3, NULL));
    batch b1 = tres_batch(&t, 1);
    batch b3 = tres_batch(&t, 3);
    batch z = tres_batch(&t, 0);
    batch bs[3] = {b1, z, b3};
    /* Not chunked: one box, widths over all batches. */
    expect_enc(FMT_TABLE, false, &t.s, bs, 3,
               "+------+\n| v    |\n+------+\n| a    |\n| a    |\n| bbbb |\n| cc   |\n+------+");
    /* Chunked: one box per non-empty batch, each sized on its own, nothing at finish. */
    expect_enc(FMT_TABLE, true, &t.s, bs, 3,
               "+---+\n| v |\n+---+\n| a |\n+---+"
               "+------+\n| v    |\n+------+\n| a    |\n| bbbb |\n| cc   |\n+------+");
    buf out;
    buf_init(&out);
    fmt_enc *f = fmt_enc_new(FMT_TABLE, &t.s, false);
    fmt_enc_batch(f, &b3, &out);
    assert_int_equal(out.len, 0); /* buffered until finish */
    fmt_enc_finish(f, &out);
    assert_true(out.len > 0);
    fmt_enc_free(f);
    buf_free(&out);
}

static void test_table_utf8_and_nulls(void **st) {
    (void)st;
    strv s[4] = {S("caf\xc3\xa9"), S("\xe4\xb8\xad\xe6\x96\x87"), S(""), S("e\xcc\x81")};
    double f[4] = {1.0, NAN, 1e-7, 2.5};
    uint8_t valid[1] = {0xB}; /* row 2 NULL */
    tres t = {0};
    tres_add(&t, "n\xc3\xa4me", v_str(s, 4, valid));
    tres_add(&t, "f", v_f64(f, 4, valid));
    batch b = tres_batch(&t, 4);
    /* é and ä are one column each, each CJK character two, a combining accent none. */
    expect_enc(FMT_TABLE, false, &t.s, &b, 1,
               "+------+-----+\n"
               "| n\xc3\xa4me | f   |\n"
               "+------+-----+\n"
               "| caf\xc3\xa9 | 1.0 |\n"
               "| \xe4\xb8\xad\xe6\x96\x87 | NaN |\n"
               "|      |     |\n"
               "| e\xcc\x81    | 2.5 |\n"
               "+------+-----+");
}

static void test_table_multiline_cells(void **st) {
    (void)st;
    strv s[2] = {S("one\ntwo\nthree"), S("x")};
    int64_t a[2] = {1, 22};
    tres t = {0};
    tres_add(&t, "s", v_str(s, 2, NULL));
    tres_add(&t, "a\nb", v_i64(a, 2, NULL));
    batch b = tres_batch(&t, 2);
    expect_enc(FMT_TABLE, false, &t.s, &b, 1,
               "+-------+----+\n"
               "| s     | a  |\n"
               "|       | b  |\n"
               "+-------+----+\n"
               "| one   | 1  |\n"
               "| two   |    |\n"
               "| three |    |\n"
               "| x     | 22 |\n"
               "+-------+----+");
}

static void test_table_timestamps_and_invalid_utf8(void **st) {
    (void)st;
    int64_t ts[2] = {1690510331123LL, 0};
    strv s[2] = {S("\xff\xfe"), S("\xe4\xb8")}; /* invalid bytes count one column each */
    tres t = {0};
    tres_add(&t, "t", v_ts(ts, 2, TU_MS, false, NULL));
    tres_add(&t, "s", v_str(s, 2, NULL));
    batch b = tres_batch(&t, 2);
    expect_enc(FMT_TABLE, false, &t.s, &b, 1,
               "+-------------------------+----+\n"
               "| t                       | s  |\n"
               "+-------------------------+----+\n"
               "| 2023-07-28T02:12:11.123 | \xff\xfe |\n"
               "| 1970-01-01T00:00:00     | \xe4\xb8 |\n"
               "+-------------------------+----+");
}

/* ---- robustness ---- */

static void test_edge_inputs(void **st) {
    (void)st;
    /* Zero columns. */
    rschema none = {0};
    batch b0 = {0, 2, NULL};
    expect_enc(FMT_JSON, false, &none, &b0, 1, "[{},{}]");
    expect_enc(FMT_TABLE, false, &none, &b0, 1, "");
    expect_enc(FMT_CSV, false, &none, NULL, 0, "\"\"\n");
    /* A batch with fewer columns than the schema, a vector shorter than the batch and a
     * string with a NULL pointer: treated as NULLs / empty, never read out of bounds. */
    int64_t a[1] = {9};
    strv s[2] = {{NULL, 0}, S("z")};
    tres t = {0};
    tres_add(&t, "a", v_i64(a, 1, NULL));
    tres_add(&t, "s", v_str(s, 2, NULL));
    tres_add(&t, "c", v_i64(a, 1, NULL));
    batch b = {2, 2, t.cols};
    expect_enc(FMT_CSV, false, &t.s, &b, 1, "a,s,c\n9,,\n,z,\n");
    expect_enc(FMT_JSON, false, &t.s, &b, 1, "[{\"a\":9,\"s\":\"\"},{\"s\":\"z\"}]");
    expect_enc(FMT_TABLE, false, &t.s, &b, 1,
               "+---+---+---+\n| a | s | c |\n+---+---+---+\n| 9 |   |   |\n|   | z |   |\n"
               "+---+---+---+");
    /* Schema without units/zones arrays, and a NULL name. */
    const char *names[1] = {NULL};
    uint8_t types[1] = {VT_I64};
    rschema bare = {1, names, types, NULL, NULL};
    batch bb = {1, 1, t.cols};
    expect_enc(FMT_CSV, false, &bare, &bb, 1, "\"\"\n9\n");
    /* NULL encoder / batch are ignored. */
    buf out;
    buf_init(&out);
    fmt_enc_batch(NULL, &bb, &out);
    fmt_enc_finish(NULL, &out);
    fmt_enc_free(NULL);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static void test_large_result(void **st) {
    (void)st;
    enum { N = 5000 };
    int64_t *a = malloc(N * sizeof *a);
    double *f = malloc(N * sizeof *f);
    for (int i = 0; i < N; i++) a[i] = i, f[i] = i * 0.5;
    tres t = {0};
    tres_add(&t, "a", v_i64(a, N, NULL));
    tres_add(&t, "f", v_f64(f, N, NULL));
    batch b = tres_batch(&t, N);
    batch bs[3] = {b, b, b};
    char *csv = encode(FMT_CSV, false, &t.s, bs, 3);
    size_t lines = 0;
    for (char *p = csv; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 3 * N + 1);
    assert_non_null(strstr(csv, "\n4999,2499.5\n"));
    free(csv);
    char *tab = encode(FMT_TABLE, false, &t.s, bs, 3);
    assert_non_null(strstr(tab, "| 4999 | 2499.5 |"));
    assert_int_equal(tab[strlen(tab) - 1], '+');
    free(tab);
    char *js = encode(FMT_JSON, true, &t.s, bs, 3);
    assert_int_equal(js[0], '[');
    assert_int_equal(js[strlen(js) - 1], ']');
    assert_null(strstr(js, "]["));
    free(js);
    free(a);
    free(f);
}

/* Finding 020 of the SQL fuzzer: one long string made the box pad every row to its width, so
 * the answer was rows x width bytes, all in memory. A limit refuses it before drawing. */
static void test_table_limit(void **st) {
    (void)st;
    enum { N = 2000, W = 70000 };
    char *long_s = malloc(W);
    memset(long_s, 'y', W);
    strv *s = calloc(N, sizeof *s);
    for (uint32_t i = 0; i < N; i++) s[i] = S("x");
    s[N - 1] = (strv){long_s, W};
    tres t = {0};
    tres_add(&t, "s", v_str(s, N, NULL));
    batch b = tres_batch(&t, N);
    for (int chunked = 0; chunked < 2; chunked++) {
        buf out;
        buf_init(&out);
        fmt_enc *f = fmt_enc_new(FMT_TABLE, &t.s, chunked);
        fmt_enc_set_limit(f, 16u << 20);
        fmt_enc_batch(f, &b, &out);
        fmt_enc_finish(f, &out);
        err e;
        err_clear(&e);
        assert_int_equal(fmt_enc_error(f, &e), -1);
        assert_int_equal(e.http, 500);
        assert_non_null(strstr(e.msg, "Resources exhausted"));
        assert_true(out.len < (1u << 20)); /* refused before drawing, not after */
        fmt_enc_free(f);
        buf_free(&out);
    }
    /* Under the limit the same encoder draws as before. */
    buf out;
    buf_init(&out);
    fmt_enc *f = fmt_enc_new(FMT_TABLE, &t.s, false);
    fmt_enc_set_limit(f, 1u << 30);
    fmt_enc_batch(f, &b, &out);
    fmt_enc_finish(f, &out);
    assert_int_equal(fmt_enc_error(f, NULL), 0);
    assert_true(out.len > (size_t)N * W);
    fmt_enc_free(f);
    buf_free(&out);
    free(s);
    free(long_s);
}

/* A cell of many lines costs its length, not its length per line. */
static void test_table_many_lines(void **st) {
    (void)st;
    enum { L = 200000 };
    char *p = malloc(2 * L);
    for (uint32_t i = 0; i < L; i++) p[2 * i] = 'a', p[2 * i + 1] = '\n';
    strv s[1] = {{p, 2 * L - 1}};
    tres t = {0};
    tres_add(&t, "s", v_str(s, 1, NULL));
    batch b = tres_batch(&t, 1);
    char *got = encode(FMT_TABLE, false, &t.s, &b, 1);
    /* header box (3 lines + border) and L lines of "| a |" */
    size_t lines = 0;
    for (char *q = got; *q; q++) lines += *q == '\n';
    assert_int_equal(lines, (size_t)L + 3);
    assert_non_null(strstr(got, "\n| a |\n| a |\n"));
    free(got);
    free(p);
}

/* Rust's Display of an f64 (DataFusion's names and plans): no exponent, no fraction for a
 * whole number; compared with the shortest digits strtod reads back. */
static void test_double_plain(void **st) {
    (void)st;
    static const struct {
        double d;
        const char *want;
    } cases[] = {{0.0, "0"},
                 {-0.0, "-0"},
                 {50.0, "50"},
                 {12345678865.0, "12345678865"},
                 {0.1, "0.1"},
                 {0.30663777479646737, "0.30663777479646737"},
                 {1.5e-7, "0.00000015"},
                 {-2.5, "-2.5"},
                 {1e21, "1000000000000000000000"},
                 {123456.789, "123456.789"}};
    char out[330];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = fmt_double_plain(out, cases[i].d);
        out[n] = 0;
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("fmt_double_plain(%.17g) = %s, want %s", cases[i].d, out, cases[i].want);
    }
    size_t n = fmt_double_plain(out, 1e308);
    assert_int_equal(n, 309);
    n = fmt_double_plain(out, 4.9e-324);
    out[n] = 0;
    assert_int_equal(n, 2 + 323 + 2 - 1);
    assert_string_equal(out + n - 2, "05");
    n = fmt_double_plain(out, strtod("nan", NULL));
    out[n] = 0;
    assert_string_equal(out, "NaN");
    n = fmt_double_plain(out, -1.0 / 0.0);
    out[n] = 0;
    assert_string_equal(out, "-inf");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_double_text),
        cmocka_unit_test(test_double_roundtrip_shortest),
        cmocka_unit_test(test_double_decimal_fast_path),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_csv_all_types),
        cmocka_unit_test(test_json_all_types),
        cmocka_unit_test(test_table_all_types),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_csv_single_empty_field),
        cmocka_unit_test(test_csv_header_and_batches),
        cmocka_unit_test(test_csv_header_quoting),
        cmocka_unit_test(test_csv_timestamps),
        cmocka_unit_test(test_csv_floats),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_empty_and_batches),
        cmocka_unit_test(test_json_nulls_and_order),
        cmocka_unit_test(test_json_u64_and_extremes),
        cmocka_unit_test(test_interval_and_date),
        cmocka_unit_test(test_table_reference),
        cmocka_unit_test(test_table_batches),
        cmocka_unit_test(test_table_utf8_and_nulls),
        cmocka_unit_test(test_table_multiline_cells),
        cmocka_unit_test(test_table_limit),
        cmocka_unit_test(test_table_many_lines),
        cmocka_unit_test(test_table_timestamps_and_invalid_utf8),
        cmocka_unit_test(test_edge_inputs),
        cmocka_unit_test(test_large_result),
        cmocka_unit_test(test_double_plain),
    };
    return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
