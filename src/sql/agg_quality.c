/* CnosDB's data-quality aggregates (after Apache IoTDB's data-quality library):
 * completeness(time, x), consistency(time, x), timeliness(time, x) and validity(time, x), each
 * a DOUBLE in [0, 1] over one group's points in time order.
 *
 * The points: every row whose time and x are not NULL; an infinite or NaN x is a "special"
 * value, filled by linear interpolation between its non-NaN neighbours (extrapolated at the
 * ends), which needs two non-NaN values (else the query fails, as CnosDB's does).
 *
 * Time: the base interval is the median gap between consecutive times. A window of the next
 * ten times is walked from its first: a next point closer than half the base is redundant (it
 * and the first leave the window); a gap of 2 to 9 bases holds round(gap - 1) missing points,
 * of which those that turn up closer than half a base within the window's following points
 * count as late instead (and leave it). completeness = 1 - (missing + special) / (points +
 * missing), consistency = 1 - redundant / points, timeliness = 1 - late / points.
 *
 * Values: validity = 1 - (outliers among the values, their differences, their speeds (the
 * difference over the time gap) and the speeds' differences) / (4 * points), an outlier
 * lying further than three scaled median absolute deviations (1.4826 MAD) from its median.
 *
 * State: (time, value bits) pairs, like increase's (agg_values.c); parts merge by appending. */
#include "sql/func_int.h"
#include "sql/ops_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void agg_quality_add(arena *a, struct agg_state *st, const vec *t, const vec *x, uint32_t i) {
    if (!x || x->type == VT_NULL || !vec_is_valid(x, i) || !vec_is_valid(t, i)) return;
    double v = x->type == VT_F64   ? x->d.f64[i]
               : x->type == VT_I64 ? (double)x->d.i64[i]
                                   : (double)x->d.u64[i];
    uint64_t bits;
    memcpy(&bits, &v, 8);
    agg_vals_push(a, st, (uint64_t)t->d.i64[i]);
    agg_vals_push(a, st, bits);
}

struct qpoint {
    int64_t t;
    double v;
    uint32_t seq;
};

static int cmp_qpoint(const void *x, const void *y) {
    const struct qpoint *p = x, *q = y;
    if (p->t != q->t) return p->t < q->t ? -1 : 1;
    return (p->seq > q->seq) - (p->seq < q->seq);
}

static int cmp_double(const void *x, const void *y) {
    double p = *(const double *)x, q = *(const double *)y;
    if (isnan(p) || isnan(q)) return isnan(p) - isnan(q); /* NaN last */
    return (p > q) - (p < q);
}

/* The median of v[0..n) (sorted in place); NaN for none. */
static double median(double *v, uint32_t n) {
    if (!n) return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* How many of v[0..n) lie further than k scaled MADs from their median; tmp has room for n. */
static uint32_t outliers(const double *v, uint32_t n, double *tmp) {
    if (!n) return 0;
    memcpy(tmp, v, sizeof *v * n);
    double mid = median(tmp, n);
    for (uint32_t i = 0; i < n; i++) tmp[i] = fabs(v[i] - mid);
    double sigma = 1.4826 * median(tmp, n);
    uint32_t c = 0;
    for (uint32_t i = 0; i < n; i++)
        if (fabs(v[i] - mid) > 3 * sigma) c++;
    return c;
}

/* Fills NaN values by the line through the nearest non-NaN neighbours; -1 with fewer than two. */
static int fill_nan(const double *t, double *v, uint32_t n) {
    uint32_t i1 = 0, i2;
    while (i1 < n && isnan(v[i1])) i1++;
    i2 = i1 + 1;
    while (i2 < n && isnan(v[i2])) i2++;
    if (i2 >= n) return -1;
#define LINE(i) (v[i1] + (v[i2] - v[i1]) * ((t[i] - t[i1]) / (t[i2] - t[i1])))
    for (uint32_t i = 0; i < i2; i++) v[i] = LINE(i);
    for (uint32_t i = i2 + 1; i < n; i++) {
        if (isnan(v[i])) continue;
        i1 = i2;
        i2 = i;
        for (uint32_t j = i1 + 1; j < i2; j++) v[j] = LINE(j);
    }
    for (uint32_t i = i2 + 1; i < n; i++) v[i] = LINE(i);
#undef LINE
    return 0;
}

enum { QWIN = 10 };

/* The time checks: missing, late and redundant points. */
static void time_detect(const double *t, uint32_t n, double *tmp, uint32_t *miss, uint32_t *late,
                        uint32_t *redundant) {
    for (uint32_t k = 0; k + 1 < n; k++) tmp[k] = t[k + 1] - t[k];
    double base = median(tmp, n - 1);
    double w[QWIN];
    uint32_t len = 0, next = 0;
    while (len < QWIN && next < n) w[len++] = t[next++];
    while (len > 1) {
        double r = (w[1] - w[0]) / base;
        if (r <= 0.5) {
            memmove(&w[1], &w[2], sizeof *w * (len - 2));
            len--;
            (*redundant)++;
        } else if (r >= 2.0 && r <= 9.0) {
            uint32_t want = (uint32_t)round(r - 1.0), found = 0;
            for (uint32_t j = 2; j < len; j++) {
                double r2 = (w[j] - w[j - 1]) / base;
                if (r2 >= 2.0) break;
                if (r2 <= 0.5) {
                    found++;
                    memmove(&w[j], &w[j + 1], sizeof *w * (len - j - 1));
                    len--;
                    j--;
                    if (found == want) break;
                }
            }
            *late += found;
            *miss += want - found;
        }
        memmove(&w[0], &w[1], sizeof *w * (len - 1));
        len--;
        while (len < QWIN && next < n) w[len++] = t[next++];
    }
}

int agg_quality_check(const agg_spec *sp, struct agg_state *st, arena *a, err *er) {
    uint32_t n = st->nvals / 2;
    struct qpoint *p = arena_alloc(a, sizeof *p * (n + 1));
    for (uint32_t k = 0; k < n; k++) {
        p[k].t = (int64_t)st->vals[2 * k];
        memcpy(&p[k].v, &st->vals[2 * k + 1], 8);
        p[k].seq = k;
    }
    qsort(p, n, sizeof *p, cmp_qpoint);
    double *t = arena_alloc(a, sizeof *t * (n + 1)), *v = arena_alloc(a, sizeof *v * (n + 1));
    double *tmp = arena_alloc(a, sizeof *tmp * (n + 1));
    uint32_t special = 0;
    for (uint32_t k = 0; k < n; k++) {
        t[k] = (double)p[k].t;
        v[k] = p[k].v;
        if (!isfinite(v[k])) {
            v[k] = NAN;
            special++;
        }
    }
    if (fill_nan(t, v, n) < 0)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Datafusion: Execution error: At least two non-NaN values are needed");
    double res;
    if (sp->kind == AGG_VALIDITY) {
        uint32_t c = outliers(v, n, tmp);
        double *d = arena_alloc(a, sizeof *d * n), *speed = arena_alloc(a, sizeof *speed * n);
        for (uint32_t k = 0; k + 1 < n; k++) {
            d[k] = v[k + 1] - v[k];
            speed[k] = d[k] / (t[k + 1] - t[k]);
        }
        c += outliers(d, n - 1, tmp) + outliers(speed, n - 1, tmp);
        for (uint32_t k = 0; k + 2 < n; k++) d[k] = speed[k + 1] - speed[k];
        c += outliers(d, n - 2, tmp);
        res = 1.0 - 0.25 * c / n;
    } else {
        uint32_t miss = 0, late = 0, redundant = 0;
        time_detect(t, n, tmp, &miss, &late, &redundant);
        res = sp->kind == AGG_COMPLETENESS  ? 1.0 - (double)(miss + special) / (n + miss)
              : sp->kind == AGG_CONSISTENCY ? 1.0 - (double)redundant / n
                                            : 1.0 - (double)late / n;
    }
    st->sum_f = res;
    return 0;
}

int agg_quality_bind(bexpr **args, uint32_t nargs, struct agg_spec *sp, const char *name, err *er) {
    if (nargs != 2)
        return func_plan_err(er, "The function \"%s\" does not accept %u function arguments.", name,
                             nargs);
    if (args[0]->type != VT_TS || !(vtype_numeric(args[1]->type) || args[1]->type == VT_NULL))
        return func_plan_err(er,
                             "No function matches the given name and argument types "
                             "'%s(%s, %s)'. You might need to add explicit type casts.",
                             name, vtype_arrow_name(args[0]->type, args[0]->unit),
                             vtype_arrow_name(args[1]->type, args[1]->unit));
    sp->arg = args[0];
    sp->arg2 = args[1];
    sp->type = VT_F64;
    sp->unit = 0;
    return 0;
}
