/* Unit tests for util/timeutil: civil dates, unit conversion, timestamp text in and out,
 * humantime durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/timeutil.h"

/* ---- helpers ---- */

static void expect_fmt(int64_t v, enum tunit u, enum ts_style st, bool tz, const char *want) {
    char out[64];
    memset(out, 'X', sizeof out);
    size_t n = time_format(out, v, u, st, tz);
    assert_true(n <= 40);
    assert_int_equal(out[n < 40 ? 40 : n], 'X'); /* nothing written past 40 bytes */
    out[n] = 0;
    assert_string_equal(out, want);
}

static bool parse_ts(const char *s, int64_t *ns) {
    return time_parse_ts(s, strlen(s), ns);
}

static void expect_ts(const char *s, int64_t want) {
    int64_t ns = 12345;
    if (!parse_ts(s, &ns)) fail_msg("time_parse_ts rejected \"%s\"", s);
    if (ns != want) fail_msg("\"%s\": got %lld want %lld", s, (long long)ns, (long long)want);
}

static void expect_bad_ts(const char *s) {
    int64_t ns = 777;
    if (parse_ts(s, &ns)) fail_msg("time_parse_ts accepted \"%s\" as %lld", s, (long long)ns);
    assert_int_equal(ns, 777);
}

static void expect_dur(const char *s, int64_t bare, int64_t want) {
    int64_t ns = -1;
    if (!duration_parse(s, strlen(s), bare, &ns)) fail_msg("duration_parse rejected \"%s\"", s);
    if (ns != want) fail_msg("\"%s\": got %lld want %lld", s, (long long)ns, (long long)want);
}

static void expect_bad_dur(const char *s, int64_t bare) {
    int64_t ns = 4242;
    if (duration_parse(s, strlen(s), bare, &ns)) fail_msg("duration_parse accepted \"%s\"", s);
    assert_int_equal(ns, 4242);
}

static void expect_dfmt(int64_t ns, const char *want) {
    char out[128];
    size_t n = duration_format(out, ns);
    assert_true(n < sizeof out);
    out[n] = 0;
    assert_string_equal(out, want);
}

#define SEC 1000000000LL
#define DAY (86400 * SEC)

/* ---- civil dates ---- */

static void test_civil_known(void **st) {
    (void)st;
    assert_int_equal(days_from_civil(1970, 1, 1), 0);
    assert_int_equal(days_from_civil(1969, 12, 31), -1);
    assert_int_equal(days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(days_from_civil(2262, 4, 11), 106751);
    assert_int_equal(days_from_civil(1677, 9, 21), -106752);
    assert_int_equal(days_from_civil(1, 1, 1), -719162);
    assert_int_equal(days_from_civil(9999, 12, 31), 2932896);
    assert_int_equal(days_from_civil(0, 3, 1), -719468);
    int64_t y;
    unsigned m, d;
    civil_from_days(-1, &y, &m, &d);
    assert_true(y == 1969 && m == 12 && d == 31);
    civil_from_days(11016, &y, &m, &d);
    assert_true(y == 2000 && m == 2 && d == 29);
    civil_from_days(-719469, &y, &m, &d);
    assert_true(y == 0 && m == 2 && d == 29); /* year 0 is a leap year */
    civil_from_days(-719529, &y, &m, &d);
    assert_true(y == -1 && m == 12 && d == 31);
    /* The extremes must not overflow or crash. */
    civil_from_days(INT64_MAX, &y, &m, &d);
    assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    civil_from_days(INT64_MIN, &y, &m, &d);
    assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
}

static void test_civil_roundtrip(void **st) {
    (void)st;
    int64_t py;
    unsigned pm, pd;
    civil_from_days(-1000001, &py, &pm, &pd);
    for (int64_t z = -1000000; z <= 3000000; z++) {
        int64_t y;
        unsigned m, d;
        civil_from_days(z, &y, &m, &d);
        if (days_from_civil(y, m, d) != z) fail_msg("day %lld does not round-trip", (long long)z);
        /* Consecutive days: next day of the month, or the 1st of the next month. */
        bool next = (y == py && m == pm && d == pd + 1) ||
                    (d == 1 && ((y == py && m == pm + 1) || (y == py + 1 && m == 1 && pm == 12)));
        if (!next) fail_msg("day %lld is not the day after its predecessor", (long long)z);
        py = y, pm = m, pd = d;
    }
}

/* ---- unit conversion ---- */

static void test_tunit_convert(void **st) {
    (void)st;
    int64_t out;
    assert_true(tunit_convert(5, TU_S, TU_NS, &out));
    assert_int_equal(out, 5 * SEC);
    assert_true(tunit_convert(-5, TU_MS, TU_US, &out));
    assert_int_equal(out, -5000);
    assert_true(tunit_convert(1999, TU_NS, TU_US, &out));
    assert_int_equal(out, 1);
    assert_true(tunit_convert(-1, TU_NS, TU_S, &out)); /* floor, not truncation */
    assert_int_equal(out, -1);
    assert_true(tunit_convert(-1000, TU_NS, TU_US, &out));
    assert_int_equal(out, -1);
    assert_true(tunit_convert(-1001, TU_NS, TU_US, &out));
    assert_int_equal(out, -2);
    assert_true(tunit_convert(INT64_MIN, TU_NS, TU_S, &out));
    assert_int_equal(out, -9223372037LL);
    assert_true(tunit_convert(INT64_MAX, TU_NS, TU_MS, &out));
    assert_int_equal(out, 9223372036854LL);
    assert_true(tunit_convert(42, TU_US, TU_US, &out));
    assert_int_equal(out, 42);
    assert_true(tunit_convert(9223372036LL, TU_S, TU_NS, &out));
    out = 99;
    assert_false(tunit_convert(9223372037LL, TU_S, TU_NS, &out));
    assert_false(tunit_convert(-9223372037LL, TU_S, TU_NS, &out));
    assert_false(tunit_convert(INT64_MAX, TU_MS, TU_US, &out));
    assert_false(tunit_convert(1, (enum tunit)7, TU_NS, &out));
}

/* ---- timestamp text out ---- */

static void test_format_fixed9(void **st) {
    (void)st;
    expect_fmt(0, TU_NS, TSFMT_FIXED9, false, "1970-01-01T00:00:00.000000000");
    expect_fmt(1, TU_NS, TSFMT_FIXED9, false, "1970-01-01T00:00:00.000000001");
    expect_fmt(1690510331, TU_S, TSFMT_FIXED9, false, "2023-07-28T02:12:11.000000000");
    expect_fmt(1690510331123LL, TU_MS, TSFMT_FIXED9, false, "2023-07-28T02:12:11.123000000");
    expect_fmt(1690510331000001LL, TU_US, TSFMT_FIXED9, false, "2023-07-28T02:12:11.000001000");
    expect_fmt(0, TU_S, TSFMT_FIXED9, true, "1970-01-01T00:00:00.000000000+00:00");
    expect_fmt(-1, TU_NS, TSFMT_FIXED9, false, "1969-12-31T23:59:59.999999999");
    expect_fmt(-1, TU_MS, TSFMT_FIXED9, false, "1969-12-31T23:59:59.999000000");
    expect_fmt(-1, TU_S, TSFMT_FIXED9, false, "1969-12-31T23:59:59.000000000");
    expect_fmt(-86400, TU_S, TSFMT_FIXED9, false, "1969-12-31T00:00:00.000000000");
    expect_fmt(-86401, TU_S, TSFMT_FIXED9, false, "1969-12-30T23:59:59.000000000");
    expect_fmt(INT64_MIN, TU_NS, TSFMT_FIXED9, false, "1677-09-21T00:12:43.145224192");
    expect_fmt(INT64_MAX, TU_NS, TSFMT_FIXED9, false, "2262-04-11T23:47:16.854775807");
    expect_fmt(951782400LL * SEC, TU_NS, TSFMT_FIXED9, false, "2000-02-29T00:00:00.000000000");
}

static void test_format_trim(void **st) {
    (void)st;
    expect_fmt(1690510331LL * SEC, TU_NS, TSFMT_TRIM, false, "2023-07-28T02:12:11");
    expect_fmt(1667456411000001LL, TU_US, TSFMT_TRIM, false, "2022-11-03T06:20:11.000001");
    expect_fmt(1690510331123LL, TU_MS, TSFMT_TRIM, false, "2023-07-28T02:12:11.123");
    expect_fmt(1690510331120000000LL, TU_NS, TSFMT_TRIM, false, "2023-07-28T02:12:11.120");
    expect_fmt(1690510331123400000LL, TU_NS, TSFMT_TRIM, false, "2023-07-28T02:12:11.123400");
    expect_fmt(1, TU_NS, TSFMT_TRIM, false, "1970-01-01T00:00:00.000000001");
    expect_fmt(1704067200123LL, TU_MS, TSFMT_TRIM, true, "2024-01-01T00:00:00.123Z");
    expect_fmt(0, TU_S, TSFMT_TRIM, true, "1970-01-01T00:00:00Z");
    expect_fmt(-1, TU_US, TSFMT_TRIM, false, "1969-12-31T23:59:59.999999");
    expect_fmt(-1000, TU_NS, TSFMT_TRIM, false, "1969-12-31T23:59:59.999999");
}

static void test_format_extreme_years(void **st) {
    (void)st;
    /* Year 10000 and year -1 (1 BC) get a sign, as chrono writes them. */
    int64_t y10k = days_from_civil(10000, 1, 1) * 86400;
    expect_fmt(y10k, TU_S, TSFMT_TRIM, false, "+10000-01-01T00:00:00");
    int64_t ym1 = days_from_civil(-1, 12, 31) * 86400;
    expect_fmt(ym1, TU_S, TSFMT_FIXED9, false, "-0001-12-31T00:00:00.000000000");
    expect_fmt(days_from_civil(0, 1, 1) * 86400, TU_S, TSFMT_TRIM, false, "0000-01-01T00:00:00");
    expect_fmt(INT64_MAX, TU_S, TSFMT_TRIM, false, "+292277026596-12-04T15:30:07");
    expect_fmt(INT64_MIN, TU_S, TSFMT_TRIM, true, "-292277022657-01-27T08:29:52Z");
    /* Too long for 40 bytes with the fraction: the fraction gives way, the zone stays. */
    expect_fmt(INT64_MAX, TU_S, TSFMT_FIXED9, true, "+292277026596-12-04T15:30:07+00:00");
    expect_fmt(INT64_MAX, TU_MS, TSFMT_FIXED9, false, "+292278994-08-17T07:12:55.807000000");
    expect_fmt(INT64_MAX, TU_MS, TSFMT_FIXED9, true, "+292278994-08-17T07:12:55+00:00");
    expect_fmt(INT64_MIN, TU_MS, TSFMT_TRIM, true, "-292275055-05-16T16:47:04.192Z");
    char out[64];
    size_t n = time_format_date(out, 0);
    out[n] = 0;
    assert_string_equal(out, "1970-01-01");
    n = time_format_date(out, -719529);
    out[n] = 0;
    assert_string_equal(out, "-0001-12-31");
    n = time_format_date(out, 19000);
    out[n] = 0;
    assert_string_equal(out, "2022-01-08");
    /* Time64(Nanosecond): chrono's NaiveTime trims the fraction to 0, 3, 6 or 9 digits */
    static const struct {
        int64_t ns;
        const char *text;
    } times[] = {
        {0, "00:00:00"},
        {1, "00:00:00.000000001"},
        {13 * 3600000000000LL + 5 * 60000000000LL + 7000000000LL + 120000000, "13:05:07.120"},
        {86399999999000LL, "23:59:59.999999"}};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        n = time_format_time(out, times[i].ns);
        out[n] = 0;
        assert_string_equal(out, times[i].text);
    }
}

/* ---- timestamp text in ---- */

static void test_parse_ts_valid(void **st) {
    (void)st;
    const int64_t t = 1690510331LL * SEC; /* 2023-07-28T02:12:11Z */
    expect_ts("2023-07-28T02:12:11", t);
    expect_ts("2023-07-28t02:12:11", t);
    expect_ts("2023-07-28 02:12:11", t);
    expect_ts("2023-07-28T02:12:11Z", t);
    expect_ts("2023-07-28T02:12:11z", t);
    expect_ts("2023-07-28T02:12:11+00:00", t);
    expect_ts("2023-07-28T10:12:11+08:00", t);
    expect_ts("2023-07-28T10:12:11+0800", t);
    expect_ts("2023-07-28T10:12:11+08", t);
    expect_ts("2023-07-27T21:42:11-04:30", t);
    expect_ts("2023-07-28T02:12", t - 11 * SEC);
    expect_ts("2023-07-28T02:12Z", t - 11 * SEC);
    expect_ts("2023-07-28", t - (2 * 3600 + 12 * 60 + 11) * SEC);
    expect_ts("2023-07-28T02:12:11.1", t + 100000000);
    expect_ts("2023-07-28T02:12:11.123", t + 123000000);
    expect_ts("2023-07-28T02:12:11.000001", t + 1000);
    expect_ts("2023-07-28T02:12:11.123456789", t + 123456789);
    expect_ts("2023-07-28T02:12:11.123456789+01:00", t + 123456789 - 3600 * SEC);
    expect_ts("1970-01-01T00:00:00", 0);
    expect_ts("1969-12-31T23:59:59.999999999", -1);
    expect_ts("2000-02-29", 951782400LL * SEC);
    expect_ts("1677-09-21T00:12:43.145224192", INT64_MIN);
    expect_ts("2262-04-11T23:47:16.854775807", INT64_MAX);
}

static void test_parse_ts_invalid(void **st) {
    (void)st;
    const char *bad[] = {
        "",
        "2023",
        "2023-07",
        "2023-7-28",
        "23-07-28",
        "2023/07/28",
        "2023-13-01",
        "2023-00-10",
        "2023-02-29", /* not a leap year */
        "1900-02-29",
        "2023-04-31",
        "2023-07-00",
        "2023-07-28T",
        "2023-07-28T02",
        "2023-07-28T2:12:11",
        "2023-07-28T24:00:00",
        "2023-07-28T02:60:00",
        "2023-07-28T02:12:60",
        "2023-07-28T02:12:11.",
        "2023-07-28T02:12:11.1234567890",
        "2023-07-28T02:12:11x",
        "2023-07-28T02:12:11 ",
        " 2023-07-28T02:12:11",
        "2023-07-28T02:12:11+",
        "2023-07-28T02:12:11+8",
        "2023-07-28T02:12:11+08:",
        "2023-07-28T02:12:11+08:0",
        "2023-07-28T02:12:11+24:00",
        "2023-07-28T02:12:11+08:60",
        "2023-07-28T02:12:11ZZ",
        "2023-07-28Z",
        "2023-07-28X02:12:11",
        "2262-04-11T23:47:16.854775808", /* one past INT64_MAX */
        "1677-09-21T00:12:43.145224191",
        "9999-12-31T23:59:59",
        "0000-01-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_bad_ts(bad[i]);
    int64_t ns;
    assert_false(time_parse_ts(NULL, 0, &ns));
    /* Length is honoured: a valid prefix of a longer buffer, and no reading past n. */
    assert_true(time_parse_ts("1970-01-02garbage", 10, &ns));
    assert_int_equal(ns, DAY);
    assert_false(time_parse_ts("2023-07-28T02:12:11", 12, &ns));
}

/* ---- durations ---- */

static void test_duration_parse(void **st) {
    (void)st;
    expect_dur("10d", 0, 10 * DAY);
    expect_dur("1h 30m", 0, 5400 * SEC);
    expect_dur("1h30m", 0, 5400 * SEC);
    expect_dur("500ms", 0, 500000000);
    expect_dur("2y1M", 0, (2 * 31557600LL + 2630016LL) * SEC);
    expect_dur("1M", 0, 2630016LL * SEC);
    expect_dur("1m", 0, 60 * SEC);
    expect_dur("1y", 0, 31557600LL * SEC);
    expect_dur("3w", 0, 21 * DAY);
    expect_dur("17nsec", 0, 17);
    expect_dur("17nanos", 0, 17);
    expect_dur("3usec", 0, 3000);
    expect_dur("78us", 0, 78000);
    expect_dur("7micros", 0, 7000);
    expect_dur("31millis", 0, 31000000);
    expect_dur("31msec", 0, 31000000);
    expect_dur("300secs", 0, 300 * SEC);
    expect_dur("1second", 0, SEC);
    expect_dur("50seconds", 0, 50 * SEC);
    expect_dur("12mins", 0, 720 * SEC);
    expect_dur("1minute", 0, 60 * SEC);
    expect_dur("7hrs", 0, 7 * 3600 * SEC);
    expect_dur("24hours", 0, DAY);
    expect_dur("1day", 0, DAY);
    expect_dur("1week", 0, 7 * DAY);
    expect_dur("3months", 0, 3 * 2630016LL * SEC);
    expect_dur("7years", 0, 7 * 31557600LL * SEC);
    expect_dur("20 min 17 nsec ", 0, 1200 * SEC + 17);
    expect_dur("  2h 15m", 0, 8100 * SEC);
    expect_dur("1 0s", 0, 10 * SEC); /* humantime skips spaces inside a number */
    expect_dur("0s", 0, 0);
    expect_dur("60", SEC, 60 * SEC);
    expect_dur("0", 86400 * SEC, 0);
    expect_dur("9223372036854775807ns", 0, INT64_MAX);
}

static void test_duration_parse_invalid(void **st) {
    (void)st;
    const char *bad[] = {
        "",
        "   ",
        "10",
        "10 months 1",
        "10nights",
        "inf",
        "d",
        "-1d",
        "1.5h",
        "1h,2m",
        "1h 2m x",
        "1H",
        "1D",
        "1 d d",
        "ms5",
        "5 m s",
        "1µs",
        "+5s",
        "10000000000000000000ns",
        "9223372036854775808ns",
        "300y", /* > INT64_MAX ns */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_bad_dur(bad[i], 0);
    expect_bad_dur("60", 0);                    /* bare number refused */
    expect_bad_dur("9223372036854775807", SEC); /* overflow after scaling */
    expect_bad_dur(" 60", SEC);                 /* a bare number is digits only */
    int64_t ns;
    assert_false(duration_parse(NULL, 0, 0, &ns));
    assert_true(duration_parse("5sXYZ", 2, 0, &ns)); /* length honoured */
    assert_int_equal(ns, 5 * SEC);
}

static void test_duration_format(void **st) {
    (void)st;
    expect_dfmt(0, "0s");
    expect_dfmt(SEC, "1s");
    expect_dfmt(9420 * SEC, "2h 37m");
    expect_dfmt(32000000, "32ms");
    expect_dfmt(31557600LL * SEC, "1year");
    expect_dfmt((2 * 31557600LL + 2630016LL) * SEC, "2years 1month");
    expect_dfmt(10 * DAY, "10days");
    expect_dfmt(DAY, "1day");
    expect_dfmt(2 * 2630016LL * SEC + DAY + 3600 * SEC + 1, "2months 1day 1h 1ns");
    expect_dfmt(1001001, "1ms 1us 1ns");
    expect_dfmt(365 * DAY, "11months 30days 3h 50m 24s"); /* humantime's 30.44-day month */
    expect_dfmt(-90 * SEC, "-1m 30s");
    expect_dfmt(INT64_MAX, "292years 3months 7days 16h 6m 28s 854ms 775us 807ns");
    char out[128];
    size_t n = duration_format(out, INT64_MIN);
    assert_true(n > 1 && n < sizeof out && out[0] == '-');
}

static void test_duration_roundtrip(void **st) {
    (void)st;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t v = (int64_t)(x >> (1 + i % 40)); /* all magnitudes */
        char out[128];
        size_t n = duration_format(out, v);
        int64_t back = -1;
        if (!duration_parse(out, n, 0, &back) || back != v)
            fail_msg("%lld formatted as %.*s, read back %lld", (long long)v, (int)n, out,
                     (long long)back);
    }
    for (int64_t s = 0; s < 86400; s += 7) {
        char out[128];
        size_t n = duration_format(out, s * SEC);
        int64_t back;
        assert_true(duration_parse(out, n, 0, &back));
        assert_int_equal(back, s * SEC);
    }
}

/* ---- checked arithmetic ---- */

static int64_t ts_of(const char *s) {
    int64_t ns = 0;
    assert_true(parse_ts(s, &ns));
    return ns;
}

static void expect_add(const char *from, interval iv, int sign, const char *want) {
    int64_t r = 0;
    assert_true(time_add_interval(ts_of(from), TU_NS, iv, sign, &r));
    assert_int_equal(r, ts_of(want));
}

static void test_add_interval(void **st) {
    (void)st;
    expect_add("2022-01-31T10:00:00", (interval){1, 0, 0}, 1, "2022-02-28T10:00:00");
    expect_add("2024-01-31T10:00:00", (interval){1, 0, 0}, 1, "2024-02-29T10:00:00");
    expect_add("2022-03-31T00:00:00", (interval){1, 0, 0}, -1, "2022-02-28T00:00:00");
    expect_add("1969-12-31T23:59:59", (interval){13, 1, 1000000000}, 1, "1971-02-02T00:00:00");
    expect_add("1970-01-01T00:00:00", (interval){-12, 0, 0}, -1, "1971-01-01T00:00:00");
    /* issue 6: 1970 + 300 years wrapped around to 1685 */
    int64_t r = 42;
    assert_false(time_add_interval(0, TU_NS, (interval){3600, 0, 0}, 1, &r));
    assert_int_equal(r, 42);
    assert_true(time_add_interval(0, TU_NS, (interval){3504, 0, 0}, 1, &r)); /* 2262-01-01 */
    assert_false(time_add_interval(INT64_MIN, TU_NS, (interval){1, 0, 0}, -1, &r));
    assert_false(time_add_interval(INT64_MAX, TU_NS, (interval){0, 0, 1}, 1, &r));
    assert_false(time_add_interval(INT64_MIN, TU_NS, (interval){0, 0, 1}, -1, &r));
    assert_false(time_add_interval(0, TU_NS, (interval){0, INT32_MAX, 0}, 1, &r));
    assert_false(time_add_interval(0, TU_NS, (interval){0, 0, INT64_MIN}, -1, &r));
    assert_true(time_add_interval(0, TU_S, (interval){0, INT32_MAX, 0}, 1, &r));
    assert_int_equal(r, (int64_t)INT32_MAX * 86400);
    assert_true(time_add_interval(INT64_MIN, TU_S, (interval){INT32_MAX, 0, 0}, 1, &r));
    assert_false(time_add_interval(INT64_MAX, TU_S, (interval){1, 0, 0}, 1, &r));
    /* finer than the unit: dropped toward zero */
    assert_true(time_add_interval(5, TU_S, (interval){0, 0, 1999999999}, 1, &r));
    assert_int_equal(r, 6);
}

static void test_from_days(void **st) {
    (void)st;
    int64_t r = 7;
    assert_true(time_from_days(-1, 5, TU_S, &r));
    assert_int_equal(r, -86395);
    assert_true(time_from_days(106751, 0, TU_NS, &r));
    assert_false(time_from_days(106752, 0, TU_NS, &r));
    assert_false(time_from_days(-106752, -1, TU_NS, &r));
    assert_false(time_from_days(INT64_MAX / 1000, 0, TU_S, &r));
    int64_t q, m;
    time_floor_divmod(INT64_MIN, 86400, &q, &m);
    assert_true(m >= 0 && m < 86400);
    assert_int_equal((__int128)q * 86400 + m, (__int128)INT64_MIN);
    time_floor_divmod(-1, 7, &q, &m);
    assert_int_equal(q, -1);
    assert_int_equal(m, 6);
}

static void expect_iv(const char *s, const char *unit, int32_t months, int32_t days,
                      int64_t nanos) {
    interval iv = {-1, -1, -1};
    char msg[300] = "";
    assert_true(interval_parse(s, strlen(s), unit, &iv, msg, sizeof msg));
    assert_int_equal(iv.months, months);
    assert_int_equal(iv.days, days);
    assert_int_equal(iv.nanos, nanos);
}

static void test_interval_parse(void **st) {
    (void)st;
    expect_iv("1 day 2 hours", "second", 0, 1, 7200 * SEC);
    expect_iv("1.5 week", "second", 0, 10, 43200 * SEC);
    expect_iv("1.5 months", "second", 1, 15, 0);
    expect_iv("3", "second", 0, 0, 3 * SEC);
    expect_iv("3", "day", 0, 3, 0);
    expect_iv("-2 years", "second", -24, 0, 0);
    static const char *const bad[] = {"",
                                      "1 fortnight",
                                      "x day",
                                      "1 day 1 day",
                                      "1e30 days",
                                      "99999999999 months",
                                      "1e11 seconds",
                                      "inf days",
                                      "nan hours",
                                      "1day"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        interval iv;
        char msg[300] = "";
        bool ok = interval_parse(bad[i], strlen(bad[i]), "second", &iv, msg, sizeof msg);
        if (!bad[i][0]) {
            /* the empty text is a zero interval, as in DataFusion */
            assert_true(ok);
            continue;
        }
        if (ok) fail_msg("'%s' parsed", bad[i]);
        assert_true(strstr(msg, "interval") || strstr(msg, "Interval"));
    }
}

/* ---- clocks ---- */

static void test_clocks(void **st) {
    (void)st;
    int64_t now = time_now_ns();
    assert_true(now > 1577836800LL * SEC); /* after 2020 */
    int64_t a = time_mono_ns(), b = time_mono_ns();
    assert_true(a > 0 && b >= a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_known),     cmocka_unit_test(test_civil_roundtrip),
        cmocka_unit_test(test_tunit_convert),   cmocka_unit_test(test_format_fixed9),
        cmocka_unit_test(test_format_trim),     cmocka_unit_test(test_format_extreme_years),
        cmocka_unit_test(test_parse_ts_valid),  cmocka_unit_test(test_parse_ts_invalid),
        cmocka_unit_test(test_duration_parse),  cmocka_unit_test(test_duration_parse_invalid),
        cmocka_unit_test(test_duration_format), cmocka_unit_test(test_duration_roundtrip),
        cmocka_unit_test(test_clocks),          cmocka_unit_test(test_add_interval),
        cmocka_unit_test(test_from_days),       cmocka_unit_test(test_interval_parse),
    };
    return cmocka_run_group_tests_name("timeutil", tests, NULL, NULL);
}
