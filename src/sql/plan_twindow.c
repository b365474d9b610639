/* time_window(time, width [, slide [, origin]]) in a SELECT: the call is not a per-row function
 * but a window column added below the query (CnosDB rewrites it into an Expand of the input,
 * one row per covering window). So the SELECT's one time_window call becomes a column of the
 * FROM scope, appended after the FROM's own, which every occurrence of the call binds to; the
 * operator that fills it (ops_twindow.c) sits on top of the FROM's operators (plan_source).
 *
 * CnosDB's limits: width and slide are interval constants in (0, 365 d] (a month counting 30
 * days), at most 100 windows overlap (ceil(width / slide)), one time_window expression per
 * query level, and the origin (default the epoch) is taken modulo the width. Its errors come
 * from an analyzer rule, after the plan is built.
 *
 * A time_window_gapfill whose slide is not its width needs the same expansion (a row belongs to
 * several buckets, or to none when the slide is wider): its window column is the start alone,
 * which the call binds to as a date_bin of the slide, so the gap filler (plan_gapfill.c) sees
 * the usual bucket call over it. A tumbling one is left to func_time.c's date_bin. */
#include <string.h>

#include "sql/func.h"
#include "sql/plan_int.h"
#include "util/vstruct.h"

#define NS_PER_DAY 86400000000000LL

bool plan_is_time_window(const expr *e) {
    return e && e->kind == EX_FUNC && !e->over && !strcmp(e->name, "time_window");
}

bool plan_is_gapfill_window(const expr *e) {
    return e && e->kind == EX_FUNC && !e->over && e->nargs >= 3 &&
           !strcmp(e->name, "time_window_gapfill");
}

struct tw_found {
    arena *a;
    const struct scope *sc;
    const expr *first;
    const char *first_name;
    const char **names; /* every distinct call, for the error */
    uint32_t n, cap;
    bool gapfill; /* time_window_gapfill calls count too */
};

static void find_calls(struct tw_found *f, const expr *e) {
    if (!e) return;
    if (plan_is_time_window(e) || (f->gapfill && plan_is_gapfill_window(e))) {
        const char *nm = plan_expr_display(f->a, e, f->sc);
        for (uint32_t i = 0; i < f->n; i++)
            if (!strcmp(f->names[i], nm)) return;
        if (f->n == f->cap) {
            uint32_t cap = f->cap ? f->cap * 2 : 4;
            f->names =
                arena_realloc(f->a, f->names, sizeof *f->names * f->cap, sizeof *f->names * cap);
            f->cap = cap;
        }
        f->names[f->n++] = nm;
        if (!f->first) f->first = e;
        return;
    }
    for (uint32_t i = 0; i < e->nargs; i++) find_calls(f, e->args[i]);
    find_calls(f, e->operand);
    for (uint32_t i = 0; i < e->nwhen; i++) {
        find_calls(f, e->when[i]);
        find_calls(f, e->then[i]);
    }
    find_calls(f, e->els);
    find_calls(f, e->filter);
    for (uint32_t i = 0; i < e->nfunc_order; i++) find_calls(f, e->func_order[i].e);
}

static int tw_err(err *er, const char *kind, const char *msg) {
    return err_set(er, 422, EC_QUERY_INTERNAL, "Datafusion: transform_time_window\ncaused by\n%s%s",
                   kind, msg);
}

/* A width or slide argument: an interval constant, in nanoseconds (a month is 30 days). */
static int duration_arg(struct binder *bd, const expr *e, int64_t *ns, err *er) {
    arena *a = bd->a;
    bexpr *x;
    if (plan_bind(bd, e, &x, er) < 0) return -1;
    value v = {0};
    if (x->type != VT_INTERVAL || !bx_is_const(x) || bx_fold(a, x, &v, er) < 0 || v.null) {
        err_clear(er);
        char *msg =
            arena_printf(a, "Expected interval, but found %s", plan_expr_display(a, e, bd->in));
        return tw_err(er, "External error: Invalid TimeWindow parameter : ", msg);
    }
    /* CnosDB adds the parts as unsigned numbers: a negative interval is a huge duration */
    __int128 total = (__int128)v.v.iv.months * 30 * NS_PER_DAY +
                     (__int128)v.v.iv.days * NS_PER_DAY + v.v.iv.nanos;
    if (total < 1000000 || total > (__int128)365 * NS_PER_DAY) {
        unsigned __int128 u = (unsigned __int128)total;
        if (total < 0) u &= (((unsigned __int128)1) << 64) - 1;
        char *msg = arena_printf(a, "Max duration is (0s, 365d], but found %llus",
                                 (unsigned long long)(u / 1000000000));
        return tw_err(er, "External error: Invalid TimeWindow parameter : ", msg);
    }
    *ns = (int64_t)total;
    return 0;
}

int plan_twindow(struct binder *bd, const sql_select *sel, const sql_query *qy,
                 const expr *const *items, uint32_t nitems, struct scope *sc, err *er) {
    arena *a = bd->a;
    struct tw_found f = {.a = a, .sc = sc, .gapfill = true};
    for (uint32_t i = 0; i < nitems; i++) find_calls(&f, items[i]);
    for (uint32_t i = 0; i < sel->ngroup; i++) find_calls(&f, sel->group_by[i]);
    for (uint32_t s = 0; s < sel->nsets; s++)
        for (uint32_t i = 0; i < sel->grouping_set_len[s]; i++)
            find_calls(&f, sel->grouping_sets[s][i]);
    find_calls(&f, sel->having);
    for (uint32_t i = 0; qy && i < qy->norder; i++) find_calls(&f, qy->order_by[i].e);
    struct tw_found in_where = {.a = a, .sc = sc};
    find_calls(&in_where, sel->where);
    if (!f.n && !in_where.n) return 0;
    if (f.n > 1) {
        buf b;
        buf_init(&b);
        buf_puts(&b, "Only support a single window expression for now, but found: [");
        for (uint32_t i = 0; i < f.n; i++) buf_printf(&b, "%s%s", i ? ", " : "", f.names[i]);
        buf_putc(&b, ']');
        int r = tw_err(er, "Error during planning: ", buf_cstr(&b));
        buf_free(&b);
        return r;
    }
    if (in_where.n)
        return plan_err(er, "time_window in WHERE is not supported: filter on its result in "
                            "an outer query");
    const expr *call = f.first;
    bool gapfill = plan_is_gapfill_window(call);
    if (gapfill) {
        /* a tumbling gapfill (no slide, or the width's) is date_bin's bucket: func_time.c */
        bexpr *x;
        if (call->nargs > 4)
            return plan_err(er, "time_window_gapfill expects 2 to 4 arguments, got %u",
                            call->nargs);
        if (plan_bind(bd, call->args[2], &x, er) < 0) return -1;
        if (x->type != VT_INTERVAL) return 0;
    }
    if (call->nargs < 2 || call->nargs > 4)
        return plan_err(er,
                        "No function matches the given name and argument types "
                        "'time_window' with %u arguments: it takes (time, width [, slide "
                        "[, origin]])",
                        call->nargs);
    struct tw_plan *tw = arena_calloc(a, sizeof *tw);
    if (plan_bind(bd, call->args[0], &tw->time, er) < 0) return -1;
    if (tw->time->type != VT_TS) {
        /* DataFusion coerces the argument to a timestamp: text and numbers only if constant */
        if (bx_cast(a, &tw->time, VT_TS, TU_NS, er) < 0) return -1;
    }
    if (duration_arg(bd, call->args[1], &tw->width, er) < 0) return -1;
    tw->slide = tw->width;
    if (call->nargs >= 3 && duration_arg(bd, call->args[2], &tw->slide, er) < 0) return -1;
    if (call->nargs == 4) {
        bexpr *o;
        value v = {0};
        if (plan_bind(bd, call->args[3], &o, er) < 0 || bx_cast(a, &o, VT_TS, TU_NS, er) < 0)
            return -1;
        if (!bx_is_const(o) || bx_fold(a, o, &v, er) < 0)
            return plan_err(er, "time_window's origin must be a constant timestamp");
        /* a gap filler's buckets are every slide from the origin, so it is kept modulo that */
        if (v.null)
            tw->origin = 0;
        else if (gapfill)
            tw->origin = (v.v.i % tw->slide + tw->slide) % tw->slide;
        else
            tw->origin = v.v.i % tw->width;
    }
    if (gapfill && tw->slide == tw->width) return 0;
    int64_t overlap = (tw->width + tw->slide - 1) / tw->slide;
    if (overlap > 100) {
        char *msg = arena_printf(a, "Too many overlapping windows: %lld", (long long)overlap);
        return tw_err(er, "Error during planning: ", msg);
    }
    static const char *const names[2] = {"start", "end"};
    static const uint8_t types[2] = {VT_TS, VT_TS}, units[2] = {TU_NS, TU_NS};
    tw->gapfill = gapfill;
    if (!gapfill) {
        tw->shape = vstruct_shape(2, names, types, units, NULL);
        if (!tw->shape) return plan_err(er, "too many distinct struct types");
    }
    /* the window column: found by no name and left out of `*`; only the call reaches it */
    struct col_ref *cols = arena_alloc(a, sizeof *cols * (sc->n + 1));
    memcpy(cols, sc->cols, sizeof *cols * sc->n);
    cols[sc->n] = (struct col_ref){.name = f.names[0],
                                   .type = gapfill ? VT_TS : VT_STRUCT,
                                   .unit = gapfill ? TU_NS : tw->shape,
                                   .kind = 0xff,
                                   .vis = CV_GONE};
    tw->col = sc->n;
    sc->cols = cols;
    sc->n++;
    bd->tw = tw;
    return 0;
}

int plan_twindow_build(qctx *q, const struct tw_plan *tw, op **root, const uint32_t **map,
                       uint32_t nmap) {
    arena *a = q->a;
    uint32_t *m = arena_alloc(a, sizeof *m * (nmap + 1));
    memcpy(m, *map, sizeof *m * nmap);
    m[tw->col] = (*root)->ncols;
    bexpr *t = plan_remap(a, tw->time, *map);
    *root = op_twindow(q, *root, t, tw->width, tw->slide, tw->origin, tw->shape);
    *map = m;
    return 0;
}
