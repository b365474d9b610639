/* Window function calls: `f(...) OVER (PARTITION BY ... ORDER BY ... frame)` bound into the
 * binder's list of window functions (see plan_int.h), with DataFusion 27's rules:
 *
 * - the default frame is the whole partition without ORDER BY, and RANGE BETWEEN UNBOUNDED
 *   PRECEDING AND CURRENT ROW (the row's peers included) with it;
 * - RANGE with an offset needs exactly one ORDER BY key, numeric or a timestamp (then the
 *   offset is an interval); GROUPS needs an ORDER BY;
 * - a frame may not start at UNBOUNDED FOLLOWING nor end at UNBOUNDED PRECEDING;
 * - `OVER w` and `OVER (w ORDER BY ...)` start from a window of the WINDOW clause.
 * Results: row_number, rank, dense_rank and ntile are UInt64; percent_rank and cume_dist
 * Float64; lag, lead, first_value, last_value, nth_value the type of their value; aggregates
 * their usual type. */
#include "sql/plan_int.h"

#include "sql/func.h"

#include "format/fmt_num.h"

#include "util/buf.h"

#include <string.h>

static const struct {
    const char *name;
    uint8_t fn;
    uint8_t min_args, max_args;
} win_funcs[] = {
    {"row_number", WF_ROW_NUMBER, 0, 0},
    {"rank", WF_RANK, 0, 0},
    {"dense_rank", WF_DENSE_RANK, 0, 0},
    {"percent_rank", WF_PERCENT_RANK, 0, 0},
    {"cume_dist", WF_CUME_DIST, 0, 0},
    {"ntile", WF_NTILE, 1, 1},
    {"lag", WF_LAG, 1, 3},
    {"lead", WF_LEAD, 1, 3},
    {"first_value", WF_FIRST_VALUE, 1, 1},
    {"last_value", WF_LAST_VALUE, 1, 1},
    {"nth_value", WF_NTH_VALUE, 2, 2},
};

void plan_window_fix(bexpr *e, uint32_t base) {
    if (e->kind == BX_COL && e->col >= PLAN_WIN_COL) e->col = base + (e->col - PLAN_WIN_COL);
    for (uint32_t i = 0; i < e->nargs; i++) plan_window_fix(e->args[i], base);
}

/* A constant integer argument (ntile's buckets, lag's offset, nth_value's n). */
static int const_arg(struct binder *bd, const expr *e, const char *fname, int64_t *out, err *er) {
    bexpr *b;
    if (plan_bind(bd, e, &b, er) < 0) return -1;
    value v;
    if (!bx_is_const(b) || (b->type != VT_I64 && b->type != VT_U64) ||
        bx_fold(bd->a, b, &v, er) < 0 || v.null) {
        err_clear(er);
        return plan_err(er, "The argument of %s must be a constant integer", fname);
    }
    *out = b->type == VT_U64 ? (v.v.u > INT64_MAX ? INT64_MAX : (int64_t)v.v.u) : v.v.i;
    return 0;
}

/* The window a call names: its own, or a named one with the call's additions. */
static int resolve(struct binder *bd, const sql_window *w, sql_window *out, err *er) {
    *out = *w;
    if (!w->ref_name) return 0;
    for (uint32_t i = 0; i < bd->nnamed; i++)
        if (!strcmp(bd->named[i].name, w->ref_name)) {
            const sql_window *base = bd->named[i].w;
            out->partition_by = base->partition_by;
            out->npartition = base->npartition;
            if (!w->norder) {
                out->order_by = base->order_by;
                out->norder = base->norder;
            }
            if (!w->frame_units) {
                out->frame_units = base->frame_units;
                out->frame_start = base->frame_start;
                out->frame_end = base->frame_end;
            }
            return 0;
        }
    return plan_err(er, "The window %s is not defined!", w->ref_name);
}

static const char *bound_text(uint8_t k) {
    switch (k) {
    case FB_UNBOUNDED_PRECEDING:
        return "UNBOUNDED PRECEDING";
    case FB_PRECEDING:
        return "n PRECEDING";
    case FB_CURRENT_ROW:
        return "CURRENT ROW";
    case FB_FOLLOWING:
        return "n FOLLOWING";
    default:
        return "UNBOUNDED FOLLOWING";
    }
}

/* One bound's offset: a count (ROWS, GROUPS) or a distance in the order key's unit (RANGE). */
static int frame_offset(struct binder *bd, const sql_window *w, const win_spec *ws,
                        const sql_frame_bound *fb, int64_t *off, double *offf, err *er) {
    bexpr *b;
    if (plan_bind(bd, fb->offset, &b, er) < 0) return -1;
    value v;
    if (!bx_is_const(b) || bx_fold(bd->a, b, &v, er) < 0 || v.null) {
        err_clear(er);
        return plan_err(er, "Invalid window frame: frame offsets must be non negative constants");
    }
    if (w->frame_units != FRAME_RANGE) {
        if (v.type != VT_I64 && v.type != VT_U64)
            return plan_err(er, "Window frame bound value must be a non-negative integer for %s",
                            w->frame_units == FRAME_ROWS ? "ROWS" : "GROUPS");
        *off = v.type == VT_U64 ? (v.v.u > INT64_MAX ? INT64_MAX : (int64_t)v.v.u) : v.v.i;
        if (*off < 0)
            return plan_err(er,
                            "Invalid window frame: frame offsets must be non negative integers");
        return 0;
    }
    const bexpr *key = ws->order[0].e;
    if (key->type == VT_TS) {
        if (v.type != VT_INTERVAL || v.v.iv.months)
            return plan_err(er, "Invalid window frame: a RANGE offset over a timestamp must be an "
                                "interval of days and smaller units");
        __int128 ns = (__int128)v.v.iv.days * 86400000000000LL + v.v.iv.nanos;
        int64_t per = 1;
        if (key->unit == TU_US) per = 1000;
        if (key->unit == TU_MS) per = 1000000;
        ns /= per;
        if (ns < 0) return plan_err(er, "Invalid window frame: frame offsets must be non negative");
        *off = ns > INT64_MAX ? INT64_MAX : (int64_t)ns;
        return 0;
    }
    if (!vtype_numeric(key->type) || (v.type != VT_I64 && v.type != VT_U64 && v.type != VT_F64))
        return plan_err(er, "Invalid window frame: RANGE offsets need a numeric or timestamp "
                            "ORDER BY key and a matching offset");
    double d = v.type == VT_F64 ? v.v.f : v.type == VT_U64 ? (double)v.v.u : (double)v.v.i;
    if (d < 0) return plan_err(er, "Invalid window frame: frame offsets must be non negative");
    *offf = d;
    if (v.type == VT_U64 && v.v.u > INT64_MAX)
        return plan_err(er, "Invalid window frame: a RANGE offset above %lld is not supported",
                        (long long)INT64_MAX);
    *off = v.type == VT_F64 ? (int64_t)d : v.type == VT_U64 ? (int64_t)v.v.u : v.v.i;
    if (key->type == VT_F64) *off = 0;
    return 0;
}

static int bind_frame(struct binder *bd, const sql_window *w, win_spec *ws, err *er) {
    if (!w->frame_units) {
        ws->units = ws->norder ? FRAME_RANGE : FRAME_ROWS;
        ws->start = FRB_UNBOUNDED;
        ws->end = ws->norder ? FRB_CURRENT : FRB_UNBOUNDED;
        ws->start_preceding = true;
        return 0;
    }
    const sql_frame_bound *s = &w->frame_start, *e = &w->frame_end;
    if (s->kind == FB_UNBOUNDED_FOLLOWING)
        return plan_err(er, "Invalid window frame: start bound cannot be UNBOUNDED FOLLOWING");
    if (e->kind == FB_UNBOUNDED_PRECEDING)
        return plan_err(er, "Invalid window frame: end bound cannot be UNBOUNDED PRECEDING");
    /* bounds in order: UNBOUNDED PRECEDING < n PRECEDING < CURRENT ROW < n FOLLOWING < ... */
    if (s->kind > e->kind)
        return plan_err(er,
                        "Invalid window frame: start bound (%s) cannot be larger than end "
                        "bound (%s)",
                        bound_text(s->kind), bound_text(e->kind));
    ws->units = w->frame_units;
    if (ws->units == FRAME_GROUPS && !ws->norder)
        return plan_err(er, "GROUPS mode requires an ORDER BY clause");
    bool offsets = s->offset || e->offset;
    if (ws->units == FRAME_RANGE && offsets && ws->norder != 1)
        return plan_err(er,
                        "With window frame of type RANGE, the order by expression must be of "
                        "length 1, got %u",
                        ws->norder);
    for (int side = 0; side < 2; side++) {
        const sql_frame_bound *fb = side ? e : s;
        uint8_t *kind = side ? &ws->end : &ws->start;
        bool *prec = side ? &ws->end_preceding : &ws->start_preceding;
        *prec = fb->kind == FB_UNBOUNDED_PRECEDING || fb->kind == FB_PRECEDING;
        if (fb->kind == FB_CURRENT_ROW) {
            *kind = FRB_CURRENT;
        } else if (!fb->offset) {
            *kind = FRB_UNBOUNDED;
        } else {
            *kind = FRB_OFFSET;
            if (frame_offset(bd, w, ws, fb, side ? &ws->end_off : &ws->start_off,
                             side ? &ws->end_offf : &ws->start_offf, er) < 0)
                return -1;
        }
    }
    return 0;
}

static int bind_args(struct binder *bd, const expr *e, win_spec *ws, err *er) {
    arena *a = bd->a;
    ws->args = arena_calloc(a, sizeof *ws->args * (e->nargs + 1));
    ws->nargs = e->nargs;
    switch (ws->fn) {
    case WF_ROW_NUMBER:
    case WF_RANK:
    case WF_DENSE_RANK:
    case WF_CUME_DIST:
        ws->type = VT_U64;
        if (ws->fn == WF_CUME_DIST) ws->type = VT_F64;
        return 0;
    case WF_PERCENT_RANK:
        ws->type = VT_F64;
        return 0;
    case WF_NTILE:
        ws->type = VT_U64;
        if (const_arg(bd, e->args[0], "ntile", &ws->n, er) < 0) return -1;
        if (ws->n <= 0) return plan_err(er, "NTILE requires a positive integer");
        ws->nargs = 0;
        return 0;
    case WF_NTH_VALUE: {
        /* DataFusion 27 reads n when it runs: a constant that is no integer cannot be
         * converted, 0 is refused, a negative n is a row no frame has (NULL) */
        bexpr *nb;
        value v;
        if (plan_bind(bd, e->args[1], &nb, er) < 0) return -1;
        if (bx_is_const(nb) && (nb->type == VT_F64 || nb->type == VT_STR) &&
            bx_fold(bd->a, nb, &v, er) == 0 && !v.null) {
            char num[340];
            if (nb->type == VT_F64) num[fmt_double_plain(num, v.v.f)] = 0;
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Execute logical plan: Datafusion: Execution error: Internal(\"Cannot "
                           "convert %s%s%.*s%s to i64\")",
                           nb->type == VT_F64 ? "Float64(" : "Utf8(\\\"",
                           nb->type == VT_F64 ? num : "", nb->type == VT_STR ? (int)v.v.s.len : 0,
                           nb->type == VT_STR ? v.v.s.p : "", nb->type == VT_F64 ? ")" : "\\\")");
        }
        err_clear(er);
        if (const_arg(bd, e->args[1], "nth_value", &ws->n, er) < 0) return -1;
        if (ws->n == 0)
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Execute logical plan: Datafusion: Execution error: nth_value expect n "
                           "to be > 0");
        break;
    }
    case WF_LAG:
    case WF_LEAD: {
        /* DataFusion 27 takes the offset only from an integer constant: any other (NULL, a
         * string, a float, a boolean) leaves the default of 1 */
        ws->n = 1;
        bexpr *off;
        value v;
        if (e->nargs > 1) {
            if (plan_bind(bd, e->args[1], &off, er) < 0) return -1;
            if (off->type == VT_I64 && bx_is_const(off) && bx_fold(a, off, &v, er) == 0 && !v.null)
                ws->n = v.v.i;
            err_clear(er);
        }
        break;
    }
    default:
        break;
    }
    if (plan_bind(bd, e->args[0], &ws->args[0], er) < 0) return -1;
    ws->type = ws->args[0]->type;
    ws->unit = ws->args[0]->unit;
    if ((ws->fn == WF_LAG || ws->fn == WF_LEAD) && e->nargs > 2) {
        if (plan_bind(bd, e->args[2], &ws->args[2], er) < 0) return -1;
        if (ws->type == VT_NULL) {
            ws->type = ws->args[2]->type;
            ws->unit = ws->args[2]->unit;
            if (bx_cast(a, &ws->args[0], ws->type, ws->unit, er) < 0) return -1;
        }
        /* the default must already have the value's type (no coercion in DataFusion 27) */
        uint8_t dt = ws->args[2]->type;
        if (dt != VT_NULL && (dt != ws->type || ws->args[2]->unit != ws->unit)) {
            err_set(er, 422, EC_QUERY_INTERNAL,
                    "Could not chunk result: Datafusion: Internal error: Expects default value to "
                    "have %s type. This was likely caused by a bug in DataFusion's code and we "
                    "would welcome that you file an bug report in our issue tracker",
                    vtype_arrow_name(ws->type, ws->unit));
            return -1;
        }
        if (bx_cast(a, &ws->args[2], ws->type, ws->unit, er) < 0) return -1;
    }
    if (ws->nargs > 1 && ws->fn != WF_LAG && ws->fn != WF_LEAD) ws->nargs = 1;
    if ((ws->fn == WF_LAG || ws->fn == WF_LEAD) && ws->nargs == 2) ws->nargs = 1;
    return 0;
}

int plan_bind_window(struct binder *bd, const expr *e, bexpr **out, err *er) {
    arena *a = bd->a;
    if (!bd->allow_window) return plan_err(er, "Window function %s is not allowed here", e->name);
    sql_window w;
    if (resolve(bd, e->over, &w, er) < 0) return -1;
    /* named after the window it resolves to, so `OVER w1` and `OVER w2` differ */
    expr named = *e;
    w.ref_name = NULL;
    named.over = &w;
    char *nm = plan_expr_name(a, &named, false, bd->in);
    for (uint32_t k = 0; k < bd->nwins; k++)
        if (!strcmp(bd->win_names[k], nm)) {
            *out = bx_col(a, PLAN_WIN_COL + k, bd->wins[k].type, bd->wins[k].unit);
            (*out)->has_tz = bd->wins[k].nargs && bd->wins[k].args[0]->has_tz;
            return 0;
        }
    win_spec ws = {0};
    for (size_t i = 0; i < sizeof win_funcs / sizeof *win_funcs; i++)
        if (!strcmp(win_funcs[i].name, e->name)) {
            ws.fn = win_funcs[i].fn;
            if (e->nargs >= win_funcs[i].min_args && e->nargs <= win_funcs[i].max_args) break;
            /* DataFusion's signature errors: Any(n), or OneOf for lag and lead */
            if (win_funcs[i].min_args == win_funcs[i].max_args)
                return plan_err(er, "The function expected %u arguments but received %u",
                                win_funcs[i].min_args, e->nargs);
            buf b;
            buf_init(&b);
            for (uint32_t k = 0; k < e->nargs; k++) {
                bexpr *x;
                if (plan_bind(bd, e->args[k], &x, er) < 0) {
                    buf_free(&b);
                    return -1;
                }
                buf_printf(&b, "%s%s", k ? ", " : "", vtype_arrow_name(x->type, x->unit));
            }
            plan_err(er,
                     "Coercion from [%s] to the signature OneOf([Any(1), Any(2), Any(3)]) failed.",
                     b.len ? buf_cstr(&b) : "");
            buf_free(&b);
            return -1;
        }
    if (!ws.fn) {
        if (!agg_lookup(e->name)) return plan_err(er, "Invalid function '%s'", e->name);
        ws.fn = WF_AGG;
        if (plan_bind_agg_spec(bd, e, false, &ws.agg, er) < 0) return -1;
        if (agg_kind_checked(ws.agg.kind))
            return err_set(er, 422, EC_NOT_IMPL,
                           "This feature is not implemented: %s as a window function", e->name);
        ws.type = ws.agg.type;
        ws.unit = ws.agg.unit;
    } else if (bind_args(bd, e, &ws, er) < 0) {
        return -1;
    }
    ws.part = arena_alloc(a, sizeof *ws.part * (w.npartition + 1));
    ws.npart = w.npartition;
    for (uint32_t k = 0; k < w.npartition; k++)
        if (plan_bind(bd, w.partition_by[k], &ws.part[k], er) < 0) return -1;
    ws.order = arena_alloc(a, sizeof *ws.order * (w.norder + 1));
    ws.norder = w.norder;
    for (uint32_t k = 0; k < w.norder; k++) {
        const sql_order_item *oi = &w.order_by[k];
        if (plan_bind(bd, oi->e, &ws.order[k].e, er) < 0) return -1;
        ws.order[k].desc = oi->desc;
        ws.order[k].nulls_first = oi->nulls_first < 0 ? oi->desc : oi->nulls_first;
    }
    if (bind_frame(bd, &w, &ws, er) < 0) return -1;
    if (bd->nwins == bd->capwins) {
        uint32_t nc = bd->capwins ? bd->capwins * 2 : 4;
        bd->wins =
            arena_realloc(a, bd->wins, sizeof *bd->wins * bd->capwins, sizeof *bd->wins * nc);
        bd->win_names = arena_realloc(a, bd->win_names, sizeof *bd->win_names * bd->capwins,
                                      sizeof *bd->win_names * nc);
        bd->capwins = nc;
    }
    bd->wins[bd->nwins] = ws;
    bd->win_names[bd->nwins] = nm;
    *out = bx_col(a, PLAN_WIN_COL + bd->nwins, ws.type, ws.unit);
    (*out)->has_tz = ws.nargs && ws.args[0] && ws.args[0]->has_tz;
    bd->nwins++;
    return 0;
}
