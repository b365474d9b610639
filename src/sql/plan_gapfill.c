/* Gap-filling queries (IOx's design, which CnosDB took): `GROUP BY date_bin_gapfill(i, time)`
 * (or time_window_gapfill) aggregates as date_bin does, then a gap filler (ops_gapfill.c) adds
 * the buckets no row fell in, between the WHERE clause's lower and upper time bounds, which
 * must both be there. locf(agg) and interpolate(agg) are pass-through calls in the select list
 * that tell the filler how to fill that aggregate's column. See plan_int.h. */
#include "sql/plan_int.h"

#include "sql/func_int.h"

#include <string.h>

static bool is_gapfill_fn(const bexpr *e) {
    return e->kind == BX_FUNC && e->fname &&
           (!strcmp(e->fname, "date_bin_gapfill") || !strcmp(e->fname, "time_window_gapfill"));
}

static bool is_fill_fn(const bexpr *e) {
    return e->kind == BX_FUNC && e->fname &&
           (!strcmp(e->fname, "locf") || !strcmp(e->fname, "interpolate"));
}

/* The first call to a gapfill or fill function in e, NULL for none. */
static const bexpr *find_call(const bexpr *e, bool (*is)(const bexpr *)) {
    if (!e) return NULL;
    if (is(e)) return e;
    for (uint32_t i = 0; i < e->nargs; i++) {
        const bexpr *f = find_call(e->args[i], is);
        if (f) return f;
    }
    return NULL;
}

/* A constant argument's value; -1 with an error when it is not constant. */
static int const_arg(arena *a, bexpr *x, value *v, const char *what, err *er) {
    err fe;
    if (!bx_is_const(x) || bx_fold(a, x, v, &fe) < 0 || v->null)
        return func_plan_err(er, "%s must be a non-NULL constant in a gap-filling query", what);
    return 0;
}

static int bucket_params(arena *a, const bexpr *key, gapfill_spec *gs, err *er) {
    value v;
    if (const_arg(a, key->args[0], &v, "the gap-filling stride", er) < 0) return -1;
    int64_t per_ns = 1000000000 / tunit_per_sec((enum tunit)key->unit), s;
    if (v.v.iv.months)
        return func_plan_err(er, "gap-filling stride does not support month intervals");
    if (__builtin_mul_overflow((int64_t)v.v.iv.days, 86400000000000LL, &s) ||
        __builtin_add_overflow(s, v.v.iv.nanos, &s) || s / per_ns <= 0)
        return func_plan_err(er, "gap-filling stride must be positive");
    gs->stride = s / per_ns;
    gs->origin = 0;
    if (key->nargs > 2) {
        if (const_arg(a, key->args[2], &v, "the gap-filling origin", er) < 0) return -1;
        gs->origin = v.v.i;
    }
    return 0;
}

static int64_t sat_mul(int64_t x, int64_t m) {
    int64_t r;
    if (__builtin_mul_overflow(x, m, &r)) return x < 0 ? INT64_MIN : INT64_MAX;
    return r;
}

/* The filled copies the gap filler appends after the aggregate's ncols columns. */
struct fills {
    arena *a;
    const struct binder *bd;
    uint32_t ncols;
    gapfill_spec *gs;
    uint32_t *src;
    uint8_t *mode;
    uint32_t cap;
};

/* Replaces the locf/interpolate call *at by a reference to a new filled column. */
static int fill_col(struct fills *fl, bexpr **at, err *er) {
    const bexpr *f = *at, *x = f->args[0];
    if (x->kind == BX_CAST) x = x->args[0];
    const struct binder *bd = fl->bd;
    if (x->kind != BX_COL || x->col < bd->ngroup || x->col >= bd->ngroup + bd->naggs)
        return func_plan_err(er, "%s must be called on an aggregate expression", f->fname);
    /* window results are read after the aggregate's columns, where the filled ones go */
    if (bd->nwins)
        return func_plan_err(er, "%s is not supported together with window functions", f->fname);
    gapfill_spec *gs = fl->gs;
    if (gs->nfill == fl->cap) {
        uint32_t nc = fl->cap * 2 + 4;
        fl->src = arena_realloc(fl->a, fl->src, sizeof *fl->src * fl->cap, sizeof *fl->src * nc);
        fl->mode = arena_realloc(fl->a, fl->mode, fl->cap, nc);
        fl->cap = nc;
    }
    fl->src[gs->nfill] = x->col;
    fl->mode[gs->nfill] = !strcmp(f->fname, "locf") ? GF_LOCF : GF_INTERP;
    bexpr *c = bx_col(fl->a, fl->ncols + gs->nfill++, x->type, x->unit);
    if (x != f->args[0]) {
        /* the cast locf's argument had, kept over the filled column */
        bexpr *cx = bx_new(fl->a, BX_CAST, f->args[0]->type, 1);
        *cx = *f->args[0];
        cx->args = arena_alloc(fl->a, sizeof *cx->args);
        cx->args[0] = c;
        c = cx;
    }
    c->has_tz = f->has_tz;
    *at = c;
    return 0;
}

/* Every fill call in *e (HAVING may use them anywhere) replaced. */
static int fill_walk(struct fills *fl, bexpr **e, err *er) {
    if (is_fill_fn(*e)) return fill_col(fl, e, er);
    for (uint32_t i = 0; i < (*e)->nargs; i++)
        if (fill_walk(fl, &(*e)->args[i], er) < 0) return -1;
    return 0;
}

int plan_gapfill(qctx *q, const struct binder *bd, bexpr *where, bool grouping_sets, bexpr **proj,
                 uint32_t nproj, bexpr **having, op **root, err *er) {
    arena *a = q->a;
    uint32_t key = UINT32_MAX;
    for (uint32_t k = 0; k < bd->ngroup; k++) {
        if (is_gapfill_fn(bd->group_bx[k])) {
            if (key != UINT32_MAX)
                return func_plan_err(er, "only one gap-filling expression is allowed in GROUP BY");
            key = k;
            continue;
        }
        const bexpr *f = find_call(bd->group_bx[k], is_gapfill_fn);
        if (f)
            return func_plan_err(er, "%s must be a top-level expression in the GROUP BY clause",
                                 f->fname);
    }
    if (key == UINT32_MAX) {
        for (uint32_t i = 0; i < nproj; i++) {
            const bexpr *f = find_call(proj[i], is_fill_fn);
            if (!f) f = find_call(proj[i], is_gapfill_fn);
            if (f) return func_plan_err(er, "%s may only be used in a gap-filling query", f->fname);
        }
        const bexpr *f = find_call(*having, is_fill_fn);
        if (f) return func_plan_err(er, "%s may only be used in a gap-filling query", f->fname);
        return 0;
    }
    if (grouping_sets)
        return func_plan_err(er, "%s is not supported with GROUPING SETS, ROLLUP or CUBE",
                             bd->group_bx[key]->fname);
    const bexpr *kx = bd->group_bx[key];
    gapfill_spec gs = {.nkeys = bd->ngroup, .time_col = key};
    if (bucket_params(a, kx, &gs, er) < 0) return -1;
    gs.width = gs.stride;
    /* the bounds on the column the buckets are made of: for a sliding window, the time column
     * its start was computed from (in that column's unit, the buckets' being nanoseconds) */
    const bexpr *tc = kx->args[1];
    int64_t mul = 1;
    if (bd->tw && bd->tw->gapfill) {
        tc = bd->tw->time;
        gs.width = bd->tw->width;
    }
    if (tc->kind == BX_CAST) tc = tc->args[0];
    if (bd->tw && bd->tw->gapfill && tc->type == VT_TS)
        mul = 1000000000 / tunit_per_sec((enum tunit)tc->unit);
    gs.tmin = INT64_MIN;
    gs.tmax = INT64_MAX;
    if (tc->kind == BX_COL && where) {
        bexpr **conj = NULL;
        uint32_t nconj = 0, cap = 0;
        plan_split_and(a, where, &conj, &nconj, &cap);
        for (uint32_t i = 0; i < nconj; i++)
            plan_time_bound(a, conj[i], tc->col, &gs.tmin, &gs.tmax);
    }
    if (gs.tmin == INT64_MIN && gs.tmax == INT64_MAX)
        return func_plan_err(er, "gap-filling query is missing both upper and lower time bounds");
    if (gs.tmin == INT64_MIN)
        return func_plan_err(er, "gap-filling query is missing lower time bound");
    if (gs.tmax == INT64_MAX)
        return func_plan_err(er, "gap-filling query is missing upper time bound");
    gs.tmin = sat_mul(gs.tmin, mul);
    gs.tmax = sat_mul(gs.tmax, mul);
    struct fills fl = {a,
                       bd,
                       (*root)->ncols,
                       &gs,
                       arena_alloc(a, sizeof(uint32_t) * (nproj + 1)),
                       arena_alloc(a, nproj + 1),
                       nproj};
    for (uint32_t i = 0; i < nproj; i++) {
        const bexpr *f = find_call(proj[i], is_fill_fn);
        if (!f) continue;
        bexpr **at = &proj[i];
        if (proj[i]->kind == BX_CAST && proj[i]->args[0] == f) at = &proj[i]->args[0];
        if (*at != f)
            return func_plan_err(er, "%s must be a top-level expression in the select list",
                                 f->fname);
        if (fill_col(&fl, at, er) < 0) return -1;
    }
    if (*having && fill_walk(&fl, having, er) < 0) return -1;
    gs.fill_src = fl.src;
    gs.fill_mode = fl.mode;
    *root = op_gapfill(q, *root, &gs);
    return 0;
}
