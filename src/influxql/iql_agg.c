/* InfluxQL's aggregates and selectors over one bucket's points (see iql_int.h): each takes
 * the non-null (time, value) points of its argument in time order and gives a value and, for
 * selectors, the time of the point it chose. Integers stay integers where InfluxDB keeps them
 * (count, sum, spread, first/last/min/max, mode of integers); the rest are floats. */
#include "influxql/iql_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/timeutil.h"

double iql_num(const value *v) {
    switch (v->type) {
    case VT_I64:
        return (double)v->v.i;
    case VT_U64:
        return (double)v->v.u;
    case VT_F64:
        return v->v.f;
    case VT_BOOL:
        return v->v.b ? 1 : 0;
    default:
        return NAN;
    }
}

static value vnull(void) {
    value v = {.type = VT_NULL, .null = true};
    return v;
}
static value vf(double f) {
    value v = {.type = VT_F64};
    v.v.f = f;
    return v;
}
static value vi(int64_t i) {
    value v = {.type = VT_I64};
    v.v.i = i;
    return v;
}

static bool all_int(const iql_pt *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i].v.type != VT_I64) return false;
    return true;
}

static int cmp_num(const value *a, const value *b) {
    if (a->type == VT_I64 && b->type == VT_I64) return (a->v.i > b->v.i) - (a->v.i < b->v.i);
    if (a->type == VT_STR && b->type == VT_STR) {
        uint32_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
        int c = memcmp(a->v.s.p, b->v.s.p, n);
        return c ? c : (a->v.s.len > b->v.s.len) - (a->v.s.len < b->v.s.len);
    }
    double x = iql_num(a), y = iql_num(b);
    return (x > y) - (x < y);
}

static int cmp_pt_val(const void *a, const void *b) {
    const iql_pt *x = a, *y = b;
    int c = cmp_num(&x->v, &y->v);
    return c ? c : (x->t > y->t) - (x->t < y->t);
}

static int cmp_pt_time(const void *a, const void *b) {
    const iql_pt *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

bool iql_is_selector(const char *fn) {
    static const char *const s[] = {"first",      "last",   "max", "min",
                                    "percentile", "sample", "top", "bottom"};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        if (!strcmp(fn, s[i])) return true;
    return false;
}

bool iql_is_aggregate(const char *fn) {
    static const char *const s[] = {"count", "distinct", "integral", "mean", "median",
                                    "mode",  "spread",   "stddev",   "sum"};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        if (!strcmp(fn, s[i])) return true;
    return iql_is_selector(fn);
}

bool iql_is_multi(const char *fn) {
    return !strcmp(fn, "top") || !strcmp(fn, "bottom") || !strcmp(fn, "sample") ||
           !strcmp(fn, "distinct");
}

/* A numeric argument of a function (a percentile, a count N, a unit). */
static double num_arg(const iql_expr *x) {
    return x->k == IE_INT || x->k == IE_DUR ? (double)x->i : x->f;
}

/* A fresh seed per call: sample() draws differently each time, as InfluxDB's does. */
static uint64_t sample_seed(void) {
    uint64_t x = 0;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x)
        x = (uint64_t)time_now_ns() ^ (uint64_t)(uintptr_t)&x;
    return x ? x : 0x9e3779b97f4a7c15u;
}

int iql_aggregate(const char *fn, const iql_expr *call, iql_pt *p, size_t n, arena *a, iql_pt **out,
                  size_t *nout, err *e) {
    iql_pt r = {.t = IQL_NO_TIME, .v = vnull()};
    *nout = 1;
    *out = arena_alloc(a, sizeof **out);
    if (!strcmp(fn, "count")) {
        r.v = vi((int64_t)n);
    } else if (n == 0) {
        if (iql_is_multi(fn)) *nout = 0;
    } else if (!strcmp(fn, "sum") || !strcmp(fn, "mean")) {
        if (!strcmp(fn, "sum") && all_int(p, n)) {
            uint64_t s = 0; /* wraps as Go's int64 does */
            for (size_t i = 0; i < n; i++) s += (uint64_t)p[i].v.v.i;
            r.v = vi((int64_t)s);
        } else {
            double s = 0;
            for (size_t i = 0; i < n; i++) s += iql_num(&p[i].v);
            r.v = vf(!strcmp(fn, "mean") ? s / (double)n : s);
        }
    } else if (!strcmp(fn, "first") || !strcmp(fn, "last")) {
        r = p[!strcmp(fn, "first") ? 0 : n - 1];
    } else if (!strcmp(fn, "max") || !strcmp(fn, "min")) {
        bool mx = !strcmp(fn, "max");
        size_t best = 0;
        for (size_t i = 1; i < n; i++) {
            int c = cmp_num(&p[i].v, &p[best].v);
            if (mx ? c > 0 : c < 0) best = i;
        }
        r = p[best];
    } else if (!strcmp(fn, "spread")) {
        iql_pt *mx, *mn;
        size_t one;
        iql_aggregate("max", call, p, n, a, &mx, &one, e);
        iql_aggregate("min", call, p, n, a, &mn, &one, e);
        r.v = all_int(p, n) ? vi((int64_t)((uint64_t)mx->v.v.i - (uint64_t)mn->v.v.i))
                            : vf(iql_num(&mx->v) - iql_num(&mn->v));
    } else if (!strcmp(fn, "stddev")) {
        if (n > 1) {
            double m = 0, s = 0;
            for (size_t i = 0; i < n; i++) m += iql_num(&p[i].v);
            m /= (double)n;
            for (size_t i = 0; i < n; i++) s += (iql_num(&p[i].v) - m) * (iql_num(&p[i].v) - m);
            r.v = vf(sqrt(s / (double)(n - 1)));
        }
    } else if (!strcmp(fn, "median") || !strcmp(fn, "mode") || !strcmp(fn, "percentile") ||
               !strcmp(fn, "distinct") || !strcmp(fn, "top") || !strcmp(fn, "bottom")) {
        iql_pt *s = arena_alloc(a, n * sizeof *s);
        memcpy(s, p, n * sizeof *s);
        qsort(s, n, sizeof *s, cmp_pt_val);
        if (!strcmp(fn, "median")) {
            r.v = n % 2 ? vf(iql_num(&s[n / 2].v))
                        : vf((iql_num(&s[n / 2 - 1].v) + iql_num(&s[n / 2].v)) / 2);
        } else if (!strcmp(fn, "mode")) {
            size_t best = 0, bestn = 0;
            for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j < n && !cmp_num(&s[j].v, &s[i].v)) j++;
                if (j - i > bestn) {
                    bestn = j - i;
                    best = i;
                }
                i = j;
            }
            r.v = s[best].v;
        } else if (!strcmp(fn, "percentile")) {
            double pc = num_arg(call->args[1]);
            long i = (long)floor((double)n * pc / 100.0 + 0.5) - 1;
            if (i >= 0 && (size_t)i < n) r = s[i];
        } else if (!strcmp(fn, "distinct")) {
            iql_pt *d = arena_alloc(a, n * sizeof *d);
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (!k || cmp_num(&d[k - 1].v, &s[i].v)) d[k++] = (iql_pt){IQL_NO_TIME, s[i].v};
            *out = d;
            *nout = k;
            return 0;
        } else {
            size_t want = (size_t)num_arg(call->args[call->nargs - 1]);
            if (want > n) want = n;
            iql_pt *d = arena_alloc(a, (want ? want : 1) * sizeof *d);
            bool top = !strcmp(fn, "top");
            /* ties: the earlier point first, for both */
            for (size_t i = 0; i < want; i++) {
                if (top) {
                    size_t j = n - 1 - i;
                    /* among equal values at the top, the earliest time is the last of the run */
                    d[i] = s[j];
                } else {
                    d[i] = s[i];
                }
            }
            qsort(d, want, sizeof *d, cmp_pt_time);
            *out = d;
            *nout = want;
            return 0;
        }
    } else if (!strcmp(fn, "sample")) {
        size_t want = (size_t)num_arg(call->args[1]);
        if (want > n) want = n;
        /* a uniform random sample, as InfluxDB's: reservoir sampling over the points in time
         * order, then shown in time order */
        iql_pt *d = arena_alloc(a, (want ? want : 1) * sizeof *d);
        uint64_t x = sample_seed();
        for (size_t i = 0; i < n; i++) {
            if (i < want) {
                d[i] = p[i];
                continue;
            }
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            size_t j = (size_t)(x % (i + 1));
            if (j < want) d[j] = p[i];
        }
        qsort(d, want, sizeof *d, cmp_pt_time);
        *out = d;
        *nout = want;
        return 0;
    } else if (!strcmp(fn, "integral")) {
        double unit = call->nargs > 1 ? num_arg(call->args[1]) : 1e9, s = 0;
        for (size_t i = 1; i < n; i++)
            s += (iql_num(&p[i].v) + iql_num(&p[i - 1].v)) / 2 * (double)(p[i].t - p[i - 1].t);
        r.v = vf(s / unit);
    } else {
        return iql_fail(e, "undefined function %s()", fn);
    }
    (*out)[0] = r;
    return 0;
}
