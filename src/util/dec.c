/* Decimal128 codes, conversions and type rules: see dec.h. */
#include "util/dec.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef struct dec_type {
    uint8_t p, s;
    char arrow[40]; /* Decimal128(38, 10) */
    char sql[40];   /* DECIMAL(38,10) */
} dec_type;

static dec_type dec_types[256] = {{38, 10, "Decimal128(38, 10)", "DECIMAL(38,10)"}};
static _Atomic int dec_ntypes = 1;
static pthread_mutex_t dec_mu = PTHREAD_MUTEX_INITIALIZER;

static int dec_find(int n, int p, int s) {
    for (int i = 0; i < n; i++)
        if (dec_types[i].p == p && dec_types[i].s == s) return i;
    return -1;
}

int dec_code(int p, int s) {
    if (p < 1 || p > DEC_MAX_PREC || s < 0 || s > p) return -1;
    int c = dec_find(atomic_load_explicit(&dec_ntypes, memory_order_acquire), p, s);
    if (c >= 0) return c;
    pthread_mutex_lock(&dec_mu);
    int n = atomic_load_explicit(&dec_ntypes, memory_order_relaxed);
    c = dec_find(n, p, s);
    if (c < 0 && n < 256) {
        dec_type *t = &dec_types[n];
        t->p = (uint8_t)p;
        t->s = (uint8_t)s;
        snprintf(t->arrow, sizeof t->arrow, "Decimal128(%d, %d)", p, s);
        snprintf(t->sql, sizeof t->sql, "DECIMAL(%d,%d)", p, s);
        /* the entry is complete before the count that makes it visible */
        atomic_store_explicit(&dec_ntypes, n + 1, memory_order_release);
        c = n;
    }
    pthread_mutex_unlock(&dec_mu);
    return c;
}

int dec_prec(uint8_t code) {
    return dec_types[code].p ? dec_types[code].p : DEC_MAX_PREC;
}
int dec_scale(uint8_t code) {
    return dec_types[code].p ? dec_types[code].s : 10;
}
const char *dec_arrow_name(uint8_t code) {
    return dec_types[code].p ? dec_types[code].arrow : dec_types[0].arrow;
}
const char *dec_sql_name(uint8_t code) {
    return dec_types[code].p ? dec_types[code].sql : dec_types[0].sql;
}

i128 dec_pow10(int n) {
    i128 r = 1;
    for (int i = 0; i < n; i++) r *= 10;
    return r;
}

bool dec_fits(i128 v, int p) {
    i128 m = dec_pow10(p);
    return v < m && v > -m;
}

bool dec_rescale(i128 v, int from, int to, i128 *out) {
    if (to >= from) return !__builtin_mul_overflow(v, dec_pow10(to - from), out);
    i128 d = dec_pow10(from - to);
    i128 q = v / d, r = v % d;
    if (r < 0) r = -r;
    if (r * 2 >= d) q += v < 0 ? -1 : 1;
    *out = q;
    return true;
}

bool dec_parse(const char *p, size_t n, int s, bool truncate, i128 *out) {
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
    while (n > i && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    bool neg = false;
    if (i < n && (p[i] == '+' || p[i] == '-')) neg = p[i++] == '-';
    /* digits kept as a 38-digit integer m with e = the power of ten it is scaled by */
    i128 m = 0;
    int digits = 0, e = 0;
    bool any = false, dot = false;
    for (; i < n; i++) {
        char c = p[i];
        if (c == '.' && !dot) {
            dot = true;
            continue;
        }
        if (c < '0' || c > '9') break;
        any = true;
        if (digits < DEC_MAX_PREC) {
            if (m || c != '0') digits++;
            m = m * 10 + (c - '0');
            if (dot) e--;
        } else if (!dot) {
            return false; /* more than 38 integer digits */
        } else if (digits == DEC_MAX_PREC && c >= '5') {
            /* the first dropped fractional digit rounds; later ones cannot change it */
            m += 1;
            digits++;
        }
    }
    if (!any) return false;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (p[i] == '+' || p[i] == '-')) eneg = p[i++] == '-';
        int x = 0;
        bool ed = false;
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
            ed = true;
            if (x < 1000) x = x * 10 + (p[i] - '0');
        }
        if (!ed) return false;
        e += eneg ? -x : x;
    }
    if (i != n) return false;
    /* m * 10^e at scale s = m * 10^(e + s) */
    int shift = e + s;
    i128 v;
    if (shift >= 0) {
        if (shift > DEC_MAX_PREC || !dec_rescale(m, 0, shift, &v)) return false;
    } else if (-shift > DEC_MAX_PREC) {
        v = 0;
    } else if (truncate) {
        v = m / dec_pow10(-shift);
    } else {
        dec_rescale(m, -shift, 0, &v);
    }
    if (!dec_fits(v, DEC_MAX_PREC)) return false;
    *out = neg ? -v : v;
    return true;
}

bool dec_from_f64(double f, int s, i128 *out) {
    if (!isfinite(f)) return false;
    /* arrow's cast: (v * 10^s).round() in doubles, so 2.345 at scale 2 is 2.34 as in
     * DataFusion; 1e38 is past every Decimal128 */
    double x = round(f * pow(10.0, s));
    if (fabs(x) >= 1e38) return false;
    *out = (i128)x;
    return true;
}

double dec_to_f64(i128 v, int s) {
    return (double)v / (double)dec_pow10(s);
}

size_t dec_format(i128 v, int s, char out[DEC_TEXT_MAX]) {
    char digits[48];
    int nd = 0;
    unsigned __int128 u =
        v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[nd++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (nd <= s) digits[nd++] = '0'; /* at least one integer digit */
    size_t k = 0;
    if (v < 0) out[k++] = '-';
    for (int i = nd - 1; i >= 0; i--) {
        out[k++] = digits[i];
        if (i == s && s > 0) out[k++] = '.';
    }
    out[k] = 0;
    return k;
}

static int dec_clamped(int p, int s) {
    if (s > DEC_MAX_PREC) s = DEC_MAX_PREC;
    if (p > DEC_MAX_PREC) p = DEC_MAX_PREC;
    if (s > p) p = s; /* not reachable from valid inputs; keeps the pair a type */
    return dec_code(p, s);
}

int dec_result_code(char op, uint8_t a, uint8_t b) {
    int p1 = dec_prec(a), s1 = dec_scale(a), p2 = dec_prec(b), s2 = dec_scale(b);
    int s, p;
    switch (op) {
    case '+':
    case '-':
        s = s1 > s2 ? s1 : s2;
        p = s + (p1 - s1 > p2 - s2 ? p1 - s1 : p2 - s2) + 1;
        break;
    case '*':
        s = s1 + s2;
        p = p1 + p2 + 1;
        break;
    case '/':
        s = s1 + p2 + 1 > 6 ? s1 + p2 + 1 : 6;
        p = p1 - s1 + s2 + s;
        break;
    default: /* '%' */
        s = s1 > s2 ? s1 : s2;
        p = s + (p1 - s1 < p2 - s2 ? p1 - s1 : p2 - s2);
        break;
    }
    return dec_clamped(p, s);
}

int dec_wider_code(uint8_t a, uint8_t b) {
    int p1 = dec_prec(a), s1 = dec_scale(a), p2 = dec_prec(b), s2 = dec_scale(b);
    int s = s1 > s2 ? s1 : s2;
    int range = p1 - s1 > p2 - s2 ? p1 - s1 : p2 - s2;
    return dec_clamped(s + range, s);
}

int dec_code_of_num(uint8_t vt, uint8_t unit) {
    if (vt == VT_DEC128) return unit;
    if (vt == VT_F64) return unit == NU_32 ? dec_code(14, 7) : dec_code(30, 15);
    return vt == VT_I64 && unit == NU_32 ? dec_code(10, 0) : dec_code(20, 0);
}
