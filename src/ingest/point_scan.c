/* Number scanning, UTF-8 validation and error-text helpers for the ingestion parsers: see
 * point_scan.h. */
#include "ingest/point_scan.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* Powers of ten that a double holds exactly (5^22 < 2^53). */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
/* 10^0 .. 10^19, all that fit a uint64. */
static const uint64_t pow10_u64[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};

#define MAX_EXACT_MANTISSA (1ull << 53)

/* The second fast path needs the x87 80-bit format (64-bit significand, stored first). */
#if defined(__x86_64__) && LDBL_MANT_DIG == 64
#define EXT_FAST_PATH 1
/* 10^k for k <= 27 is exact with a 64-bit significand (5^27 < 2^64); a product of exact
 * factors, so no table of long double literals is needed. */
static inline long double pow10_ld(int64_t k) {
    return k <= 19 ? (long double)pow10_u64[k] : (long double)pow10_u64[k - 19] * 1e19L;
}
#else
#define EXT_FAST_PATH 0
#endif

static inline bool is_digit(unsigned char c) {
    return (unsigned)(c - '0') < 10u;
}

/* Hands the validated text to strtod. The copy gives strtod a NUL terminator that the body
 * does not have; the grammar was checked already, so strtod reads exactly these bytes. */
static double slow_f64(const char *p, size_t len) {
    char small[128];
    char *b = len < sizeof small ? small : xmalloc(len + 1);
    memcpy(b, p, len);
    b[len] = 0;
    double v = strtod(b, NULL);
    if (b != small) free(b);
    return v;
}

size_t point_scan_f64(const char *p, size_t n, double *out) {
    const unsigned char *s = (const unsigned char *)p, *e = s + n;
    bool neg = false;
    if (s < e && (*s == '+' || *s == '-')) neg = *s++ == '-';

    /* m collects up to 19 significant digits (leading zeros skipped); dexp is the power of ten
     * that applies to m. More digits than that only happen in the slow path. */
    uint64_t m = 0;
    int nd = 0;
    int64_t dexp = 0;
    bool slow = false, any = false;
    while (s < e && is_digit(*s)) {
        unsigned d = *s++ - '0';
        any = true;
        if (nd < 19) {
            m = m * 10 + d;
            if (m) nd++;
        } else {
            slow = true;
        }
    }
    if (s < e && *s == '.') {
        const unsigned char *dot = s++;
        while (s < e && is_digit(*s)) {
            unsigned d = *s++ - '0';
            any = true;
            if (nd < 19) {
                m = m * 10 + d;
                if (m) nd++;
                dexp--;
            } else {
                slow = true;
            }
        }
        /* A lone "." (or "+.") is not a number: give back nothing. */
        if (!any) s = dot;
    }
    if (!any) return 0;

    if (s < e && (*s == 'e' || *s == 'E')) {
        const unsigned char *t = s + 1;
        bool eneg = false;
        if (t < e && (*t == '+' || *t == '-')) eneg = *t++ == '-';
        if (t < e && is_digit(*t)) {
            int64_t x = 0;
            while (t < e && is_digit(*t)) {
                /* Exponents past any double's range only need to stay past it. */
                if (x < 100000) x = x * 10 + (*t - '0');
                t++;
            }
            dexp += eneg ? -x : x;
            s = t;
        }
    }
    size_t len = (size_t)(s - (const unsigned char *)p);

#if FLT_EVAL_METHOD == 0
    /* Clinger's fast path: m and 10^|dexp| are exact doubles, so one correctly rounded IEEE
     * multiply or divide gives the correctly rounded result, the same one strtod computes. */
    if (!slow && m <= MAX_EXACT_MANTISSA) {
        double v;
        if (m == 0) {
            *out = neg ? -0.0 : 0.0;
            return len;
        }
        if (dexp >= 0 && dexp <= 22) {
            v = (double)m * pow10_exact[dexp];
            *out = neg ? -v : v;
            return len;
        }
        if (dexp < 0 && dexp >= -22) {
            v = (double)m / pow10_exact[-dexp];
            *out = neg ? -v : v;
            return len;
        }
        if (dexp > 22 && dexp <= 22 + 15) {
            /* "123e25": move the surplus power into the integer while it stays exact. */
            uint64_t k = pow10_u64[dexp - 22];
            if (m <= MAX_EXACT_MANTISSA / k) {
                v = (double)(m * k) * 1e22;
                *out = neg ? -v : v;
                return len;
            }
        }
    }
#endif
#if EXT_FAST_PATH
    /* Up to 19 digits (beyond what Clinger's path covers, e.g. the 17 digits of a shortest
     * round-trip print): x87 extended precision holds m and 10^|dexp| exactly, so one rounding
     * gives r = RN64(m * 10^dexp). Rounding r to double gives RN53 of the exact value unless r
     * sits exactly on a midpoint between two doubles (its 11 bits below double precision are
     * 0x400): the exact value and r are never on opposite sides of a midpoint, as rounding is
     * monotonic and midpoints are representable. Only that tie case goes to strtod. */
    if (!slow && dexp >= -27 && dexp <= 27 && m) {
        long double r =
            dexp >= 0 ? (long double)m * pow10_ld(dexp) : (long double)m / pow10_ld(-dexp);
        uint64_t sig;
        memcpy(&sig, &r, sizeof sig); /* the explicit 64-bit significand */
        if ((sig & 0x7FF) != 0x400) {
            double v = (double)r;
            *out = neg ? -v : v;
            return len;
        }
    }
#endif
    *out = slow_f64(p, len);
    return len;
}

size_t point_scan_u64(const char *p, size_t n, uint64_t *out, bool *overflow) {
    const unsigned char *s = (const unsigned char *)p, *e = s + n;
    uint64_t v = 0;
    bool ov = false;
    while (s < e && is_digit(*s)) {
        unsigned d = *s++ - '0';
        if (v > (UINT64_MAX - d) / 10) ov = true;
        v = v * 10 + d;
    }
    *out = v;
    *overflow = ov;
    return (size_t)(s - (const unsigned char *)p);
}

size_t point_scan_i64(const char *p, size_t n, int64_t *out, bool *overflow) {
    size_t i = 0;
    bool neg = false;
    if (n && (p[0] == '+' || p[0] == '-')) neg = p[i++] == '-';
    uint64_t u;
    bool ov;
    size_t k = point_scan_u64(p + i, n - i, &u, &ov);
    if (k == 0) {
        *out = 0;
        *overflow = false;
        return 0;
    }
    if (neg) {
        if (u > (uint64_t)INT64_MAX + 1) ov = true;
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)(u & (uint64_t)INT64_MAX);
    } else {
        if (u > (uint64_t)INT64_MAX) ov = true;
        *out = (int64_t)(u & (uint64_t)INT64_MAX);
    }
    *overflow = ov;
    return i + k;
}

uint32_t point_line_of(const char *p, size_t off) {
    uint32_t line = 1;
    const char *s = p, *e = p + off;
    while (s < e && (s = memchr(s, '\n', (size_t)(e - s)))) {
        line++;
        s++;
    }
    return line;
}
