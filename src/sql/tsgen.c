/* Time-series generating functions: see tsgen.h. The computations follow CnosDB's (its results
 * are the reference), including where they are particular: medians of the gaps take the
 * middle two of n - 1 gaps by the parity of n, the moving average's window only ever grows. */
#include "sql/tsgen.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { M_MEDIAN = 1, M_MODE, M_CLUSTER };              /* timestamp_repair intervals */
enum { S_MODE = 1, S_LINEAR };                         /* timestamp_repair starts */
enum { F_LINEAR = 1, F_PREVIOUS, F_MEAN, F_AR, F_MA }; /* value_fill */
enum { R_SCREEN = 1, R_LSGREEDY };                     /* value_repair */

/* An alignment of more cells than this is refused (it is points x grid slots bytes). */
#define MAX_DP_CELLS ((uint64_t)64 << 20)

int tsgen_kind(const char *name) {
    if (!strcmp(name, "timestamp_repair")) return TSGEN_TIMESTAMP_REPAIR;
    if (!strcmp(name, "value_fill")) return TSGEN_VALUE_FILL;
    if (!strcmp(name, "value_repair")) return TSGEN_VALUE_REPAIR;
    return 0;
}

static int exec_err(err *e, const char *msg) {
    return err_set(e, 422, EC_QUERY_INTERNAL, "Datafusion: Execution error: %s", msg);
}

/* ------------------------------------------------------------------ arguments */

static const char *const FIELDS[4][6] = {
    {NULL},
    {"method", "interval", "start_mode", NULL},
    {"method", NULL},
    {"method", "min_speed", "max_speed", "center", "sigma", NULL},
};

/* percent-decoding of s[0..n) into out (`+` is a space) */
static size_t url_decode(const char *s, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[k++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                   isxdigit((unsigned char)s[i + 2])) {
            char h[3] = {s[i + 1], s[i + 2], 0};
            out[k++] = (char)strtol(h, NULL, 16);
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = 0;
    return k;
}

static int parse_err(err *e, const char *fmt, const char *a) {
    char msg[300];
    snprintf(msg, sizeof msg, fmt, a);
    char full[360];
    snprintf(full, sizeof full, "Fail to parse argument: %s", msg);
    return exec_err(e, full);
}

static int unknown_field(int kind, const char *key, err *e) {
    char list[200] = "";
    const char *const *f = FIELDS[kind];
    int n = 0;
    while (f[n]) n++;
    if (n == 1) {
        snprintf(list, sizeof list, "expected `%s`", f[0]);
    } else if (n == 2) {
        snprintf(list, sizeof list, "expected `%s` or `%s`", f[0], f[1]);
    } else {
        strcpy(list, "expected one of ");
        for (int i = 0; i < n; i++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s`%s`", i ? ", " : "", f[i]);
        }
    }
    char msg[300];
    snprintf(msg, sizeof msg, "unknown field `%s`, %s", key, list);
    return parse_err(e, "%s", msg);
}

static int parse_i64(const char *v, int64_t *out, err *e) {
    char *end;
    if (!*v) return parse_err(e, "%s", "cannot parse integer from empty string");
    long long x = strtoll(v, &end, 10);
    if (*end) return parse_err(e, "%s", "invalid digit found in string");
    *out = x;
    return 0;
}

static int parse_f64(const char *v, double *out, err *e) {
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end) return parse_err(e, "%s", "invalid float literal");
    *out = x;
    return 0;
}

int tsgen_parse_opts(int kind, const char *s, size_t n, tsgen_opts *o, err *e) {
    memset(o, 0, sizeof *o);
    bool seen[6] = {false};
    char *buf = malloc(n + 1), *val = malloc(n + 1), *key = malloc(n + 1);
    int rc = 0;
    size_t i = 0;
    while (s && i < n && rc == 0) {
        size_t j = i;
        while (j < n && s[j] != '&') j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && s[eq] != '=') eq++;
            url_decode(s + i, eq - i, key);
            url_decode(s + (eq < j ? eq + 1 : j), eq < j ? j - eq - 1 : 0, val);
            int f = -1;
            for (int k = 0; FIELDS[kind][k]; k++)
                if (!strcmp(FIELDS[kind][k], key)) f = k;
            if (f < 0) {
                rc = unknown_field(kind, key, e);
            } else if (seen[f]) {
                rc = parse_err(e, "duplicate field `%s`", key);
            } else {
                seen[f] = true;
                const char *fname = FIELDS[kind][f];
                if (!strcmp(fname, "method")) {
                    int m = 0;
                    if (kind == TSGEN_TIMESTAMP_REPAIR)
                        m = !strcasecmp(val, "median")    ? M_MEDIAN
                            : !strcasecmp(val, "mode")    ? M_MODE
                            : !strcasecmp(val, "cluster") ? M_CLUSTER
                                                          : 0;
                    else if (kind == TSGEN_VALUE_FILL)
                        m = !strcasecmp(val, "linear")     ? F_LINEAR
                            : !strcasecmp(val, "previous") ? F_PREVIOUS
                            : !strcasecmp(val, "mean")     ? F_MEAN
                            : !strcasecmp(val, "ar")       ? F_AR
                            : !strcasecmp(val, "ma")       ? F_MA
                                                           : 0;
                    else
                        m = !strcasecmp(val, "screen")     ? R_SCREEN
                            : !strcasecmp(val, "lsgreedy") ? R_LSGREEDY
                                                           : 0;
                    if (!m) {
                        snprintf(buf, n + 1, "%s", val);
                        char msg[300];
                        snprintf(msg, sizeof msg, "Invalid %smethod: %s",
                                 kind == TSGEN_VALUE_FILL ? "fill " : "", val);
                        rc = exec_err(e, msg);
                    }
                    o->method = m;
                } else if (!strcmp(fname, "interval")) {
                    rc = parse_i64(val, &o->interval_ms, e);
                    if (rc == 0 && o->interval_ms <= 0)
                        rc = exec_err(e, "interval must be positive");
                    else if (rc == 0 && o->interval_ms > INT64_MAX / 1000000)
                        rc = exec_err(e, "interval is too large: at most 292 years");
                } else if (!strcmp(fname, "start_mode")) {
                    o->start_mode = !strcasecmp(val, "mode")     ? S_MODE
                                    : !strcasecmp(val, "linear") ? S_LINEAR
                                                                 : 0;
                    if (!o->start_mode) {
                        char msg[300];
                        snprintf(msg, sizeof msg, "Invalid start_mode: %s", val);
                        rc = exec_err(e, msg);
                    }
                } else if (!strcmp(fname, "min_speed")) {
                    rc = parse_f64(val, &o->min_speed, e);
                    o->has_min_speed = true;
                } else if (!strcmp(fname, "max_speed")) {
                    rc = parse_f64(val, &o->max_speed, e);
                    o->has_max_speed = true;
                } else if (!strcmp(fname, "center")) {
                    rc = parse_f64(val, &o->center, e);
                    o->has_center = true;
                } else if (!strcmp(fname, "sigma")) {
                    rc = parse_f64(val, &o->sigma, e);
                    o->has_sigma = true;
                }
            }
        }
        i = j + 1;
    }
    free(buf);
    free(val);
    free(key);
    if (rc < 0) return -1;
    if (!o->method) o->method = 1; /* median, linear, screen */
    if (!o->start_mode) o->start_mode = S_MODE;
    return 0;
}

/* ------------------------------------------------------------------ helpers */

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int cmp_f64(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

/* The gaps' "median" as CnosDB takes it: by the parity of the number of points n. */
static int64_t gap_median(arena *a, const int64_t *t, uint32_t n) {
    int64_t *g = arena_alloc(a, sizeof *g * n);
    for (uint32_t i = 0; i + 1 < n; i++) g[i] = t[i + 1] - t[i];
    qsort(g, n - 1, sizeof *g, cmp_i64);
    if (n == 2) return g[0];
    if (n % 2 == 0) return (g[n / 2 - 1] + g[n / 2]) / 2;
    return g[n / 2];
}

static double f64_median(arena *a, const double *v, uint32_t n) {
    if (!n) return NAN;
    double *s = arena_alloc(a, sizeof *s * n);
    memcpy(s, v, sizeof *s * n);
    qsort(s, n, sizeof *s, cmp_f64);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double scaled_mad(arena *a, const double *v, uint32_t n) {
    double mid = f64_median(a, v, n);
    double *d = arena_alloc(a, sizeof *d * (n + 1));
    for (uint32_t i = 0; i < n; i++) d[i] = fabs(v[i] - mid);
    return 1.4826 * f64_median(a, d, n);
}

/* NaN values by the line through their non-NaN neighbours (ends extrapolated). */
int tsgen_fill_nan(const int64_t *t, double *v, uint32_t n, err *e) {
    uint32_t i1 = 0, i2;
    while (i1 < n && !isfinite(v[i1])) i1++;
    i2 = i1 + 1;
    while (i2 < n && !isfinite(v[i2])) i2++;
    if (i2 >= n) return exec_err(e, "At least two non-NaN values are needed");
#define LINE(i) (v[i1] + (v[i2] - v[i1]) * ((double)(t[i] - t[i1]) / (double)(t[i2] - t[i1])))
    for (uint32_t i = 0; i < i2; i++) v[i] = LINE(i);
    for (uint32_t i = i2 + 1; i < n; i++) {
        if (!isfinite(v[i])) continue;
        i1 = i2;
        i2 = i;
        for (uint32_t j = i1 + 1; j < i2; j++) v[j] = LINE(j);
    }
    for (uint32_t i = i2 + 1; i < n; i++) v[i] = LINE(i);
#undef LINE
    return 0;
}

/* ------------------------------------------------------------------ timestamp_repair */

static int64_t gap_mode(arena *a, const int64_t *t, uint32_t n) {
    int64_t *g = arena_alloc(a, sizeof *g * n);
    for (uint32_t i = 0; i + 1 < n; i++) g[i] = t[i + 1] - t[i];
    qsort(g, n - 1, sizeof *g, cmp_i64);
    int64_t best = g[0];
    uint32_t bestc = 0;
    for (uint32_t i = 0; i + 1 < n;) {
        uint32_t j = i;
        while (j + 1 < n && g[j] == g[i]) j++;
        if (j - i > bestc) { /* ties: the smallest gap */
            bestc = j - i;
            best = g[i];
        }
        i = j;
    }
    return best;
}

/* The mean of the largest of three k-means clusters of the gaps (integer means, as CnosDB). */
static int64_t gap_cluster(arena *a, const int64_t *t, uint32_t n) {
    uint32_t m = n - 1;
    int64_t *g = arena_alloc(a, sizeof *g * m);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t i = 0; i < m; i++) {
        g[i] = t[i + 1] - t[i];
        if (g[i] < lo) lo = g[i];
        if (g[i] > hi) hi = g[i];
    }
    enum { K = 3 };
    int64_t mean[K];
    uint32_t cnt[K] = {0};
    for (int k = 0; k < K; k++) mean[k] = lo + (k + 1) * (hi - lo) / (K + 1);
    uint8_t *of = arena_calloc(a, m);
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t i = 0; i < m; i++) {
            int best = 0;
            int64_t bd = INT64_MAX;
            for (int k = 0; k < K; k++) {
                int64_t d = llabs(g[i] - mean[k]);
                if (d < bd) {
                    bd = d;
                    best = k;
                }
            }
            if (best != of[i]) {
                of[i] = (uint8_t)best;
                changed = true;
            }
        }
        __int128 sum[K] = {0};
        memset(cnt, 0, sizeof cnt);
        for (uint32_t i = 0; i < m; i++) {
            sum[of[i]] += g[i];
            cnt[of[i]]++;
        }
        for (int k = 0; k < K; k++)
            if (cnt[k]) mean[k] = (int64_t)(sum[k] / cnt[k]);
    }
    int big = 0;
    for (int k = 1; k < K; k++)
        if (cnt[k] >= cnt[big]) big = k; /* ties: the last, as Rust's max_by_key */
    return cnt[big] ? mean[big] : 0;
}

static int64_t start_linear(const int64_t *t, uint32_t n, int64_t delta) {
    __int128 sum = 0;
    for (uint32_t i = 0; i < n; i++) sum += (__int128)t[i] - (__int128)i * delta;
    return (int64_t)(sum / n);
}

/* The time most points agree on modulo delta (ties: the smallest remainder), stepped back
 * to at most the first point. */
static int64_t start_mode(arena *a, const int64_t *t, uint32_t n, int64_t delta) {
    int64_t *r = arena_alloc(a, sizeof *r * n);
    for (uint32_t i = 0; i < n; i++) r[i] = t[i] % delta;
    int64_t *s = arena_alloc(a, sizeof *s * n);
    memcpy(s, r, sizeof *s * n);
    qsort(s, n, sizeof *s, cmp_i64);
    int64_t key = s[0];
    uint32_t bestc = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && s[j] == s[i]) j++;
        if (j - i > bestc) {
            bestc = j - i;
            key = s[i];
        }
        i = j;
    }
    int64_t res = 0;
    for (uint32_t i = 0; i < n; i++)
        if (r[i] == key) res = t[i];
    while (res > t[0]) res -= delta;
    return res;
}

enum { OP_KEEP = 0, OP_ADD, OP_DROP };

static int64_t sat_add(int64_t x, int64_t y) {
    int64_t r;
    return __builtin_add_overflow(x, y, &r) ? INT64_MAX : r;
}

static int dp_repair(arena *a, int64_t start, int64_t delta, const int64_t *t, const double *v,
                     uint32_t m, int64_t **ot, double **ov, uint32_t *on, err *e) {
    double slots = ceil(((double)t[m - 1] - (double)start) / (double)delta + 1.0);
    if (!(slots >= 1) || slots * (double)(m + 1) > (double)MAX_DP_CELLS)
        return exec_err(e, "timestamp_repair: aligning these points with so fine a grid is too "
                           "large to compute; give a larger interval or fewer points");
    uint32_t n = (uint32_t)slots;
    int64_t last_slot;
    if (__builtin_mul_overflow(delta, (int64_t)n - 1, &last_slot) ||
        __builtin_add_overflow(start, last_slot, &last_slot))
        return exec_err(e, "timestamp_repair: the grid runs past the largest timestamp; give a "
                           "smaller interval");
    const int64_t add = 100000000000LL;
    uint8_t *step = arena_alloc(a, (size_t)(n + 1) * (m + 1));
    int64_t *prev = arena_alloc(a, sizeof *prev * (m + 1)),
            *cur = arena_alloc(a, sizeof *cur * (m + 1));
#define STEP(i, j) step[(size_t)(i) * (m + 1) + (j)]
    for (uint32_t j = 0; j <= m; j++) {
        prev[j] = add * (int64_t)j;
        STEP(0, j) = OP_DROP;
    }
    for (uint32_t i = 1; i <= n; i++) {
        int64_t slot = start + delta * (int64_t)(i - 1);
        cur[0] = add * (int64_t)i;
        STEP(i, 0) = OP_ADD;
        for (uint32_t j = 1; j <= m; j++) {
            if (t[j - 1] == slot) {
                cur[j] = prev[j - 1];
                STEP(i, j) = OP_KEEP;
                continue;
            }
            /* costs saturate: a far-off grid makes moves dearer than any sum of them */
            if (prev[j] < cur[j - 1]) {
                cur[j] = sat_add(prev[j], add);
                STEP(i, j) = OP_ADD;
            } else {
                cur[j] = sat_add(cur[j - 1], add);
                STEP(i, j) = OP_DROP;
            }
            double dist = fabs((double)t[j - 1] - (double)slot);
            int64_t moved = sat_add(prev[j - 1], dist >= 9e18 ? INT64_MAX : (int64_t)dist);
            if (moved < cur[j]) {
                cur[j] = moved;
                STEP(i, j) = OP_KEEP;
            }
        }
        int64_t *x = prev;
        prev = cur;
        cur = x;
    }
    int64_t *rt = arena_alloc(a, sizeof *rt * n);
    double *rv = arena_alloc(a, sizeof *rv * n);
    uint32_t i = n, j = m;
    while (i >= 1 && j >= 1) {
        int64_t slot = start + delta * (int64_t)(i - 1);
        if (STEP(i, j) == OP_KEEP) {
            rt[i - 1] = slot;
            rv[i - 1] = v[j - 1];
            i--;
            j--;
        } else if (STEP(i, j) == OP_ADD) {
            rt[i - 1] = slot;
            rv[i - 1] = NAN;
            i--;
        } else {
            j--;
        }
    }
    for (; i >= 1; i--) { /* grid slots before every point: added */
        rt[i - 1] = start + delta * (int64_t)(i - 1);
        rv[i - 1] = NAN;
    }
#undef STEP
    *ot = rt;
    *ov = rv;
    *on = n;
    return 0;
}

static int timestamp_repair(const tsgen_opts *o, arena *a, const int64_t *t, double *v, uint32_t n,
                            int64_t **ot, double **ov, uint32_t *on, err *e) {
    if (n <= 2) { /* nothing to align */
        *ot = (int64_t *)t;
        *ov = v;
        *on = n;
        return 0;
    }
    int64_t delta = o->interval_ms           ? o->interval_ms * 1000000
                    : o->method == M_MODE    ? gap_mode(a, t, n)
                    : o->method == M_CLUSTER ? gap_cluster(a, t, n)
                                             : gap_median(a, t, n);
    if (delta <= 0) return exec_err(e, "interval must be positive");
    int64_t start =
        o->start_mode == S_LINEAR ? start_linear(t, n, delta) : start_mode(a, t, n, delta);
    return dp_repair(a, start, delta, t, v, n, ot, ov, on, e);
}

/* ------------------------------------------------------------------ value_fill */

static int value_fill(const tsgen_opts *o, arena *a, double *v, uint32_t n, err *e) {
    uint32_t good = 0;
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            v[i] = NAN;
        } else {
            good++;
            sum += v[i];
        }
    }
    if (!good) return exec_err(e, "All values are Invalid");
    double mean = sum / good;
    switch (o->method) {
    case F_MEAN:
        for (uint32_t i = 0; i < n; i++)
            if (isnan(v[i])) v[i] = mean;
        return 0;
    case F_PREVIOUS: {
        double last = NAN;
        for (uint32_t i = 0; i < n; i++) {
            if (isnan(v[i]))
                v[i] = last;
            else
                last = v[i];
        }
        return 0;
    }
    case F_AR: {
        double acf = 0, factor = 0;
        for (uint32_t i = 0; i + 1 < n; i++) {
            double l = isnan(v[i]) ? 0 : v[i], r = isnan(v[i + 1]) ? 0 : v[i + 1];
            acf += l * r;
            factor += l * l;
        }
        if (factor == 0) return exec_err(e, "Cannot fit AR(1) model. Please try another method.");
        double theta = acf / factor, eps = 0, cnt = 0;
        for (uint32_t i = 0; i + 1 < n; i++) {
            if (isnan(v[i]) || isnan(v[i + 1])) continue;
            cnt += 1;
            eps += v[i + 1] - theta * v[i];
        }
        if (cnt == 0) return exec_err(e, "Cannot fit AR(1) model. Please try another method.");
        eps /= cnt;
        for (uint32_t i = 0; i < n; i++)
            if (isnan(v[i])) v[i] = i ? theta * v[i - 1] + eps : mean;
        return 0;
    }
    case F_MA: {
        /* CnosDB's window: the first four points, then each point two ahead as it moves (it
         * never drops one), read before the point is filled */
        const double *orig = v;
        double *out = arena_alloc(a, sizeof *out * n);
        double wsum = 0;
        uint32_t wcnt = 0, r = 4;
        for (uint32_t i = 0; i < 4 && i < n; i++)
            if (!isnan(orig[i])) {
                wsum += orig[i];
                wcnt++;
            }
        for (uint32_t i = 0; i < n; i++) {
            out[i] = isnan(orig[i]) ? wsum / wcnt : orig[i];
            if (i <= 2 || i + 3 >= n) continue;
            if (!isnan(orig[r])) {
                wsum += orig[r];
                wcnt++;
            }
            r++;
        }
        memcpy(v, out, sizeof *v * n);
        return 0;
    }
    default: { /* linear: between neighbours; before the first and after the last, theirs */
        uint32_t prev = UINT32_MAX;
        for (uint32_t i = 0; i < n; i++) {
            if (isnan(v[i])) continue;
            double k = prev == UINT32_MAX ? 0 : (v[i] - v[prev]) / (double)(i - prev);
            for (uint32_t j = prev == UINT32_MAX ? 0 : prev + 1; j < i; j++)
                v[j] = v[i] + k * ((double)j - (double)i);
            prev = i;
        }
        for (uint32_t j = prev + 1; j < n; j++) v[j] = v[prev];
        return 0;
    }
    }
}

/* ------------------------------------------------------------------ value_repair */

/* screen: within a window of 5 median gaps, each point is moved to the median of what its
 * neighbours allow under the speed limits, and kept within reach of the previous point. */
static double window_median(arena *a, const int64_t *t, const double *x, uint32_t n, uint32_t s,
                            int64_t w, double smin, double smax) {
    uint32_t m = 0;
    while (s + m + 1 < n && t[s + m + 1] <= t[s] + w) m++;
    double *c = arena_alloc(a, sizeof *c * (2 * m + 1));
    c[0] = x[s];
    for (uint32_t i = 1; i <= m; i++) {
        double dt = (double)(t[s] - t[s + i]);
        c[i] = x[s + i] + smin * dt;
        c[i + m] = x[s + i] + smax * dt;
    }
    qsort(c, 2 * m + 1, sizeof *c, cmp_f64);
    return c[m];
}

static void screen_at(arena *a, const int64_t *t, double *x, uint32_t n, uint32_t s, int64_t w,
                      double smin, double smax) {
    double mid = window_median(a, t, x, n, s, w, smin, smax);
    if (s > 0) {
        double dt = (double)(t[s] - t[s - 1]);
        double lo = x[s - 1] + smin * dt, hi = x[s - 1] + smax * dt;
        mid = fmax(lo, fmin(hi, mid));
    }
    x[s] = mid;
}

static void screen(const tsgen_opts *o, arena *a, const int64_t *t, double *x, uint32_t n) {
    int64_t w = 5 * gap_median(a, t, n);
    double *sp = arena_alloc(a, sizeof *sp * n);
    for (uint32_t i = 0; i + 1 < n; i++) sp[i] = (x[i + 1] - x[i]) / (double)(t[i + 1] - t[i]);
    double sigma = scaled_mad(a, sp, n - 1), mid = f64_median(a, sp, n - 1);
    double smin = o->has_min_speed ? o->min_speed : mid - 3 * sigma;
    double smax = o->has_max_speed ? o->max_speed : mid + 3 * sigma;
    uint32_t s = 0;
    for (uint32_t i = 1; i < n; i++)
        while (t[s] + w < t[i]) screen_at(a, t, x, i + 1, s++, w, smin, smax);
    while (s < n) screen_at(a, t, x, n, s++, w, smin, smax);
}

/* lsgreedy: u_i, the change of speed at point i; the point whose |u - center| is largest and
 * beyond 3 sigma is moved to shrink it, its neighbours' changes recomputed, until none is. */
struct lnode {
    double key; /* |u - center| */
    uint32_t idx, ver;
};

static double change_at(const int64_t *t, const double *x, uint32_t i) {
    double v1 = (x[i + 1] - x[i]) / (double)(t[i + 1] - t[i]);
    double v2 = (x[i] - x[i - 1]) / (double)(t[i] - t[i - 1]);
    return v1 - v2;
}

static void heap_push(struct lnode *h, uint32_t *hn, struct lnode nd) {
    uint32_t i = (*hn)++;
    h[i] = nd;
    while (i && h[(i - 1) / 2].key < h[i].key) {
        struct lnode tmp = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

static void heap_pop(struct lnode *h, uint32_t *hn) {
    h[0] = h[--*hn];
    for (uint32_t i = 0;;) {
        uint32_t l = 2 * i + 1, r = l + 1, b = i;
        if (l < *hn && h[l].key > h[b].key) b = l;
        if (r < *hn && h[r].key > h[b].key) b = r;
        if (b == i) break;
        struct lnode tmp = h[i];
        h[i] = h[b];
        h[b] = tmp;
        i = b;
    }
}

static void lsgreedy(const tsgen_opts *o, arena *a, const int64_t *t, double *x, uint32_t n) {
    if (n < 3) return;
    double *sp = arena_alloc(a, sizeof *sp * n), *ch = arena_alloc(a, sizeof *ch * n);
    for (uint32_t i = 0; i + 1 < n; i++) sp[i] = (x[i + 1] - x[i]) / (double)(t[i + 1] - t[i]);
    for (uint32_t i = 0; i + 2 < n; i++) ch[i] = sp[i + 1] - sp[i];
    double center = o->has_center ? o->center : 0;
    double sigma = o->has_sigma ? o->sigma : scaled_mad(a, ch, n - 2);
    const double eps = 1e-12;
    uint32_t *ver = arena_calloc(a, sizeof *ver * n);
    /* every push is a recomputation of one of n points, at most 3 per step; the heap holds
     * stale entries until they surface */
    uint32_t cap = 4 * n + 16, hn = 0;
    struct lnode *h = arena_alloc(a, sizeof *h * cap);
    for (uint32_t i = 1; i + 1 < n; i++) {
        double u = change_at(t, x, i);
        if (fabs(u - center) > 3 * sigma) heap_push(h, &hn, (struct lnode){fabs(u - center), i, 0});
    }
    for (uint64_t steps = 0; hn && steps < 64ull * n; steps++) {
        struct lnode top = h[0];
        if (top.ver != ver[top.idx]) {
            heap_pop(h, &hn);
            continue;
        }
        if (top.key < fmax(eps, 3 * sigma)) break;
        uint32_t i = top.idx;
        double u = change_at(t, x, i);
        double d = sigma < eps ? fabs(u - center) : fmax(sigma, fabs((u - center) / 3));
        d *= (double)(t[i + 1] - t[i]) * (double)(t[i] - t[i - 1]) / (double)(t[i + 1] - t[i - 1]);
        x[i] += u > center ? d : -d;
        heap_pop(h, &hn);
        for (uint32_t k = i > 1 ? i - 1 : 1; k <= i + 1 && k + 1 < n; k++) {
            ver[k]++;
            double uk = change_at(t, x, k);
            if (fabs(uk - center) > 3 * sigma) {
                if (hn == cap) { /* compact: drop the stale entries */
                    uint32_t w = 0;
                    for (uint32_t r = 0; r < hn; r++)
                        if (h[r].ver == ver[h[r].idx]) h[w++] = h[r];
                    hn = 0;
                    for (uint32_t r = 0; r < w; r++) heap_push(h, &hn, h[r]);
                }
                if (hn < cap) heap_push(h, &hn, (struct lnode){fabs(uk - center), k, ver[k]});
            }
        }
    }
}

/* ------------------------------------------------------------------ entry */

int tsgen_run(int kind, const tsgen_opts *o, arena *a, const int64_t *t, const double *v,
              uint32_t n, int64_t **ot, double **ov, uint32_t *on, err *e) {
    double *x = arena_alloc(a, sizeof *x * (n + 1));
    memcpy(x, v, sizeof *x * n);
    if (kind == TSGEN_TIMESTAMP_REPAIR) {
        for (uint32_t i = 0; i < n; i++)
            if (!isfinite(x[i])) x[i] = NAN;
        return timestamp_repair(o, a, t, x, n, ot, ov, on, e);
    }
    if (kind == TSGEN_VALUE_FILL) {
        if (value_fill(o, a, x, n, e) < 0) return -1;
    } else {
        if (tsgen_fill_nan(t, x, n, e) < 0) return -1;
        if (o->method == R_LSGREEDY)
            lsgreedy(o, a, t, x, n);
        else
            screen(o, a, t, x, n);
    }
    *ot = (int64_t *)t;
    *ov = x;
    *on = n;
    return 0;
}
