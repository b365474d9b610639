/* Time: clocks, civil dates, timestamp text and humantime durations (see timeutil.h).
 *
 * Everything here is integer arithmetic on int64 with explicit floor division, because C's `/`
 * truncates toward zero and timestamps before 1970 are negative. */
#include "util/timeutil.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NS_PER_SEC 1000000000LL
#define SECS_PER_DAY 86400LL

/* humantime's calendar approximations: a month is 30.44 days, a year 365.25 days. */
#define HT_MONTH_SECS 2630016LL
#define HT_YEAR_SECS 31557600LL

int64_t time_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t time_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Never overflows, unlike computing q * d back. */
void time_floor_divmod(int64_t v, int64_t d, int64_t *q, int64_t *r) {
    int64_t qq = v / d, rr = v % d;
    if (rr < 0) rr += d, qq -= 1;
    *q = qq;
    *r = rr;
}

/* Howard Hinnant's days_from_civil / civil_from_days, with eras of 400 years (146097 days)
 * starting on March 1st so the leap day is the last day of the year. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era, yoe;
    time_floor_divmod(y, 400, &era, &yoe);
    int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9;
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    /* Shift to the 0000-03-01 epoch without computing z + 719468, which could overflow for
     * extreme inputs. */
    int64_t era, doe;
    time_floor_divmod(z, 146097, &era, &doe);
    doe += 719468;
    era += doe / 146097;
    doe %= 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = dd;
}

bool tunit_convert(int64_t v, enum tunit from, enum tunit to, int64_t *out) {
    if ((unsigned)from > TU_S || (unsigned)to > TU_S) return false;
    int64_t pf = tunit_per_sec(from), pt = tunit_per_sec(to);
    if (pf == pt) {
        *out = v;
        return true;
    }
    if (pf < pt) {
        int64_t r;
        if (__builtin_mul_overflow(v, pt / pf, &r)) return false;
        *out = r;
        return true;
    }
    int64_t q, r;
    time_floor_divmod(v, pf / pt, &q, &r);
    *out = q;
    return true;
}

/* ---- arithmetic ---- */

static unsigned month_days(int64_t y, unsigned m);

bool time_from_days(int64_t days, int64_t tod, enum tunit u, int64_t *out) {
    int64_t r;
    if (__builtin_mul_overflow(days, tunit_per_sec(u) * SECS_PER_DAY, &r) ||
        __builtin_add_overflow(r, tod, &r))
        return false;
    *out = r;
    return true;
}

bool time_add_interval(int64_t ts, enum tunit u, interval iv, int sign, int64_t *out) {
    int64_t per_sec = tunit_per_sec(u), per_day = per_sec * SECS_PER_DAY;
    int64_t r = ts;
    if (iv.months) {
        /* Calendar months move the civil date and keep the time of day; the day of the month
         * is clamped to the new month's length (Jan 31 + 1 month = Feb 28/29). Years stay
         * within +-3e11, so the month arithmetic itself cannot overflow. */
        int64_t days, tod, y, ny, nm;
        unsigned m, d;
        time_floor_divmod(ts, per_day, &days, &tod);
        civil_from_days(days, &y, &m, &d);
        time_floor_divmod(y * 12 + (m - 1) + (int64_t)sign * iv.months, 12, &ny, &nm);
        unsigned lim = month_days(ny, (unsigned)nm + 1);
        if (d > lim) d = lim;
        if (!time_from_days(days_from_civil(ny, (unsigned)nm + 1, d), tod, u, &r)) return false;
    }
    /* Days are exact 24-hour days (no time zones); nanoseconds finer than the unit are dropped
     * toward zero. */
    int64_t add;
    if (__builtin_mul_overflow((int64_t)iv.days, per_day, &add) ||
        __builtin_add_overflow(add, iv.nanos / (NS_PER_SEC / per_sec), &add))
        return false;
    return sign < 0 ? !__builtin_sub_overflow(r, add, out) : !__builtin_add_overflow(r, add, out);
}

/* ---- intervals ---- */

/* Interval units as DataFusion 27 spells them, with the amount they stand for. */
enum iv_base { IV_MONTH, IV_DAY, IV_NANO };
static const struct {
    const char *name;
    uint8_t base;
    double mult;
} iv_units[] = {
    {"century", IV_MONTH, 1200},
    {"centuries", IV_MONTH, 1200},
    {"decade", IV_MONTH, 120},
    {"decades", IV_MONTH, 120},
    {"year", IV_MONTH, 12},
    {"years", IV_MONTH, 12},
    {"month", IV_MONTH, 1},
    {"months", IV_MONTH, 1},
    {"mon", IV_MONTH, 1},
    {"mons", IV_MONTH, 1},
    {"week", IV_DAY, 7},
    {"weeks", IV_DAY, 7},
    {"day", IV_DAY, 1},
    {"days", IV_DAY, 1},
    {"hour", IV_NANO, 3600e9},
    {"hours", IV_NANO, 3600e9},
    {"minute", IV_NANO, 60e9},
    {"minutes", IV_NANO, 60e9},
    {"min", IV_NANO, 60e9},
    {"mins", IV_NANO, 60e9},
    {"second", IV_NANO, 1e9},
    {"seconds", IV_NANO, 1e9},
    {"sec", IV_NANO, 1e9},
    {"secs", IV_NANO, 1e9},
    {"millisecond", IV_NANO, 1e6},
    {"milliseconds", IV_NANO, 1e6},
    {"microsecond", IV_NANO, 1e3},
    {"microseconds", IV_NANO, 1e3},
    {"nanosecond", IV_NANO, 1},
    {"nanoseconds", IV_NANO, 1},
};

static int iv_unit(const char *s, size_t n) {
    for (size_t i = 0; i < sizeof iv_units / sizeof iv_units[0]; i++)
        if (strlen(iv_units[i].name) == n && strncasecmp(iv_units[i].name, s, n) == 0)
            return (int)i;
    return -1;
}

bool interval_parse(const char *s, size_t n, const char *default_unit, interval *out, char *msg,
                    size_t msgsz) {
    /* Fractions carry down as DataFusion does: part of a month is 30 days, part of a day is
     * 24 hours; months and days are then whole numbers, nanoseconds rounded. */
    double months = 0, days = 0, nanos = 0;
    uint32_t used = 0;
    size_t i = 0;
    for (;;) {
        while (i < n && isspace((unsigned char)s[i])) i++;
        if (i >= n) break;
        size_t a0 = i;
        while (i < n && !isspace((unsigned char)s[i])) i++;
        size_t alen = i - a0;
        while (i < n && isspace((unsigned char)s[i])) i++;
        const char *u = default_unit;
        size_t ulen = strlen(default_unit);
        if (i < n) {
            u = s + i;
            while (i < n && !isspace((unsigned char)s[i])) i++;
            ulen = (size_t)(s + i - u);
        }
        char num[64];
        char *end = NULL;
        double amt = 0;
        if (alen < sizeof num) {
            memcpy(num, s + a0, alen);
            num[alen] = 0;
            amt = strtod(num, &end);
        }
        int ui = iv_unit(u, ulen);
        if (alen >= sizeof num || end != num + alen || !isfinite(amt) || ui < 0 ||
            (used & (1u << (ui / 2)))) {
            snprintf(msg, msgsz, "Invalid input syntax for type interval: \"%.*s\"",
                     (int)(n > 200 ? 200 : n), s);
            return false;
        }
        used |= 1u << (ui / 2);
        double m = 0, d = 0, ns = 0;
        if (iv_units[ui].base == IV_MONTH)
            m = amt * iv_units[ui].mult;
        else if (iv_units[ui].base == IV_DAY)
            d = amt * iv_units[ui].mult;
        else
            ns = amt * iv_units[ui].mult;
        d += (m - trunc(m)) * 30;
        ns += (d - trunc(d)) * 86400e9;
        months += trunc(m);
        days += trunc(d);
        nanos += ns;
    }
    nanos = round(nanos);
    if (fabs(months) > 2147483647.0 || fabs(days) > 2147483647.0 || fabs(nanos) >= 9.2e18) {
        snprintf(msg, msgsz, "Interval field value out of range: \"%.*s\"",
                 (int)(n > 200 ? 200 : n), s);
        return false;
    }
    out->months = (int32_t)months;
    out->days = (int32_t)days;
    out->nanos = (int64_t)nanos;
    return true;
}

/* ---- timestamp text in ---- */

static bool digits_at(const char *s, size_t n, size_t i, size_t cnt, int64_t *val) {
    if (i + cnt > n) return false;
    int64_t v = 0;
    for (size_t k = 0; k < cnt; k++) {
        unsigned char c = (unsigned char)s[i + k];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *val = v;
    return true;
}

static bool is_leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m) {
    static const unsigned char md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

bool time_parse_ts(const char *s, size_t n, int64_t *ns) {
    int64_t y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
    if (!s || n < 10) return false;
    if (!digits_at(s, n, 0, 4, &y) || s[4] != '-' || !digits_at(s, n, 5, 2, &mo) || s[7] != '-' ||
        !digits_at(s, n, 8, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, (unsigned)mo)) return false;
    size_t i = 10;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
        i++;
        if (!digits_at(s, n, i, 2, &h) || i + 2 >= n || s[i + 2] != ':' ||
            !digits_at(s, n, i + 3, 2, &mi))
            return false;
        i += 5;
        if (h > 23 || mi > 59) return false;
        if (i < n && s[i] == ':') {
            if (!digits_at(s, n, i + 1, 2, &sec) || sec > 59) return false;
            i += 3;
            if (i < n && s[i] == '.') {
                i++;
                size_t nd = 0;
                while (i < n && s[i] >= '0' && s[i] <= '9' && nd < 10) {
                    frac = frac * 10 + (s[i] - '0');
                    i++, nd++;
                }
                if (nd < 1 || nd > 9) return false;
                for (; nd < 9; nd++) frac *= 10;
            }
        }
        if (i < n) {
            if (s[i] == 'Z' || s[i] == 'z') {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1;
                int64_t oh, om = 0;
                if (!digits_at(s, n, i + 1, 2, &oh)) return false;
                i += 3;
                if (i < n && s[i] == ':') {
                    if (!digits_at(s, n, i + 1, 2, &om)) return false;
                    i += 3;
                } else if (i < n) {
                    if (!digits_at(s, n, i, 2, &om)) return false;
                    i += 2;
                }
                if (oh > 23 || om > 59) return false;
                off = sign * (oh * 3600 + om * 60);
            } else {
                return false;
            }
        }
    }
    if (i != n) return false;
    /* local = UTC + offset, so UTC = local - offset. */
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * SECS_PER_DAY + h * 3600 +
                   mi * 60 + sec - off;
    /* Borrow a second when negative so INT64_MIN itself stays reachable. */
    if (secs < 0 && frac > 0) secs += 1, frac -= NS_PER_SEC;
    int64_t r;
    if (__builtin_mul_overflow(secs, NS_PER_SEC, &r) || __builtin_add_overflow(r, frac, &r))
        return false;
    *ns = r;
    return true;
}

/* ---- timestamp text out ---- */

static inline char *put2(char *p, unsigned v) {
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* Year as chrono's %Y writes it: four digits inside 0..9999, otherwise an explicit sign and
 * at least four digits. */
static char *put_year(char *p, int64_t y) {
    if (y >= 0 && y <= 9999) {
        unsigned u = (unsigned)y;
        p = put2(p, u / 100);
        return put2(p, u % 100);
    }
    uint64_t a = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
    *p++ = y < 0 ? '-' : '+';
    char tmp[24];
    int k = 0;
    while (a) tmp[k++] = (char)('0' + a % 10), a /= 10;
    while (k < 4) tmp[k++] = '0';
    while (k) *p++ = tmp[--k];
    return p;
}

/* `HH:MM:SS` and the fraction: 9 digits, or with trim as chrono trims it (none, 3, 6 or 9).
 * *frac_at is where the fraction starts. */
static char *put_time_of_day(char *p, int64_t sod64, uint32_t nanos, bool trim, char **frac_at) {
    unsigned sod = (unsigned)sod64; /* 0..86399: 32-bit divisions are the cheaper ones */
    p = put2(p, sod / 3600);
    *p++ = ':';
    p = put2(p, sod / 60 % 60);
    *p++ = ':';
    p = put2(p, sod % 60);
    *frac_at = p;
    int nd = 9;
    if (trim) {
        if (nanos == 0)
            nd = 0;
        else if (nanos % 1000000 == 0)
            nd = 3;
        else if (nanos % 1000 == 0)
            nd = 6;
    }
    if (nd == 9 && nanos == 0) { /* whole seconds, the usual bucket start: nothing to divide */
        memcpy(p, ".000000000", 10);
        return p + 10;
    }
    if (nd) {
        uint32_t f = nanos;
        f /= nd == 3 ? 1000000u : nd == 6 ? 1000u : 1u;
        *p++ = '.';
        int k = nd;
        for (; k >= 2; k -= 2, f /= 100) put2(p + k - 2, f % 100);
        if (k) p[0] = (char)('0' + f);
        p += nd;
    }
    return p;
}

size_t time_format_time(char *out, int64_t ns) {
    int64_t sod, sub;
    time_floor_divmod(ns, NS_PER_SEC, &sod, &sub);
    char *frac_at;
    return (size_t)(put_time_of_day(out, sod % SECS_PER_DAY, (uint32_t)sub, true, &frac_at) - out);
}

size_t time_format(char *out, int64_t v, enum tunit u, enum ts_style style, bool with_tz) {
    int64_t per = (unsigned)u <= TU_S ? tunit_per_sec(u) : NS_PER_SEC;
    int64_t secs, sub, days, sod;
    time_floor_divmod(v, per, &secs, &sub);
    uint32_t nanos = (uint32_t)(sub * (NS_PER_SEC / per));
    time_floor_divmod(secs, SECS_PER_DAY, &days, &sod);
    /* Built in a scratch buffer first: with second or millisecond units the year can have up
     * to 12 digits, and the caller only promised 40 bytes. */
    char tmp[64], *p = tmp;
    /* A column's timestamps mostly share their day with the one before: the date part is
     * kept per thread. */
    static _Thread_local struct {
        int64_t days;
        size_t len;
        char text[24];
    } day = {INT64_MIN, 0, {0}};
    if (days != day.days) {
        day.len = time_format_date(day.text, days);
        day.text[day.len++] = 'T';
        day.days = days;
    }
    memcpy(p, day.text, day.len);
    p += day.len;
    char *frac_at;
    p = put_time_of_day(p, sod, nanos, style == TSFMT_TRIM, &frac_at);
    char *frac_end = p;
    if (with_tz) {
        if (style == TSFMT_TRIM) {
            *p++ = 'Z';
        } else {
            memcpy(p, "+00:00", 6);
            p += 6;
        }
    }
    size_t len = (size_t)(p - tmp);
    if (len > 40) {
        /* Only years beyond 8 digits get here; the fraction is what gives way. */
        size_t tail = (size_t)(p - frac_end);
        memmove(frac_at, frac_end, tail);
        len -= (size_t)(frac_end - frac_at);
    }
    memcpy(out, tmp, len);
    return len;
}

size_t time_format_date(char *out, int64_t days) {
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    char *p = put_year(out, y);
    *p++ = '-';
    p = put2(p, mo);
    *p++ = '-';
    p = put2(p, d);
    return (size_t)(p - out);
}

/* ---- durations (humantime) ---- */

static bool is_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}
static bool is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Nanoseconds per unit name, 0 when unknown. Case matters: `M` is a month, `m` a minute. */
static int64_t unit_ns(const char *u, size_t n) {
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {
        {"nanos", 1},
        {"nsec", 1},
        {"ns", 1},
        {"usec", 1000},
        {"us", 1000},
        {"micros", 1000},
        {"millis", 1000000},
        {"msec", 1000000},
        {"ms", 1000000},
        {"seconds", NS_PER_SEC},
        {"second", NS_PER_SEC},
        {"secs", NS_PER_SEC},
        {"sec", NS_PER_SEC},
        {"s", NS_PER_SEC},
        {"minutes", 60 * NS_PER_SEC},
        {"minute", 60 * NS_PER_SEC},
        {"min", 60 * NS_PER_SEC},
        {"mins", 60 * NS_PER_SEC},
        {"m", 60 * NS_PER_SEC},
        {"hours", 3600 * NS_PER_SEC},
        {"hour", 3600 * NS_PER_SEC},
        {"hr", 3600 * NS_PER_SEC},
        {"hrs", 3600 * NS_PER_SEC},
        {"h", 3600 * NS_PER_SEC},
        {"days", SECS_PER_DAY * NS_PER_SEC},
        {"day", SECS_PER_DAY * NS_PER_SEC},
        {"d", SECS_PER_DAY * NS_PER_SEC},
        {"weeks", 7 * SECS_PER_DAY * NS_PER_SEC},
        {"week", 7 * SECS_PER_DAY * NS_PER_SEC},
        {"w", 7 * SECS_PER_DAY * NS_PER_SEC},
        {"months", HT_MONTH_SECS * NS_PER_SEC},
        {"month", HT_MONTH_SECS * NS_PER_SEC},
        {"M", HT_MONTH_SECS * NS_PER_SEC},
        {"years", HT_YEAR_SECS * NS_PER_SEC},
        {"year", HT_YEAR_SECS * NS_PER_SEC},
        {"y", HT_YEAR_SECS * NS_PER_SEC},
    };
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strlen(units[k].name) == n && memcmp(units[k].name, u, n) == 0) return units[k].ns;
    return 0;
}

/* Grammar as humantime has it: parts of digits then letters; whitespace may sit before a
 * number, inside a number, between a number and its unit, and after a unit. A part without a
 * unit, an unknown unit or any other character is an error. */
/* sat: a product or sum past INT64_MAX saturates (a number that does not fit still fails). */
static bool duration_scan(const char *s, size_t n, int64_t bare_unit_ns, bool sat, int64_t *ns) {
    if (!s) return false;
    size_t i = 0;
    if (bare_unit_ns > 0 && n > 0) {
        bool all_digits = true;
        for (size_t k = 0; k < n && all_digits; k++) all_digits = s[k] >= '0' && s[k] <= '9';
        if (all_digits) {
            int64_t v = 0;
            for (size_t k = 0; k < n; k++)
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[k] - '0', &v))
                    return false;
            int64_t r;
            if (__builtin_mul_overflow(v, bare_unit_ns, &r)) {
                if (!sat) return false;
                r = INT64_MAX;
            }
            *ns = r;
            return true;
        }
    }
    int64_t total = 0;
    bool any = false;
    for (;;) {
        while (i < n && is_space((unsigned char)s[i])) i++;
        if (i == n) break;
        if (s[i] < '0' || s[i] > '9') return false;
        int64_t v = 0;
        while (i < n) {
            unsigned char c = (unsigned char)s[i];
            if (c >= '0' && c <= '9') {
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, c - '0', &v))
                    return false;
            } else if (!is_space(c)) {
                break;
            }
            i++;
        }
        size_t us = i;
        while (i < n && is_alpha((unsigned char)s[i])) i++;
        if (i == us) return false; /* a number without unit, or a stray character */
        if (i < n && !is_space((unsigned char)s[i]) && (s[i] < '0' || s[i] > '9')) return false;
        int64_t per = unit_ns(s + us, i - us), part;
        if (!per) return false;
        if (__builtin_mul_overflow(v, per, &part) || __builtin_add_overflow(total, part, &total)) {
            if (!sat) return false;
            total = INT64_MAX;
        }
        any = true;
    }
    if (!any) return false;
    *ns = total;
    return true;
}

bool duration_parse(const char *s, size_t n, int64_t bare_unit_ns, int64_t *ns) {
    return duration_scan(s, n, bare_unit_ns, false, ns);
}

bool duration_parse_sat(const char *s, size_t n, int64_t bare_unit_ns, int64_t *ns) {
    return duration_scan(s, n, bare_unit_ns, true, ns);
}

static char *put_u64(char *p, uint64_t v) {
    char tmp[24];
    int k = 0;
    do tmp[k++] = (char)('0' + v % 10), v /= 10;
    while (v);
    while (k) *p++ = tmp[--k];
    return p;
}

static char *put_part(char *p, bool *started, uint64_t v, const char *name, bool plural) {
    if (!v) return p;
    if (*started) *p++ = ' ';
    p = put_u64(p, v);
    size_t l = strlen(name);
    memcpy(p, name, l);
    p += l;
    if (plural && v > 1) *p++ = 's';
    *started = true;
    return p;
}

size_t duration_format(char *out, int64_t ns) {
    char *p = out;
    if (ns == 0) {
        memcpy(out, "0s", 2);
        return 2;
    }
    uint64_t a = (uint64_t)ns;
    if (ns < 0) {
        /* humantime has no negative durations; a sign keeps the text readable and parseable
         * by a caller that strips it. */
        *p++ = '-';
        a = (uint64_t)0 - a;
    }
    uint64_t secs = a / NS_PER_SEC, nanos = a % NS_PER_SEC;
    uint64_t years = secs / HT_YEAR_SECS, ydays = secs % HT_YEAR_SECS;
    uint64_t months = ydays / HT_MONTH_SECS, mdays = ydays % HT_MONTH_SECS;
    uint64_t days = mdays / SECS_PER_DAY, day_secs = mdays % SECS_PER_DAY;
    bool started = false;
    p = put_part(p, &started, years, "year", true);
    p = put_part(p, &started, months, "month", true);
    p = put_part(p, &started, days, "day", true);
    p = put_part(p, &started, day_secs / 3600, "h", false);
    p = put_part(p, &started, day_secs % 3600 / 60, "m", false);
    p = put_part(p, &started, day_secs % 60, "s", false);
    p = put_part(p, &started, nanos / 1000000, "ms", false);
    p = put_part(p, &started, nanos / 1000 % 1000, "us", false);
    p = put_part(p, &started, nanos % 1000, "ns", false);
    return (size_t)(p - out);
}

bool interval_from_ns(__int128 ns, interval *out) {
    const __int128 day = (__int128)86400 * 1000000000;
    __int128 days = ns / day;
    if (days > INT32_MAX || days < INT32_MIN) return false;
    *out = (interval){0, (int32_t)days, (int64_t)(ns % day)};
    return true;
}
