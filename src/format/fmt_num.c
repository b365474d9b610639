/* Number text: shortest round-trip double digits and the two float styles CnosDB's encoders
 * use (see fmt_num.h).
 *
 * Digit generation works in three tiers, cheapest first:
 *   1. integers below 2^53 are their own digits;
 *   2. a value with few significant digits is found as c / 10^k (or c * 10^k for big
 *      integers) with c < 2^53 and k <= 22: in that range the division (product) of two
 *      exact doubles is correctly rounded, so comparing it with the value is an exact
 *      round-trip test (Clinger's fast path), no strtod needed;
 *   3. otherwise (16 or 17 digits, subnormals, huge integers) double-conversion's shortest
 *      mode (fmt_dtoa.cc): the fewest digits that read back, the nearest when several do,
 *      which is what the first two tiers find too (checked against the printf-and-strtod
 *      search this tier replaced on six million values of every kind).
 * At a power of two the gap below the value is half the gap above, so the correctly rounded
 * candidate can fail where the next one up reads back; tier 2 tries that one as well. */
#include "format/fmt_num.h"

#include "format/format.h"
#include "format/fmt_dtoa.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO53 9007199254740992.0

static const double P10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const char DIG2[201] = "00010203040506070809101112131415161718192021222324252627282930313233"
                              "34353637383940414243444546474849505152535455565758596061626364656667"
                              "6869707172737475767778798081828384858687888990919293949596979899";

/* Decimal digits of v (1 for 0). */
static unsigned u64_digits(uint64_t v) {
    unsigned n = 1;
    for (; v >= 10000; v /= 10000) n += 4;
    return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* v's n digits (n >= its digit count; leading zeros fill the rest) into out[0..n). Written
 * backwards in place: a copy of a variable length costs more than the digits. */
static void put_digits(char *out, uint64_t v, unsigned n) {
    char *p = out + n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, DIG2 + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, DIG2 + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    while (p > out) *--p = '0';
}

size_t fmt_u64(char *out, uint64_t v) {
    unsigned n = u64_digits(v);
    put_digits(out, v, n);
    return n;
}

size_t fmt_i64(char *out, int64_t v) {
    if (v >= 0) return fmt_u64(out, (uint64_t)v);
    out[0] = '-';
    return 1 + fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

/* Digits of m * 10^e10 without trailing zeros. */
static int from_int(uint64_t m, int e10, char digits[17], int *sci_exp) {
    char tmp[21];
    int n = (int)fmt_u64(tmp, m);
    *sci_exp = e10 + n - 1;
    while (n > 1 && tmp[n - 1] == '0') n--;
    memcpy(digits, tmp, (size_t)n);
    return n;
}

/* Tiers 1 and 2 below 2^53: v (finite, > 0) as c / 10^k with the fewest digits, if there is
 * such a c below 2^53 with k <= 22. */
static bool small_decimal(double v, bool pow2, uint64_t *cp, int *kp) {
    if (v >= 1.0 && v == (double)(uint64_t)v) {
        *cp = (uint64_t)v, *kp = 0;
        return true;
    }
    for (int k = 1; k <= 22; k++) {
        double s = v * P10[k];
        if (s >= TWO53) {
            /* Every decimal of up to 15 digits would have been found by now. */
            break;
        }
        uint64_t c = (uint64_t)(s + 0.5);
        if (c >= 1000000000000000ULL) {
            /* With 16 digits two candidates may both read back, and s itself is rounded:
             * pick the one nearest the exact product, which fma gives without rounding. */
            double diff = (s - (double)c) + fma(v, P10[k], -s);
            if (diff > 0.5)
                c++;
            else if (diff < -0.5)
                c--;
        } else if (fabs(s - (double)c) > s * 0x1p-40 + 0x1p-40) {
            /* A candidate that reads back as v is within a few ulps of s (the product and
             * the quotient are both correctly rounded): c, this far from s, is none, and
             * c + 1, at least half a unit from s, neither. Skips the division. */
            continue;
        }
        if ((double)c / P10[k] == v) {
            *cp = c, *kp = k;
            return true;
        }
        if (pow2 && (double)(c + 1) / P10[k] == v) {
            *cp = c + 1, *kp = k;
            return true;
        }
    }
    return false;
}

static bool is_pow2(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    /* The gap below is smaller only for an exact power of two above the smallest normal. */
    return (bits & ((1ULL << 52) - 1)) == 0 && (bits >> 52) > 1;
}

int fmt_shortest(double d, char digits[17], int *sci_exp) {
    double v = fabs(d);
    bool pow2 = is_pow2(v);
    if (v < TWO53) {
        uint64_t c;
        int k;
        if (small_decimal(v, pow2, &c, &k)) return from_int(c, -k, digits, sci_exp);
    } else if (v < TWO53 * 1e22) {
        /* An integer: look for the coarsest scale 10^j that still reads back. Reading back at
         * j implies reading back at every finer scale, so stop at the first failure. */
        int j = 1;
        while (v / P10[j] >= TWO53) j++;
        uint64_t best = 0;
        int bj = -1;
        for (; j <= 22; j++) {
            uint64_t c = (uint64_t)(v / P10[j] + 0.5);
            if (c >= 1000000000000000ULL) {
                double r = fma(-(double)c, P10[j], v); /* v - c * 10^j, nearly exact */
                if (r > P10[j] / 2)
                    c++;
                else if (r < -P10[j] / 2)
                    c--;
            }
            if ((double)c * P10[j] == v) {
                best = c, bj = j;
            } else if (pow2 && (double)(c + 1) * P10[j] == v) {
                best = c + 1, bj = j;
            } else {
                break;
            }
        }
        /* At j = 22 a coarser scale might still work, which only tier 3 can tell. */
        if (bj >= 0 && j <= 22) return from_int(best, bj, digits, sci_exp);
    }
    /* 16 or 17 digits (or a subnormal, or an integer past 2^53 * 10^22): double-conversion */
    char dig[18];
    int n = fmt_dtoa_shortest(v, dig, sci_exp);
    memcpy(digits, dig, (size_t)n);
    return n;
}

static char *put_exp(char *p, int e) {
    *p++ = 'e';
    if (e < 0) *p++ = '-', e = -e;
    return p + fmt_u64(p, (uint64_t)e);
}

static char *put_zeros(char *p, int n) {
    for (int i = 0; i < n; i++) *p++ = '0';
    return p;
}

/* fmt_double's common case, written straight from c / 10^k: v (in [1e-5, 1e10)) in decimal
 * notation when its shortest digits come from tier 1 or 2 and their exponent is in -5..9 (the
 * text fmt_double would build from those digits). Returns the length, 0 otherwise. */
static size_t put_decimal(char *out, double v) {
    uint64_t c;
    int k;
    if (!small_decimal(v, is_pow2(v), &c, &k)) return 0;
    while (k > 0 && c % 10 == 0) c /= 10, k--;
    int e = (int)u64_digits(c) - 1 - k;
    if (e < -5 || e > 9) return 0;
    if (k == 0) {
        size_t n = fmt_u64(out, c);
        memcpy(out + n, ".0", 2);
        return n + 2;
    }
    uint64_t scale = 1;
    for (int i = 0; i < k; i++) scale *= 10;
    size_t n = fmt_u64(out, c / scale);
    out[n++] = '.';
    put_digits(out + n, c % scale, (unsigned)k);
    return n + (size_t)k;
}

/* NaN, infinities and zero (in the form given), as lexical-core and Rust both write them: their
 * length; else 0, with *p past the sign for the caller to write the rest. */
static char *lexical_layout(char *p, const char *dig, int n, int e);
static char *json_layout(char *p, const char *dig, int n, int e);

static size_t put_special(char *out, double d, const char *zero, char **p) {
    if (isnan(d)) {
        memcpy(out, "NaN", 3);
        return 3;
    }
    *p = out;
    if (signbit(d)) *(*p)++ = '-';
    if (isinf(d)) {
        memcpy(*p, "inf", 3);
        return (size_t)(*p + 3 - out);
    }
    if (d == 0) {
        size_t z = strlen(zero);
        memcpy(*p, zero, z);
        return (size_t)(*p + z - out);
    }
    return 0;
}

/* lexical-core (arrow's CSV and display): decimal notation for decimal exponents -5..9,
 * scientific otherwise, and always a fraction (`1.0`, `1.0e10`). */
size_t fmt_double(char *out, double d) {
    char *p;
    size_t done = put_special(out, d, "0.0", &p);
    if (done) return done;
    if (fabs(d) >= 1e-5 && fabs(d) < 1e10) {
        size_t n = put_decimal(p, fabs(d));
        if (n) return (size_t)(p - out) + n;
    }
    char dig[17];
    int e, n = fmt_shortest(d, dig, &e);
    return (size_t)(lexical_layout(p, dig, n, e) - out);
}

size_t fmt_float(char *out, float f) {
    char *p;
    size_t done = put_special(out, f, "0.0", &p);
    if (done) return done;
    char dig[18];
    int e, n = fmt_dtoa_shortest_single(f, dig, &e);
    return (size_t)(lexical_layout(p, dig, n, e) - out);
}

/* lexical-core's layout of the shortest digits dig[0..n) x 10^e (see fmt_double) at p;
 * returns the end. */
static char *lexical_layout(char *p, const char *dig, int n, int e) {
    if (e < -5 || e > 9) {
        *p++ = dig[0];
        *p++ = '.';
        if (n > 1) {
            memcpy(p, dig + 1, (size_t)n - 1);
            p += n - 1;
        } else {
            *p++ = '0';
        }
        p = put_exp(p, e);
    } else if (e < 0) {
        *p++ = '0';
        *p++ = '.';
        p = put_zeros(p, -e - 1);
        memcpy(p, dig, (size_t)n);
        p += n;
    } else if (n <= e + 1) {
        memcpy(p, dig, (size_t)n);
        p = put_zeros(p + n, e + 1 - n);
        *p++ = '.';
        *p++ = '0';
    } else {
        memcpy(p, dig, (size_t)e + 1);
        p += e + 1;
        *p++ = '.';
        memcpy(p, dig + e + 1, (size_t)(n - e - 1));
        p += n - e - 1;
    }
    return p;
}

/* ryu's pretty format as serde_json uses it; kk is the position of the decimal point
 * relative to the first digit (10^(kk-1) <= |d| < 10^kk). */
/* serde_json's text of d, from a float's shortest digits when single (d holds a float). */
static size_t json_number(char *out, double d, bool single) {
    if (!isfinite(d)) {
        memcpy(out, "null", 4);
        return 4;
    }
    char *p = out;
    if (signbit(d)) *p++ = '-';
    if (d == 0) {
        memcpy(p, "0.0", 3);
        return (size_t)(p + 3 - out);
    }
    char dig[18];
    int e, n = single ? fmt_dtoa_shortest_single((float)d, dig, &e) : fmt_shortest(d, dig, &e);
    return (size_t)(json_layout(p, dig, n, e) - out);
}

size_t fmt_double_json(char *out, double d) {
    return json_number(out, d, false);
}

size_t fmt_float_json(char *out, float f) {
    return json_number(out, f, true);
}

/* ryu's layout of the shortest digits dig[0..n) x 10^e at p; returns the end. */
static char *json_layout(char *p, const char *dig, int n, int e) {
    int kk = e + 1, k = kk - n;
    if (k >= 0 && kk <= 16) {
        memcpy(p, dig, (size_t)n);
        p = put_zeros(p + n, k);
        *p++ = '.';
        *p++ = '0';
    } else if (kk > 0 && kk <= 16) {
        memcpy(p, dig, (size_t)kk);
        p += kk;
        *p++ = '.';
        memcpy(p, dig + kk, (size_t)(n - kk));
        p += n - kk;
    } else if (kk > -5 && kk <= 0) {
        *p++ = '0';
        *p++ = '.';
        p = put_zeros(p, -kk);
        memcpy(p, dig, (size_t)n);
        p += n;
    } else {
        *p++ = dig[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, dig + 1, (size_t)n - 1);
            p += n - 1;
        }
        p = put_exp(p, kk - 1);
    }
    return p;
}

size_t fmt_double_plain(char *out, double d) {
    char *p;
    size_t done = put_special(out, d, "0", &p);
    if (done) return done;
    char dig[17];
    int e, n = fmt_shortest(d, dig, &e);
    int kk = e + 1; /* digits before the point */
    if (kk >= n) {
        memcpy(p, dig, (size_t)n);
        p = put_zeros(p + n, kk - n);
    } else if (kk > 0) {
        memcpy(p, dig, (size_t)kk);
        p += kk;
        *p++ = '.';
        memcpy(p, dig + kk, (size_t)(n - kk));
        p += n - kk;
    } else {
        *p++ = '0';
        *p++ = '.';
        p = put_zeros(p, -kk);
        memcpy(p, dig, (size_t)n);
        p += n;
    }
    return (size_t)(p - out);
}
