/* SELECT (see iql.h): per measurement, one SQL scan of the columns the statement names, with
 * the WHERE clause pushed into it and the rows ordered by the GROUP BY tags then time; then
 * per series (a run of equal GROUP BY tag values) the statement's columns over slots: a
 * slot is a point for a raw query, a GROUP BY time bucket (every one between the time bounds,
 * for fill) or the whole range for an aggregate query. Transformations run over the slots of
 * their argument; fill runs before them. The columns are iql_cols.c's, the aggregates the scan
 * computes iql_push.c's, the rows of a subquery iql_sub.c's (iql_select.h). */
#include "influxql/iql_select.h"

#include "util/mem.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int iql_row_col(const sel_ctx *c, const char *name) {
    for (size_t i = 0; i < c->rows.ncols; i++)
        if (!strcmp(c->rows.names[i], name)) return (int)i;
    return -1;
}

/* ---- values ---- */

value iql_null(void) {
    value v = {.type = VT_NULL, .null = true};
    return v;
}

static value arith(enum iql_op op, value l, value r) {
    if (l.null || r.null) return iql_null();
    bool li = l.type == VT_I64, ri = r.type == VT_I64;
    if ((l.type == VT_STR || r.type == VT_STR) || (l.type == VT_BOOL || r.type == VT_BOOL))
        return iql_null();
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
            if (b == 0 || (a == INT64_MIN && b == -1)) return iql_null();
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
        return iql_null();
    }
    return v;
}

/* x on one row. */
value iql_ev_row(const sel_ctx *c, const iql_expr *x, size_t row) {
    if (x->k == IE_REF) {
        int k = iql_row_col(c, x->s);
        return k < 0 ? iql_null() : c->rows.v[row * c->rows.ncols + (size_t)k];
    }
    if (x->k == IE_BIN && x->op <= IO_MOD)
        return arith(x->op, iql_ev_row(c, x->l, row), iql_ev_row(c, x->r, row));
    return literal(x);
}

int64_t iql_row_time(const sel_ctx *c, size_t row) {
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
            *out = iql_null();
        }
        return 0;
    }
    if (x->k == IE_CALL && !iql_is_transform(x->s)) {
        iql_pt *pts = arena_alloc(c->a, (hi - lo + 1) * sizeof *pts);
        size_t n = 0;
        for (size_t r = lo; r < hi; r++) {
            value v = iql_ev_row(c, x->args[0], r);
            if (!v.null) pts[n++] = (iql_pt){iql_row_time(c, r), v};
        }
        iql_pt *res;
        size_t nres;
        if (iql_aggregate(x->s, x, pts, n, c->a, &res, &nres, c->e) < 0) return -1;
        *out = nres ? res[0].v : iql_null();
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
        out[i] = iql_null();
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
            sl.t[i] = iql_row_time(c, lo + i);
            sl.lo[i] = lo + i;
            sl.hi[i] = lo + i + 1;
        }
    } else if (s->every) {
        int64_t start = floor_bucket(tmin != INT64_MIN ? tmin : first, s->every, c->boff);
        int64_t end = tmax != INT64_MAX ? tmax : c->now, wend = 0;
        if (c->zone_varies)
            iql_zone_window(c->zone, tmin != INT64_MIN ? tmin : first, s->every, c->ioff, &start,
                            &wend);
        if (end < start) return 0;
        /* an offset change makes a bucket at most an hour or so shorter: one more bucket */
        uint64_t nb = (uint64_t)(end - start) / (uint64_t)s->every + 1 + c->zone_varies;
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
        while (r < hi && iql_row_time(c, r) < start) r++;
        int64_t t0 = start, t1 = start + s->every;
        if (c->zone_varies) t1 = wend;
        size_t i = 0;
        for (; i < nb && t0 <= end; i++) {
            sl.t[i] = t0;
            sl.lo[i] = r;
            while (r < hi && iql_row_time(c, r) < t1) r++;
            sl.hi[i] = r;
            t0 = t1;
            if (c->zone_varies)
                iql_zone_window(c->zone, t0, s->every, c->ioff, &t0, &t1);
            else
                t1 = t0 + s->every;
        }
        sl.n = i;
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
                value v = iql_ev_row(c, x->args[0], r);
                if (!v.null) pts[np++] = (iql_pt){iql_row_time(c, r), v};
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
            bool tr = x->k == IE_CALL && iql_is_transform(x->s);
            const iql_expr *arg = tr ? x->args[0] : x;
            for (size_t i = 0; i < sl.n; i++) {
                if (!c->agg) {
                    colv[i] = iql_ev_row(c, arg, sl.lo[i]);
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
            any_tr |= c->cols[k].e->k == IE_CALL && iql_is_transform(c->cols[k].e->s);
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

/* One measurement's series, appended to out. */
int iql_measurement(sel_ctx *c, iql_result *out, size_t *cap) {
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
            if (!iql_has(c->gtags, c->ngtags, s->tags[i])) c->gtags[c->ngtags++] = s->tags[i];
        if (s->tags_re) {
            regex_pat *re =
                regex_compile(c->a, (strv){s->tags_re, (uint32_t)strlen(s->tags_re)}, false, c->e);
            if (!re) return -1;
            regex_run *run = regex_begin();
            int m = 0;
            for (size_t i = 0; i < c->t->ntags && m >= 0; i++) {
                const char *k = c->t->tags[i];
                m = regex_exec(run, re, (strv){k, (uint32_t)strlen(k)}, c->e);
                if (m > 0 && !iql_has(c->gtags, c->ngtags, k)) c->gtags[c->ngtags++] = k;
            }
            regex_end(run);
            if (m < 0) return -1;
        }
    }
    qsort(c->gtags, c->ngtags, sizeof *c->gtags, iql_cmp_str);
    if (iql_columns(c) < 0) return -1;
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
        c->ioff = off;
        c->zone_varies =
            c->zone && (tmin == INT64_MIN ||
                        !iql_zone_fixed(c->zone, tmin, tmax != INT64_MAX ? tmax : c->now));
    }
    if (c->given) {
        buf_free(&w);
        if (iql_sub_rows(c) < 0) return -1;
        goto loaded;
    }
    buf q, group;
    buf_init(&q);
    buf_init(&group);
    bool push = iql_plan_push(c);
    if (push) {
        iql_push_sql(c, &q, &group);
        goto from;
    }
    buf_puts(&q, "SELECT \"time\"");
    for (size_t g = 0; g < c->ngtags; g++)
        if (iql_has(c->t->tags, c->t->ntags, c->gtags[g])) {
            buf_puts(&q, ", ");
            iql_sql_ident(&q, c->gtags[g]);
        }
    const char **refs = NULL;
    size_t nrefs = 0;
    for (size_t k = 0; k < c->ncols; k++) iql_collect_refs(c->cols[k].e, &refs, &nrefs, c->a);
    for (size_t i = 0; i < nrefs; i++) {
        if (!strcasecmp(refs[i], "time") || iql_has(c->gtags, c->ngtags, refs[i])) continue;
        if (!iql_has(c->t->tags, c->t->ntags, refs[i]) &&
            !iql_has(c->t->fields, c->t->nfields, refs[i]))
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
        bool exact = iql_raw_filter(c, &f);
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
        if (iql_has(c->t->tags, c->t->ntags, c->gtags[g])) {
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
        size_t n_col = (size_t)iql_row_col(c, "_n");
        if (c->rows.nrows == 1 && c->rows.v[n_col].v.i == 0) c->rows.nrows = 0;
        c->pcol = arena_alloc(c->a, c->npushed * sizeof *c->pcol);
        for (size_t i = 0, k = n_col + 1; i < c->npushed; i++) {
            c->pcol[i] = k;
            k += strcmp(c->pushed[i]->s, "spread") ? 1 : 2;
        }
    }
    c->gidx = arena_alloc(c->a, (c->ngtags + 1) * sizeof *c->gidx);
    for (size_t g = 0; g < c->ngtags; g++) c->gidx[g] = iql_row_col(c, c->gtags[g]);
loaded:;
    int64_t first = INT64_MAX;
    for (size_t r = 0; r < c->rows.nrows; r++)
        if (iql_row_time(c, r) < first) first = iql_row_time(c, r);
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
    if (rc == 0) qsort(*out, *n, sizeof **out, iql_cmp_str);
    return rc;
}

int iql_measurements(sql_session *ss, arena *a, const char *re, const char ***out, size_t *n,
                     err *e) {
    return tables_matching(ss, a, re, out, n, e);
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
        if (in.n) qsort(in.series, in.n, sizeof *in.series, iql_cmp_series_name);
        size_t cap = 0;
        for (size_t lo = 0, hi; lo < in.n; lo = hi) {
            for (hi = lo + 1; hi < in.n && !iql_cmp_series_name(&in.series[lo], &in.series[hi]);)
                hi++;
            sel_ctx c = {.ss = ss, .a = a, .sel = sel, .now = now_ns, .e = e, .zone = zone};
            if (iql_sub_measurement(&c, in.series, lo, hi, out, &cap) < 0) return -1;
        }
        goto limits;
    }
    const char **names = (const char **)sel->from;
    size_t n = sel->nfrom;
    if (sel->from_re && tables_matching(ss, a, sel->from_re, &names, &n, e) < 0) return -1;
    if (!sel->from_re) {
        const char **sorted = arena_alloc(a, (n + 1) * sizeof *sorted);
        memcpy(sorted, names, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, iql_cmp_str);
        names = sorted;
    }
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(names[i], names[i - 1])) continue;
        iql_table t;
        if (iql_describe(ss, a, names[i], &t, e) < 0) return -1;
        if (t.missing) continue;
        sel_ctx c = {.ss = ss, .a = a, .sel = sel, .now = now_ns, .e = e, .t = &t, .zone = zone};
        if (iql_measurement(&c, out, &cap) < 0) return -1;
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
