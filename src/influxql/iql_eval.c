/* SELECT (see iql.h): per measurement, one SQL scan of the columns the statement names, with
 * the WHERE clause pushed into it and the rows ordered by the GROUP BY tags then time; then
 * per series (a run of equal GROUP BY tag values) the statement's columns over slots: a
 * slot is a point for a raw query, a GROUP BY time bucket (every one between the time bounds,
 * for fill) or the whole range for an aggregate query. Transformations run over the slots of
 * their argument; fill runs before them. */
#include "influxql/iql_int.h"

#include "sql/pattern.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cells a statement may produce (buckets x series x columns) before it is refused. */
#define MAX_CELLS 20000000u

static bool is_transform(const char *fn) {
    static const char *const s[] = {
        "derivative",     "non_negative_derivative", "difference", "non_negative_difference",
        "moving_average", "cumulative_sum",          "elapsed"};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        if (!strcmp(fn, s[i])) return true;
    return false;
}

typedef struct col {
    const iql_expr *e;
    const char *name;
    bool has_field; /* names a field (a raw row is kept when one such column has a value) */
} out_col;

typedef struct sel_ctx {
    sql_session *ss;
    arena *a;
    const iql_select *sel;
    int64_t now;
    err *e;
    const iql_table *t;
    out_col *cols;
    size_t ncols;
    const char **gtags; /* GROUP BY tags, sorted */
    size_t ngtags;
    bool agg;
    iql_rows rows;
    int *gidx; /* column of each group tag in rows, -1 = the table lacks it */
    /* Aggregates computed by the SQL scan (see push_sql): rows are then one per group and
     * bucket, and pushed[i]'s value is in column pcol[i] (spread: its max, then its min). */
    const iql_expr **pushed;
    size_t npushed, *pcol;
    const iql_zone *zone;
    bool sql_desc; /* the scan answered newest first (a raw LIMIT pushed into it) */
    /* FROM (subquery): the inner statement's rows (time, the table's tags, its fields), which
     * the WHERE clause filters here; and the regexes it compiled, by expression */
    const iql_rows *given;
    const iql_expr **re_x;
    regex_pat **re_p;
    size_t nre;
    /* GROUP BY time's buckets start at this offset from the epoch: the offset given (now()
     * with `time(1h, now())`) less the zone's UTC offset at the start of the time range */
    int64_t boff;
} sel_ctx;

static bool table_has(const char *const *names, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return true;
    return false;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The name InfluxDB gives an unnamed column. */
static const char *expr_name(arena *a, const iql_expr *x) {
    switch (x->k) {
    case IE_REF:
    case IE_CALL:
        return x->s;
    case IE_BIN: {
        const char *l = expr_name(a, x->l), *r = expr_name(a, x->r);
        if (l && r) return arena_printf(a, "%s_%s", l, r);
        return l ? l : r;
    }
    default:
        return NULL;
    }
}

/* The arguments after the first: a count (top, bottom, sample, moving_average), a percentile,
 * a unit (derivative, elapsed, integral ...), each of the right kind and range. */
static int check_args(sel_ctx *c, const iql_expr *x) {
    const char *fn = x->s;
    bool two = !strcmp(fn, "percentile") || !strcmp(fn, "top") || !strcmp(fn, "bottom") ||
               !strcmp(fn, "sample") || !strcmp(fn, "moving_average");
    bool unit = !strcmp(fn, "derivative") || !strcmp(fn, "non_negative_derivative") ||
                !strcmp(fn, "elapsed") || !strcmp(fn, "integral");
    size_t max = two || unit ? 2 : 1;
    if (x->nargs == 0 || (two && x->nargs != 2) || x->nargs > max)
        return iql_fail(c->e, "invalid number of arguments for %s, expected %s%zu, got %zu", fn,
                        two ? "" : "at most ", max, x->nargs);
    if (x->nargs < 2) return 0;
    const iql_expr *a = x->args[1];
    if (!strcmp(fn, "percentile")) {
        double p = a->k == IE_INT ? (double)a->i : a->f;
        if ((a->k != IE_INT && a->k != IE_FLOAT) || !(p >= 0 && p <= 100))
            return iql_fail(c->e, "expected a number from 0 to 100 as percentile()'s second "
                                  "argument");
    } else if (two) {
        if (a->k != IE_INT || a->i <= 0 || a->i > 1000000)
            return iql_fail(c->e,
                            "expected a positive integer (at most 1000000) as %s()'s "
                            "second argument",
                            fn);
    } else if (a->k != IE_DUR || a->i <= 0) {
        return iql_fail(c->e, "second argument to %s must be a duration, got %s", fn,
                        a->k == IE_INT ? "an integer" : "something else");
    }
    return 0;
}

/* Checks a select expression: 1 aggregate, 0 raw; -1 with e. */
static int classify(sel_ctx *c, const iql_expr *x, bool in_call, bool *field) {
    switch (x->k) {
    case IE_REF:
        if (strcasecmp(x->s, "time") && x->cast != IC_TAG &&
            !table_has(c->t->tags, c->t->ntags, x->s))
            *field = true;
        return 0;
    case IE_BIN: {
        int l = classify(c, x->l, in_call, field), r;
        if (l < 0 || (r = classify(c, x->r, in_call, field)) < 0) return -1;
        return l | r;
    }
    case IE_CALL: {
        bool tr = is_transform(x->s);
        if (!tr && !iql_is_aggregate(x->s)) return iql_fail(c->e, "undefined function %s()", x->s);
        if (check_args(c, x) < 0) return -1;
        if (in_call && !tr && x->args[0]->k == IE_CALL)
            return iql_fail(c->e, "expected field argument in %s()", x->s);
        if (tr && x->args[0]->k == IE_CALL) {
            bool f = false;
            if (classify(c, x->args[0], true, &f) < 0) return -1;
            *field = true;
            return 1;
        }
        if (x->args[0]->k != IE_REF) return iql_fail(c->e, "expected field argument in %s()", x->s);
        *field = true;
        return tr && !c->sel->every ? 0 : 1; /* derivative(v) over raw points */
    }
    default:
        return 0;
    }
}

/* Expands * and f(*), names the columns, and tells raw from aggregate. */
static int columns(sel_ctx *c) {
    const iql_select *s = c->sel;
    /* at most: every field of * or f(*) expanded to all fields and tags */
    size_t cap = s->nfields * (c->t->nfields + c->t->ntags + 1), n = 0;
    out_col *cols = arena_calloc(c->a, (cap + 1) * sizeof *cols);
    int agg = -1;
    for (size_t i = 0; i < s->nfields; i++) {
        const iql_expr *x = s->fields[i].e;
        if (x->k == IE_STAR) {
            size_t m = c->t->nfields + c->t->ntags, k = 0;
            const char **names = arena_alloc(c->a, (m + 1) * sizeof *names);
            for (size_t j = 0; j < c->t->nfields; j++) names[k++] = c->t->fields[j];
            for (size_t j = 0; j < c->t->ntags; j++)
                if (!table_has(c->gtags, c->ngtags, c->t->tags[j])) names[k++] = c->t->tags[j];
            qsort(names, k, sizeof *names, cmp_str);
            for (size_t j = 0; j < k; j++) {
                iql_expr *r = arena_calloc(c->a, sizeof *r);
                r->k = IE_REF;
                r->s = names[j];
                cols[n++] =
                    (out_col){r, names[j], table_has(c->t->fields, c->t->nfields, names[j])};
            }
            if (agg == 1) goto mixed;
            agg = 0;
            continue;
        }
        if (x->k == IE_CALL && x->nargs && x->args[0]->k == IE_STAR) {
            /* f(*): f over every field it can take, named f_field */
            bool numeric = strcmp(x->s, "count") && strcmp(x->s, "first") && strcmp(x->s, "last") &&
                           strcmp(x->s, "distinct") && strcmp(x->s, "mode") &&
                           strcmp(x->s, "sample");
            for (size_t j = 0; j < c->t->nfields; j++) {
                uint8_t ty = c->t->ftypes[j];
                if (numeric && ty != VT_F64 && ty != VT_I64 && ty != VT_U64) continue;
                iql_expr *call = arena_calloc(c->a, sizeof *call), *r;
                *call = *x;
                call->args = arena_alloc(c->a, x->nargs * sizeof *call->args);
                memcpy(call->args, x->args, x->nargs * sizeof *call->args);
                r = arena_calloc(c->a, sizeof *r);
                r->k = IE_REF;
                r->s = c->t->fields[j];
                call->args[0] = r;
                cols[n++] = (out_col){call, arena_printf(c->a, "%s_%s", x->s, r->s), true};
            }
            if (!iql_is_aggregate(x->s)) return iql_fail(c->e, "undefined function %s()", x->s);
            if (agg == 0) goto mixed;
            agg = 1;
            continue;
        }
        if (x->k == IE_REF && !strcasecmp(x->s, "time")) continue; /* always column 0 */
        bool field = false;
        int k = classify(c, x, false, &field);
        if (k < 0) return -1;
        if (agg >= 0 && agg != k) goto mixed;
        agg = k;
        const char *name = s->fields[i].alias ? s->fields[i].alias : expr_name(c->a, x);
        cols[n++] = (out_col){x, name ? name : "", field};
    }
    /* the same name twice: _1, _2 ... as InfluxDB does */
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cols[j].name, cols[i].name)) dup++;
        if (dup) cols[i].name = arena_printf(c->a, "%s_%d", cols[i].name, dup);
    }
    c->cols = cols;
    c->ncols = n;
    c->agg = agg == 1;
    if (!c->agg && s->every)
        return iql_fail(c->e, "GROUP BY requires at least one aggregate function");
    bool any_field = false;
    for (size_t i = 0; i < n; i++) any_field |= cols[i].has_field;
    if (n && !any_field && !c->agg)
        return iql_fail(c->e, "statement must have at least one field in select clause");
    for (size_t i = 0; i < n; i++) {
        const iql_expr *x = cols[i].e;
        if (x->k == IE_CALL && iql_is_multi(x->s) && n > 1)
            return iql_fail(c->e, "%s function %s() cannot be combined with other functions%s",
                            strcmp(x->s, "distinct") ? "selector" : "aggregate", x->s,
                            strcmp(x->s, "distinct") ? "" : " or fields");
    }
    return 0;
mixed:
    return iql_fail(c->e, "mixing aggregate and non-aggregate queries is not supported");
}

static void collect_refs(const iql_expr *x, const char ***refs, size_t *n, arena *a) {
    if (!x) return;
    if (x->k == IE_REF) {
        for (size_t i = 0; i < *n; i++)
            if (!strcmp((*refs)[i], x->s)) return;
        const char **nr = arena_alloc(a, (*n + 1) * sizeof *nr);
        if (*n) memcpy(nr, *refs, *n * sizeof *nr);
        nr[(*n)++] = x->s;
        *refs = nr;
        return;
    }
    collect_refs(x->l, refs, n, a);
    collect_refs(x->r, refs, n, a);
    for (size_t i = 0; i < x->nargs; i++)
        if (i == 0) collect_refs(x->args[i], refs, n, a);
}

static int row_col(const sel_ctx *c, const char *name) {
    for (size_t i = 0; i < c->rows.ncols; i++)
        if (!strcmp(c->rows.names[i], name)) return (int)i;
    return -1;
}

/* ---- values ---- */

static value vnull(void) {
    value v = {.type = VT_NULL, .null = true};
    return v;
}

static value arith(enum iql_op op, value l, value r) {
    if (l.null || r.null) return vnull();
    bool li = l.type == VT_I64, ri = r.type == VT_I64;
    if ((l.type == VT_STR || r.type == VT_STR) || (l.type == VT_BOOL || r.type == VT_BOOL))
        return vnull();
    value o = {.type = VT_I64};
    if (li && ri && op != IO_DIV) {
        int64_t a = l.v.i, b = r.v.i;
        switch (op) {
        case IO_ADD:
            o.v.i = (int64_t)((uint64_t)a + (uint64_t)b);
            break;
        case IO_SUB:
            o.v.i = (int64_t)((uint64_t)a - (uint64_t)b);
            break;
        case IO_MUL:
            o.v.i = (int64_t)((uint64_t)a * (uint64_t)b);
            break;
        default:
            if (b == 0 || (a == INT64_MIN && b == -1)) return vnull();
            o.v.i = a % b;
        }
        return o;
    }
    double a = iql_num(&l), b = iql_num(&r);
    o.type = VT_F64;
    switch (op) {
    case IO_ADD:
        o.v.f = a + b;
        break;
    case IO_SUB:
        o.v.f = a - b;
        break;
    case IO_MUL:
        o.v.f = a * b;
        break;
    case IO_DIV:
        o.v.f = b == 0 ? 0 : a / b;
        break; /* InfluxDB: x / 0 is 0 */
    default:
        o.v.f = b == 0 ? 0 : fmod(a, b);
    }
    return o;
}

static value literal(const iql_expr *x) {
    value v = {.type = VT_I64};
    switch (x->k) {
    case IE_INT:
    case IE_DUR:
        v.v.i = x->i;
        break;
    case IE_FLOAT:
        v.type = VT_F64;
        v.v.f = x->f;
        break;
    case IE_BOOL:
        v.type = VT_BOOL;
        v.v.b = x->i != 0;
        break;
    case IE_STR:
        v.type = VT_STR;
        v.v.s.p = x->s;
        v.v.s.len = (uint32_t)strlen(x->s);
        break;
    default:
        return vnull();
    }
    return v;
}

/* x on one row. */
static value ev_row(const sel_ctx *c, const iql_expr *x, size_t row) {
    if (x->k == IE_REF) {
        int k = row_col(c, x->s);
        return k < 0 ? vnull() : c->rows.v[row * c->rows.ncols + (size_t)k];
    }
    if (x->k == IE_BIN && x->op <= IO_MOD)
        return arith(x->op, ev_row(c, x->l, row), ev_row(c, x->r, row));
    return literal(x);
}

static int64_t row_time(const sel_ctx *c, size_t row) {
    return c->rows.v[row * c->rows.ncols].v.i;
}

/* x over the rows [lo, hi): *t is the chosen point's time for a selector. */
static int ev_agg(const sel_ctx *c, const iql_expr *x, size_t lo, size_t hi, value *out,
                  int64_t *t) {
    for (size_t i = 0; i < c->npushed; i++) {
        if (c->pushed[i] != x) continue;
        if (hi > lo) {
            const value *v = &c->rows.v[lo * c->rows.ncols + c->pcol[i]];
            *out = strcmp(x->s, "spread") ? v[0] : arith(IO_SUB, v[0], v[1]);
        } else if (!strcmp(x->s, "count")) { /* an empty bucket counts 0 */
            *out = (value){.type = VT_I64};
        } else {
            *out = vnull();
        }
        return 0;
    }
    if (x->k == IE_CALL && !is_transform(x->s)) {
        iql_pt *pts = arena_alloc(c->a, (hi - lo + 1) * sizeof *pts);
        size_t n = 0;
        for (size_t r = lo; r < hi; r++) {
            value v = ev_row(c, x->args[0], r);
            if (!v.null) pts[n++] = (iql_pt){row_time(c, r), v};
        }
        iql_pt *res;
        size_t nres;
        if (iql_aggregate(x->s, x, pts, n, c->a, &res, &nres, c->e) < 0) return -1;
        *out = nres ? res[0].v : vnull();
        if (t && nres) *t = res[0].t;
        return 0;
    }
    if (x->k == IE_BIN && x->op <= IO_MOD) {
        value l, r;
        if (ev_agg(c, x->l, lo, hi, &l, NULL) < 0 || ev_agg(c, x->r, lo, hi, &r, NULL) < 0)
            return -1;
        *out = arith(x->op, l, r);
        return 0;
    }
    if (x->k == IE_CALL) return iql_fail(c->e, "%s() must be the outermost function", x->s);
    *out = literal(x);
    return 0;
}

/* ---- slots of one series ---- */

typedef struct slots {
    size_t n;
    int64_t *t;
    size_t *lo, *hi; /* rows of each slot */
    value *v;        /* n x ncols */
} slots;

/* fill() over one column of a GROUP BY time query's buckets. */
static void fill_column(const sel_ctx *c, const slots *s, value *col) {
    enum iql_fill f = c->sel->fill;
    if (!c->sel->every || f == FILL_NULL || f == FILL_NONE) return;
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < s->n; i++) {
        if (!col[i].null) {
            if (f == FILL_LINEAR && prev != SIZE_MAX && prev + 1 < i) {
                double a = iql_num(&col[prev]), b = iql_num(&col[i]);
                for (size_t j = prev + 1; j < i; j++) {
                    double x = a + (b - a) * (double)(j - prev) / (double)(i - prev);
                    value v = {.type = col[i].type == VT_I64 && col[prev].type == VT_I64 ? VT_I64
                                                                                         : VT_F64};
                    if (v.type == VT_I64)
                        v.v.i = (int64_t)x;
                    else
                        v.v.f = x;
                    col[j] = v;
                }
            }
            prev = i;
            continue;
        }
        if (f == FILL_PREVIOUS && prev != SIZE_MAX)
            col[i] = col[prev];
        else if (f == FILL_VALUE)
            col[i] = literal(c->sel->fill_value);
    }
}

/* transformation fn over the values in[0..n) of its argument at times s->t */
static void transform(const iql_expr *call, const slots *s, const value *in, value *out) {
    const char *fn = call->s;
    double unit = 1e9;
    if (!strcmp(fn, "elapsed")) unit = 1;
    if (call->nargs > 1) unit = (double)call->args[1]->i; /* a positive duration: check_args */
    size_t window = 0;
    if (!strcmp(fn, "moving_average")) window = (size_t)(call->nargs > 1 ? call->args[1]->i : 1);
    size_t prev = SIZE_MAX, seen = 0;
    double run = 0;
    if (window > s->n) window = s->n + 1; /* a window longer than the series: no average */
    double *ring = window ? xcalloc(window, sizeof *ring) : NULL;
    bool all_int = true;
    int64_t irun = 0;
    for (size_t i = 0; i < s->n; i++) {
        out[i] = vnull();
        if (in[i].null) continue;
        double x = iql_num(&in[i]);
        value o = {.type = VT_F64};
        if (!strcmp(fn, "cumulative_sum")) {
            all_int &= in[i].type == VT_I64;
            run += x;
            if (in[i].type == VT_I64) irun = (int64_t)((uint64_t)irun + (uint64_t)in[i].v.i);
            if (all_int) {
                o.type = VT_I64;
                o.v.i = irun;
            } else {
                o.v.f = run;
            }
            out[i] = o;
        } else if (window) {
            ring[seen % window] = x;
            seen++;
            if (seen >= window) {
                double sum = 0;
                for (size_t j = 0; j < window; j++) sum += ring[j];
                o.v.f = sum / (double)window;
                out[i] = o;
            }
        } else if (prev != SIZE_MAX) {
            double p = iql_num(&in[prev]), dt = (double)(s->t[i] - s->t[prev]);
            if (!strcmp(fn, "elapsed")) {
                o.type = VT_I64;
                o.v.i = (int64_t)(dt / unit);
                out[i] = o;
            } else if (!strcmp(fn, "difference") || !strcmp(fn, "non_negative_difference")) {
                if (in[i].type == VT_I64 && in[prev].type == VT_I64) {
                    o.type = VT_I64;
                    o.v.i = (int64_t)((uint64_t)in[i].v.i - (uint64_t)in[prev].v.i);
                } else {
                    o.v.f = x - p;
                }
                bool neg = o.type == VT_I64 ? o.v.i < 0 : o.v.f < 0;
                if (!(neg && strncmp(fn, "non_negative", 12) == 0)) out[i] = o;
            } else if (dt > 0) {
                o.v.f = (x - p) / (dt / unit);
                if (!(o.v.f < 0 && strncmp(fn, "non_negative", 12) == 0)) out[i] = o;
            }
        }
        prev = i;
    }
    free(ring);
}

static int64_t floor_bucket(int64_t t, int64_t every, int64_t off) {
    int64_t q, r;
    time_floor_divmod(t - off, every, &q, &r);
    return t - r;
}

/* The series of rows [lo, hi): its slots and columns into out (0 = nothing to show). */
static int series(sel_ctx *c, size_t lo, size_t hi, int64_t tmin, int64_t tmax, int64_t first,
                  iql_series *out, bool *keep) {
    const iql_select *s = c->sel;
    slots sl = {0};
    *keep = false;
    if (!c->agg) {
        sl.n = hi - lo;
        sl.t = arena_alloc(c->a, (sl.n + 1) * sizeof *sl.t);
        sl.lo = arena_alloc(c->a, (sl.n + 1) * sizeof *sl.lo);
        sl.hi = arena_alloc(c->a, (sl.n + 1) * sizeof *sl.hi);
        for (size_t i = 0; i < sl.n; i++) {
            sl.t[i] = row_time(c, lo + i);
            sl.lo[i] = lo + i;
            sl.hi[i] = lo + i + 1;
        }
    } else if (s->every) {
        int64_t start = floor_bucket(tmin != INT64_MIN ? tmin : first, s->every, c->boff);
        int64_t end = tmax != INT64_MAX ? tmax : c->now;
        if (end < start) return 0;
        uint64_t nb = (uint64_t)(end - start) / (uint64_t)s->every + 1;
        /* a bucket holds a value per column and its slot, twice over while columns are made */
        uint64_t per = (uint64_t)(c->ncols + 1) * sizeof(value) * 2, most = MAX_CELLS;
        if (c->ss->mem_limit && c->ss->mem_limit / per < most) most = c->ss->mem_limit / per;
        if (nb > most)
            return iql_fail(c->e, "max-select-buckets limit exceeded: (%llu/%llu)",
                            (unsigned long long)nb, (unsigned long long)most);
        sl.n = nb;
        sl.t = arena_alloc(c->a, sl.n * sizeof *sl.t);
        sl.lo = arena_alloc(c->a, sl.n * sizeof *sl.lo);
        sl.hi = arena_alloc(c->a, sl.n * sizeof *sl.hi);
        size_t r = lo;
        while (r < hi && row_time(c, r) < start) r++;
        for (size_t i = 0; i < sl.n; i++) {
            sl.t[i] = start + (int64_t)i * s->every;
            sl.lo[i] = r;
            while (r < hi && row_time(c, r) < sl.t[i] + s->every) r++;
            sl.hi[i] = r;
        }
    } else {
        sl.n = 1;
        sl.t = arena_alloc(c->a, sizeof *sl.t);
        sl.lo = arena_alloc(c->a, sizeof *sl.lo);
        sl.hi = arena_alloc(c->a, sizeof *sl.hi);
        sl.t[0] = tmin != INT64_MIN ? tmin : 0;
        sl.lo[0] = lo;
        sl.hi[0] = hi;
    }
    size_t nc = c->ncols;
    /* a lone multi-row function: its rows are the answer */
    if (c->agg && nc == 1 && c->cols[0].e->k == IE_CALL && iql_is_multi(c->cols[0].e->s)) {
        const iql_expr *x = c->cols[0].e;
        size_t cap = 16, n = 0;
        int64_t *ts = arena_alloc(c->a, cap * sizeof *ts);
        value *vs = arena_alloc(c->a, cap * sizeof *vs);
        for (size_t i = 0; i < sl.n; i++) {
            iql_pt *pts = arena_alloc(c->a, (sl.hi[i] - sl.lo[i] + 1) * sizeof *pts);
            size_t np = 0;
            for (size_t r = sl.lo[i]; r < sl.hi[i]; r++) {
                value v = ev_row(c, x->args[0], r);
                if (!v.null) pts[np++] = (iql_pt){row_time(c, r), v};
            }
            iql_pt *res;
            size_t nres;
            if (iql_aggregate(x->s, x, pts, np, c->a, &res, &nres, c->e) < 0) return -1;
            for (size_t k = 0; k < nres; k++) {
                if (n == cap) {
                    ts = arena_realloc(c->a, ts, cap * sizeof *ts, 2 * cap * sizeof *ts);
                    vs = arena_realloc(c->a, vs, cap * sizeof *vs, 2 * cap * sizeof *vs);
                    cap *= 2;
                }
                ts[n] = res[k].t == IQL_NO_TIME ? sl.t[i] : res[k].t;
                vs[n++] = res[k].v;
            }
        }
        sl.n = n;
        sl.t = ts;
        sl.v = vs;
    } else {
        sl.v = arena_alloc(c->a, (sl.n * nc + 1) * sizeof *sl.v);
        value *colv = arena_alloc(c->a, (sl.n + 1) * sizeof *colv);
        value *inner = arena_alloc(c->a, (sl.n + 1) * sizeof *inner);
        /* one selector alone, without GROUP BY time, reports its point's time */
        bool point_time = c->agg && !s->every && nc == 1 && c->cols[0].e->k == IE_CALL &&
                          iql_is_selector(c->cols[0].e->s);
        for (size_t k = 0; k < nc; k++) {
            const iql_expr *x = c->cols[k].e;
            bool tr = x->k == IE_CALL && is_transform(x->s);
            const iql_expr *arg = tr ? x->args[0] : x;
            for (size_t i = 0; i < sl.n; i++) {
                if (!c->agg) {
                    colv[i] = ev_row(c, arg, sl.lo[i]);
                } else {
                    int64_t pt = IQL_NO_TIME;
                    if (ev_agg(c, arg, sl.lo[i], sl.hi[i], &colv[i], &pt) < 0) return -1;
                    if (point_time && pt != IQL_NO_TIME) sl.t[i] = pt;
                    /* count of an empty bucket is 0, yet fill(none) drops the bucket */
                }
            }
            fill_column(c, &sl, colv);
            if (tr) {
                transform(x, &sl, colv, inner);
                memcpy(colv, inner, sl.n * sizeof *colv);
            }
            for (size_t i = 0; i < sl.n; i++) sl.v[i * nc + k] = colv[i];
        }
        /* rows to drop: raw rows without a field value, fill(none) buckets without points,
         * and rows where transformations gave nothing */
        bool any_tr = false;
        for (size_t k = 0; k < nc; k++)
            any_tr |= c->cols[k].e->k == IE_CALL && is_transform(c->cols[k].e->s);
        size_t w = 0;
        for (size_t i = 0; i < sl.n; i++) {
            bool drop;
            if (!c->agg || any_tr) {
                drop = true;
                for (size_t k = 0; k < nc; k++)
                    if ((c->cols[k].has_field || any_tr) && !sl.v[i * nc + k].null) drop = false;
            } else if (s->every && s->fill == FILL_NONE) {
                drop = sl.lo[i] == sl.hi[i];
                if (!drop) {
                    drop = true;
                    for (size_t k = 0; k < nc; k++)
                        if (!sl.v[i * nc + k].null) drop = false;
                }
            } else {
                drop = false;
            }
            if (drop) continue;
            sl.t[w] = sl.t[i];
            if (w != i) memmove(sl.v + w * nc, sl.v + i * nc, nc * sizeof *sl.v);
            w++;
        }
        sl.n = w;
    }
    if (s->desc && !c->sql_desc)
        for (size_t i = 0, j = sl.n ? sl.n - 1 : 0; i < j; i++, j--) {
            int64_t tt = sl.t[i];
            sl.t[i] = sl.t[j];
            sl.t[j] = tt;
            for (size_t k = 0; k < nc; k++) {
                value tv = sl.v[i * nc + k];
                sl.v[i * nc + k] = sl.v[j * nc + k];
                sl.v[j * nc + k] = tv;
            }
        }
    size_t from = s->offset_rows > 0 ? (size_t)s->offset_rows : 0;
    if (from > sl.n) from = sl.n;
    size_t to = sl.n;
    if (s->limit > 0 && from + (size_t)s->limit < to) to = from + (size_t)s->limit;
    if (to == from) return 0;
    out->name = c->t->name;
    out->ncols = nc + 1;
    out->cols = arena_alloc(c->a, (nc + 1) * sizeof *out->cols);
    out->cols[0] = "time";
    for (size_t k = 0; k < nc; k++) out->cols[k + 1] = c->cols[k].name;
    out->time_col = true;
    out->nrows = to - from;
    out->vals = arena_alloc(c->a, out->nrows * (nc + 1) * sizeof *out->vals);
    for (size_t i = from; i < to; i++) {
        value *row = out->vals + (i - from) * (nc + 1);
        row[0] = (value){.type = VT_TS, .unit = TU_NS};
        row[0].v.i = sl.t[i];
        memcpy(row + 1, sl.v + i * nc, nc * sizeof *row);
    }
    out->ntags = c->ngtags;
    out->tag_keys = c->gtags;
    out->tag_vals = arena_alloc(c->a, (c->ngtags + 1) * sizeof *out->tag_vals);
    for (size_t g = 0; g < c->ngtags; g++) {
        const value *v =
            c->gidx[g] < 0 ? NULL : &c->rows.v[lo * c->rows.ncols + (size_t)c->gidx[g]];
        out->tag_vals[g] = v && !v->null ? v->v.s.p : "";
    }
    *keep = true;
    return 0;
}

static bool same_group(const sel_ctx *c, size_t a, size_t b) {
    for (size_t g = 0; g < c->ngtags; g++) {
        if (c->gidx[g] < 0) continue;
        const value *x = &c->rows.v[a * c->rows.ncols + (size_t)c->gidx[g]];
        const value *y = &c->rows.v[b * c->rows.ncols + (size_t)c->gidx[g]];
        uint32_t xl = x->null ? 0 : x->v.s.len, yl = y->null ? 0 : y->v.s.len;
        if (xl != yl || (xl && memcmp(x->v.s.p, y->v.s.p, xl))) return false;
    }
    return true;
}

/* Aggregates the SQL scan can compute itself, so that only one row per group and bucket
 * comes back: count, sum, mean, spread, min and max of a numeric field, first and last of
 * any, the selectors where the answer's time is the bucket's (not a lone selector without
 * GROUP BY time). */
static bool pushable_call(const sel_ctx *c, const iql_expr *x) {
    static const char *const fns[] = {"count", "sum", "mean",  "spread",
                                      "min",   "max", "first", "last"};
    bool known = false;
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) known |= !strcmp(x->s, fns[i]);
    if (!known || x->nargs != 1 || x->args[0]->k != IE_REF || x->args[0]->cast == IC_TAG)
        return false;
    /* first and last of any type (SQL's first(time, x) skips nulls as InfluxDB does) */
    bool any_type = !strcmp(x->s, "first") || !strcmp(x->s, "last") || !strcmp(x->s, "count");
    for (size_t j = 0; j < c->t->nfields; j++)
        if (!strcmp(c->t->fields[j], x->args[0]->s))
            return any_type || c->t->ftypes[j] == VT_F64 || c->t->ftypes[j] == VT_I64 ||
                   c->t->ftypes[j] == VT_U64;
    return false;
}

/* Collects the aggregate calls of x into c->pushed; false if one cannot be pushed. */
static bool collect_calls(sel_ctx *c, const iql_expr *x) {
    if (x->k == IE_BIN) return collect_calls(c, x->l) && collect_calls(c, x->r);
    if (x->k != IE_CALL) return true;
    if (is_transform(x->s)) return x->args[0]->k == IE_CALL && collect_calls(c, x->args[0]);
    if (!pushable_call(c, x)) return false;
    const iql_expr **np = arena_alloc(c->a, (c->npushed + 1) * sizeof *np);
    if (c->npushed) memcpy(np, c->pushed, c->npushed * sizeof *np);
    np[c->npushed++] = x;
    c->pushed = np;
    return true;
}

static bool plan_push(sel_ctx *c) {
    if (!c->agg) return false;
    if (!c->sel->every && c->ncols == 1 && c->cols[0].e->k == IE_CALL &&
        iql_is_selector(c->cols[0].e->s))
        return false;
    for (size_t k = 0; k < c->ncols; k++)
        if (!collect_calls(c, c->cols[k].e)) {
            c->npushed = 0;
            return false;
        }
    return c->npushed > 0;
}

/* SELECT <bucket> AS time, <tags>, count(*), <aggregates> ... GROUP BY bucket, tags: the
 * bucket is date_bin over GROUP BY time's interval from its offset, else min(time). */
static void push_sql(const sel_ctx *c, buf *q, buf *group) {
    const iql_select *s = c->sel;
    if (s->every) {
        int64_t o, r;
        time_floor_divmod(c->boff, s->every, &o, &r);
        char origin[48];
        int64_t days, tod;
        time_floor_divmod(r, 86400000000000LL, &days, &tod);
        int64_t y;
        unsigned mo, d;
        civil_from_days(days, &y, &mo, &d);
        snprintf(origin, sizeof origin, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ",
                 (long long)y, mo, d, (long long)(tod / 3600000000000LL),
                 (long long)(tod / 60000000000LL % 60), (long long)(tod / 1000000000LL % 60),
                 (long long)(tod % 1000000000LL));
        buf_printf(group, "date_bin(INTERVAL '%lld nanoseconds', \"time\", TIMESTAMP '%s')",
                   (long long)s->every, origin);
        buf_printf(q, "SELECT %s AS \"time\"", buf_cstr(group));
    } else {
        buf_puts(q, "SELECT min(\"time\") AS \"time\"");
    }
    for (size_t g = 0; g < c->ngtags; g++)
        if (table_has(c->t->tags, c->t->ntags, c->gtags[g])) {
            buf_puts(q, ", ");
            iql_sql_ident(q, c->gtags[g]);
            buf_puts(group, group->len ? ", " : "");
            iql_sql_ident(group, c->gtags[g]);
        }
    buf_puts(q, ", count(*) AS \"_n\"");
    for (size_t i = 0; i < c->npushed; i++) {
        const iql_expr *x = c->pushed[i];
        buf f;
        buf_init(&f);
        iql_sql_ident(&f, x->args[0]->s);
        const char *a = buf_cstr(&f);
        /* spread as max and min apart: SQL's max(x) - min(x) holds the rows */
        if (!strcmp(x->s, "spread"))
            buf_printf(q, ", max(%s) AS \"_a%zu\", min(%s) AS \"_b%zu\"", a, i, a, i);
        else if (!strcmp(x->s, "first") || !strcmp(x->s, "last"))
            buf_printf(q, ", %s(\"time\", %s) AS \"_a%zu\"", x->s, a, i);
        else
            buf_printf(q, ", %s(%s) AS \"_a%zu\"", !strcmp(x->s, "mean") ? "avg" : x->s, a, i);
        buf_free(&f);
    }
}

/* A raw query keeps the rows where a column naming a field has a value: the scan leaves out
 * those where every field named is null (the same rows when every such column is a plain
 * field, a superset otherwise). Returns whether it is exact. */
static bool raw_filter(const sel_ctx *c, buf *w) {
    bool exact = true;
    size_t n = 0;
    for (size_t k = 0; k < c->ncols; k++) {
        if (!c->cols[k].has_field) continue;
        const iql_expr *x = c->cols[k].e;
        exact &= x->k == IE_REF;
        const char **refs = NULL;
        size_t nrefs = 0;
        collect_refs(x, &refs, &nrefs, c->a);
        for (size_t i = 0; i < nrefs; i++) {
            if (!table_has(c->t->fields, c->t->nfields, refs[i])) continue;
            buf_puts(w, n++ ? " OR " : "(");
            iql_sql_ident(w, refs[i]);
            buf_puts(w, " IS NOT NULL");
        }
    }
    buf_puts(w, n ? ")" : "FALSE");
    return exact;
}

/* ---- FROM (subquery) ---- */

static bool is_time(const iql_expr *x) {
    return x->k == IE_REF && !strcasecmp(x->s, "time");
}

/* x's regex, compiled once per statement. */
static regex_pat *regex_of(sel_ctx *c, const iql_expr *x) {
    for (size_t i = 0; i < c->nre; i++)
        if (c->re_x[i] == x) return c->re_p[i];
    regex_pat *p = regex_compile(c->a, (strv){x->s, (uint32_t)strlen(x->s)}, false, c->e);
    if (!p) return NULL;
    const iql_expr **nx = arena_alloc(c->a, (c->nre + 1) * sizeof *nx);
    regex_pat **np = arena_alloc(c->a, (c->nre + 1) * sizeof *np);
    if (c->nre) {
        memcpy(nx, c->re_x, c->nre * sizeof *nx);
        memcpy(np, c->re_p, c->nre * sizeof *np);
    }
    nx[c->nre] = x;
    np[c->nre++] = p;
    c->re_x = nx;
    c->re_p = np;
    return p;
}

/* -1, 0, 1 as a < b, or 2 when they do not compare (a missing value compares as ""). */
static int compare(value a, value b) {
    bool as = a.type == VT_STR || (a.null && b.type == VT_STR);
    bool bs = b.type == VT_STR || (b.null && a.type == VT_STR);
    if (as && bs) {
        uint32_t al = a.null ? 0 : a.v.s.len, bl = b.null ? 0 : b.v.s.len;
        int k = memcmp(a.null ? "" : a.v.s.p, b.null ? "" : b.v.s.p, al < bl ? al : bl);
        if (!k) k = (al > bl) - (al < bl);
        return (k > 0) - (k < 0);
    }
    if (a.null || b.null || as || bs) return 2;
    double x = iql_num(&a), y = iql_num(&b);
    return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
}

/* The WHERE clause of an outer statement on one of its rows. */
static int cond_eval(sel_ctx *c, const iql_expr *x, size_t row, bool *out) {
    if (x->k == IE_BIN && (x->op == IO_AND || x->op == IO_OR)) {
        bool l, r;
        if (cond_eval(c, x->l, row, &l) < 0 || cond_eval(c, x->r, row, &r) < 0) return -1;
        *out = x->op == IO_AND ? l && r : l || r;
        return 0;
    }
    if (x->k == IE_BOOL) {
        *out = x->i != 0;
        return 0;
    }
    if (x->k != IE_BIN || x->op < IO_EQ)
        return iql_fail(c->e, "invalid condition: expected a comparison");
    enum iql_op op = x->op;
    value a, b;
    if (op == IO_RE || op == IO_NRE) {
        regex_pat *re = x->r->k == IE_REGEX ? regex_of(c, x->r) : NULL;
        if (!re) return x->r->k == IE_REGEX ? -1 : iql_fail(c->e, "invalid regex comparison");
        a = ev_row(c, x->l, row);
        strv sv = a.null || a.type != VT_STR ? (strv){"", 0} : a.v.s;
        regex_run *run = regex_begin();
        int m = regex_exec(run, re, sv, c->e);
        regex_end(run);
        if (m < 0) return -1;
        *out = op == IO_RE ? m : !m;
        return 0;
    }
    if (is_time(x->l) || is_time(x->r)) {
        int64_t ns;
        if (!iql_time_value(is_time(x->l) ? x->r : x->l, c->now, &ns))
            return iql_fail(c->e, "invalid operation: time and this value do not compare");
        a = (value){.type = VT_I64};
        b = (value){.type = VT_I64};
        a.v.i = is_time(x->l) ? row_time(c, row) : ns;
        b.v.i = is_time(x->l) ? ns : row_time(c, row);
        int k = a.v.i < b.v.i ? -1 : a.v.i > b.v.i;
        *out = op == IO_EQ   ? !k
               : op == IO_NE ? k
               : op == IO_LT ? k < 0
               : op == IO_LE ? k <= 0
               : op == IO_GT ? k > 0
                             : k >= 0;
        return 0;
    }
    int k = compare(ev_row(c, x->l, row), ev_row(c, x->r, row));
    *out = k != 2 && (op == IO_EQ   ? !k
                      : op == IO_NE ? k != 0
                      : op == IO_LT ? k < 0
                      : op == IO_LE ? k <= 0
                      : op == IO_GT ? k > 0
                                    : k >= 0);
    return 0;
}

static _Thread_local const sel_ctx *sort_ctx;

/* Rows by the GROUP BY tags (missing first), then time. */
static int cmp_row(const void *pa, const void *pb) {
    const sel_ctx *c = sort_ctx;
    const value *a = pa, *b = pb;
    for (size_t g = 0; g < c->ngtags; g++) {
        if (c->gidx[g] < 0) continue;
        int k = compare(a[c->gidx[g]], b[c->gidx[g]]);
        if (k) return k;
    }
    return (a[0].v.i > b[0].v.i) - (a[0].v.i < b[0].v.i);
}

/* The subquery's rows that pass the WHERE clause, in series order, as c->rows. */
static int sub_rows(sel_ctx *c) {
    c->rows = *c->given;
    size_t nc = c->rows.ncols, n = 0;
    value *v = arena_alloc(c->a, (c->rows.nrows + 1) * nc * sizeof *v);
    for (size_t r = 0; r < c->rows.nrows; r++) {
        bool keep = true;
        if (c->sel->where && cond_eval(c, c->sel->where, r, &keep) < 0) return -1;
        if (keep) memcpy(v + n++ * nc, c->rows.v + r * nc, nc * sizeof *v);
    }
    c->rows.v = v;
    c->rows.nrows = n;
    c->gidx = arena_alloc(c->a, (c->ngtags + 1) * sizeof *c->gidx);
    for (size_t g = 0; g < c->ngtags; g++) c->gidx[g] = row_col(c, c->gtags[g]);
    sort_ctx = c;
    qsort(v, n, nc * sizeof *v, cmp_row);
    sort_ctx = NULL;
    return 0;
}

/* One measurement's series, appended to out. */
static int measurement(sel_ctx *c, iql_result *out, size_t *cap) {
    const iql_select *s = c->sel;
    /* GROUP BY tags: the listed ones (a tag the table lacks groups as ""), or all */
    if (s->group_all) {
        c->gtags = arena_alloc(c->a, (c->t->ntags + 1) * sizeof *c->gtags);
        memcpy(c->gtags, c->t->tags, c->t->ntags * sizeof *c->gtags);
        c->ngtags = c->t->ntags;
    } else {
        c->gtags = arena_alloc(c->a, (s->ntags + c->t->ntags + 1) * sizeof *c->gtags);
        c->ngtags = 0;
        for (size_t i = 0; i < s->ntags; i++)
            if (!table_has(c->gtags, c->ngtags, s->tags[i])) c->gtags[c->ngtags++] = s->tags[i];
        if (s->tags_re) {
            regex_pat *re =
                regex_compile(c->a, (strv){s->tags_re, (uint32_t)strlen(s->tags_re)}, false, c->e);
            if (!re) return -1;
            regex_run *run = regex_begin();
            int m = 0;
            for (size_t i = 0; i < c->t->ntags && m >= 0; i++) {
                const char *k = c->t->tags[i];
                m = regex_exec(run, re, (strv){k, (uint32_t)strlen(k)}, c->e);
                if (m > 0 && !table_has(c->gtags, c->ngtags, k)) c->gtags[c->ngtags++] = k;
            }
            regex_end(run);
            if (m < 0) return -1;
        }
    }
    qsort(c->gtags, c->ngtags, sizeof *c->gtags, cmp_str);
    if (columns(c) < 0) return -1;
    if (!c->ncols) return iql_fail(c->e, "at least 1 non-time field must be queried");
    int64_t tmin, tmax;
    buf w;
    buf_init(&w);
    if (iql_sql_where(s->where, c->t, c->now, &w, &tmin, &tmax, c->e) < 0) {
        buf_free(&w);
        return -1;
    }
    if (s->every) {
        int64_t off = s->offset == INT64_MIN ? c->now % s->every : s->offset;
        c->boff = off - iql_zone_offset(c->zone, tmin != INT64_MIN ? tmin : c->now);
    }
    if (c->given) {
        buf_free(&w);
        if (sub_rows(c) < 0) return -1;
        goto loaded;
    }
    buf q, group;
    buf_init(&q);
    buf_init(&group);
    bool push = plan_push(c);
    if (push) {
        push_sql(c, &q, &group);
        goto from;
    }
    buf_puts(&q, "SELECT \"time\"");
    for (size_t g = 0; g < c->ngtags; g++)
        if (table_has(c->t->tags, c->t->ntags, c->gtags[g])) {
            buf_puts(&q, ", ");
            iql_sql_ident(&q, c->gtags[g]);
        }
    const char **refs = NULL;
    size_t nrefs = 0;
    for (size_t k = 0; k < c->ncols; k++) collect_refs(c->cols[k].e, &refs, &nrefs, c->a);
    for (size_t i = 0; i < nrefs; i++) {
        if (!strcasecmp(refs[i], "time") || table_has(c->gtags, c->ngtags, refs[i])) continue;
        if (!table_has(c->t->tags, c->t->ntags, refs[i]) &&
            !table_has(c->t->fields, c->t->nfields, refs[i]))
            continue;
        buf_puts(&q, ", ");
        iql_sql_ident(&q, refs[i]);
    }
from:
    buf_puts(&q, " FROM ");
    iql_sql_ident(&q, c->t->name);
    /* a raw query without GROUP BY tags nor transformations: its LIMIT is the scan's */
    bool push_limit = false;
    if (!c->agg) {
        buf f;
        buf_init(&f);
        bool exact = raw_filter(c, &f);
        push_limit = exact && s->limit > 0 && c->ngtags == 0;
        for (size_t k = 0; k < c->ncols; k++)
            if (c->cols[k].e->k == IE_CALL) push_limit = false;
        if (w.len) buf_puts(&w, " AND ");
        buf_puts(&w, buf_cstr(&f));
        buf_free(&f);
    }
    if (w.len) buf_printf(&q, " WHERE %s", buf_cstr(&w));
    buf_free(&w);
    if (push && group.len) buf_printf(&q, " GROUP BY %s", buf_cstr(&group));
    buf_free(&group);
    buf_puts(&q, " ORDER BY ");
    for (size_t g = 0; g < c->ngtags; g++)
        if (table_has(c->t->tags, c->t->ntags, c->gtags[g])) {
            iql_sql_ident(&q, c->gtags[g]);
            buf_puts(&q, " NULLS FIRST, "); /* a missing tag is "", first as InfluxDB sorts */
        }
    buf_puts(&q, "\"time\"");
    if (push_limit) {
        c->sql_desc = s->desc;
        buf_printf(&q, "%s LIMIT %lld", s->desc ? " DESC" : "",
                   (long long)(s->limit + (s->offset_rows > 0 ? s->offset_rows : 0)));
    }
    int rc = iql_run_sql(c->ss, c->a, buf_cstr(&q), &c->rows, c->e);
    buf_free(&q);
    if (rc < 0) return -1;
    if (push) {
        /* count(*) is 0 only in the one row SQL gives an aggregate over no rows at all */
        size_t n_col = (size_t)row_col(c, "_n");
        if (c->rows.nrows == 1 && c->rows.v[n_col].v.i == 0) c->rows.nrows = 0;
        c->pcol = arena_alloc(c->a, c->npushed * sizeof *c->pcol);
        for (size_t i = 0, k = n_col + 1; i < c->npushed; i++) {
            c->pcol[i] = k;
            k += strcmp(c->pushed[i]->s, "spread") ? 1 : 2;
        }
    }
    c->gidx = arena_alloc(c->a, (c->ngtags + 1) * sizeof *c->gidx);
    for (size_t g = 0; g < c->ngtags; g++) c->gidx[g] = row_col(c, c->gtags[g]);
loaded:;
    int64_t first = INT64_MAX;
    for (size_t r = 0; r < c->rows.nrows; r++)
        if (row_time(c, r) < first) first = row_time(c, r);
    for (size_t lo = 0; lo < c->rows.nrows;) {
        size_t hi = lo + 1;
        while (hi < c->rows.nrows && same_group(c, lo, hi)) hi++;
        iql_series one;
        memset(&one, 0, sizeof one);
        bool keep;
        if (series(c, lo, hi, tmin, tmax, first, &one, &keep) < 0) return -1;
        if (c->ss->mem_limit && arena_used(c->a) > c->ss->mem_limit)
            return iql_fail(c->e,
                            "the series of this statement are more than the query memory "
                            "limit of %llu bytes (query.query_memory_limit)",
                            (unsigned long long)c->ss->mem_limit);
        if (keep) {
            if (out->n == *cap) {
                size_t nc = *cap ? *cap * 2 : 8;
                out->series = arena_realloc(c->a, out->series, *cap * sizeof *out->series,
                                            nc * sizeof *out->series);
                *cap = nc;
            }
            out->series[out->n++] = one;
        }
        lo = hi;
    }
    return 0;
}

/* The tables FROM /re/ names, sorted. */
static int tables_matching(sql_session *ss, arena *a, const char *re, const char ***out, size_t *n,
                           err *e) {
    iql_rows rows;
    if (iql_run_sql(ss, a, "SHOW TABLES", &rows, e) < 0) return -1;
    regex_pat *pat = NULL;
    if (re && !(pat = regex_compile(a, (strv){re, (uint32_t)strlen(re)}, false, e))) return -1;
    regex_run *run = regex_begin();
    *out = arena_alloc(a, (rows.nrows + 1) * sizeof **out);
    *n = 0;
    int rc = 0;
    for (size_t r = 0; r < rows.nrows; r++) {
        const value *v = &rows.v[r * rows.ncols];
        int m = pat ? regex_exec(run, pat, v->v.s, e) : 1;
        if (m < 0) {
            rc = -1;
            break;
        }
        if (m) (*out)[(*n)++] = v->v.s.p;
    }
    regex_end(run);
    if (rc == 0) qsort(*out, *n, sizeof **out, cmp_str);
    return rc;
}

int iql_measurements(sql_session *ss, arena *a, const char *re, const char ***out, size_t *n,
                     err *e) {
    return tables_matching(ss, a, re, out, n, e);
}

static int cmp_series_name(const void *a, const void *b) {
    const iql_series *x = a, *y = b;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static void add_name(arena *a, const char ***names, size_t *n, const char *s) {
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*names)[i], s)) return;
    const char **nn = arena_alloc(a, (*n + 1) * sizeof *nn);
    if (*n) memcpy(nn, *names, *n * sizeof *nn);
    nn[(*n)++] = s;
    *names = nn;
}

static int name_index(const char *const *names, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return (int)i;
    return -1;
}

/* FROM (subquery): the inner series of one name [lo, hi) as a table (their tag keys its tags,
 * their columns its fields) and its rows (time, tags, fields), then the outer statement. */
static int sub_measurement(sel_ctx *c, const iql_series *ser, size_t lo, size_t hi, iql_result *out,
                           size_t *cap) {
    arena *a = c->a;
    iql_table *t = arena_calloc(a, sizeof *t);
    t->name = ser[lo].name ? ser[lo].name : "";
    t->unit = TU_NS;
    size_t nrows = 0;
    for (size_t i = lo; i < hi; i++) {
        for (size_t k = 0; k < ser[i].ntags; k++)
            add_name(a, &t->tags, &t->ntags, ser[i].tag_keys[k]);
        for (size_t k = ser[i].time_col; k < ser[i].ncols; k++)
            add_name(a, &t->fields, &t->nfields, ser[i].cols[k]);
        nrows += ser[i].nrows;
    }
    if (t->ntags) qsort(t->tags, t->ntags, sizeof *t->tags, cmp_str);
    t->ftypes = arena_alloc(a, t->nfields + 1);
    for (size_t f = 0; f < t->nfields; f++) t->ftypes[f] = VT_F64;
    iql_rows *rows = arena_calloc(a, sizeof *rows);
    rows->ncols = 1 + t->ntags + t->nfields;
    rows->names = arena_alloc(a, rows->ncols * sizeof *rows->names);
    rows->names[0] = "time";
    if (t->ntags) memcpy(rows->names + 1, t->tags, t->ntags * sizeof *t->tags);
    if (t->nfields) memcpy(rows->names + 1 + t->ntags, t->fields, t->nfields * sizeof *t->fields);
    rows->v = arena_alloc(a, (nrows + 1) * rows->ncols * sizeof *rows->v);
    for (size_t i = lo; i < hi; i++) {
        const iql_series *s = &ser[i];
        for (size_t r = 0; r < s->nrows; r++) {
            value *row = rows->v + rows->nrows++ * rows->ncols;
            for (size_t k = 0; k < rows->ncols; k++) row[k] = vnull();
            row[0] = (value){.type = VT_TS};
            row[0].v.i = s->time_col ? s->vals[r * s->ncols].v.i : 0;
            for (size_t k = 0; k < s->ntags; k++) {
                value *tv = &row[1 + name_index(t->tags, t->ntags, s->tag_keys[k])];
                *tv = (value){.type = VT_STR};
                tv->v.s = (strv){s->tag_vals[k], (uint32_t)strlen(s->tag_vals[k])};
            }
            for (size_t k = s->time_col; k < s->ncols; k++) {
                int f = name_index(t->fields, t->nfields, s->cols[k]);
                value v = s->vals[r * s->ncols + k];
                row[1 + t->ntags + (size_t)f] = v;
                if (!v.null) t->ftypes[f] = v.type; /* the type of its values */
            }
        }
    }
    c->t = t;
    c->given = rows;
    return measurement(c, out, cap);
}

int iql_run_select(sql_session *ss, arena *a, const iql_select *sel, int64_t now_ns,
                   iql_result *out, err *e) {
    memset(out, 0, sizeof *out);
    iql_zone *zone = NULL;
    if (sel->tz && iql_zone_load(a, sel->tz, &zone, e) < 0) return -1;
    out->tz = zone;
    if (sel->sub) {
        iql_result in;
        if (iql_run_select(ss, a, sel->sub, now_ns, &in, e) < 0) return -1;
        if (in.n) qsort(in.series, in.n, sizeof *in.series, cmp_series_name);
        size_t cap = 0;
        for (size_t lo = 0, hi; lo < in.n; lo = hi) {
            for (hi = lo + 1; hi < in.n && !cmp_series_name(&in.series[lo], &in.series[hi]);) hi++;
            sel_ctx c = {.ss = ss, .a = a, .sel = sel, .now = now_ns, .e = e, .zone = zone};
            if (sub_measurement(&c, in.series, lo, hi, out, &cap) < 0) return -1;
        }
        goto limits;
    }
    const char **names = (const char **)sel->from;
    size_t n = sel->nfrom;
    if (sel->from_re && tables_matching(ss, a, sel->from_re, &names, &n, e) < 0) return -1;
    if (!sel->from_re) {
        const char **sorted = arena_alloc(a, (n + 1) * sizeof *sorted);
        memcpy(sorted, names, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_str);
        names = sorted;
    }
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(names[i], names[i - 1])) continue;
        iql_table t;
        if (iql_describe(ss, a, names[i], &t, e) < 0) return -1;
        if (t.missing) continue;
        sel_ctx c = {.ss = ss, .a = a, .sel = sel, .now = now_ns, .e = e, .t = &t, .zone = zone};
        if (measurement(&c, out, &cap) < 0) return -1;
    }
limits:;
    /* SLIMIT / SOFFSET over the series */
    size_t from = sel->soffset > 0 ? (size_t)sel->soffset : 0;
    if (from > out->n) from = out->n;
    size_t to = out->n;
    if (sel->slimit > 0 && from + (size_t)sel->slimit < to) to = from + (size_t)sel->slimit;
    if (from) out->series += from;
    out->n = to - from;
    return 0;
}
