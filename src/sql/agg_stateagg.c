/* state_agg(time, state) and compact_state_agg(time, state), read by duration_in and state_at.
 *
 * The binder fuses `duration_in(state_agg(t, s), state [, start [, interval]])` and
 * `state_at(state_agg(t, s), ts)` into one aggregate: the accessor's code in agg_spec.param2,
 * its constant arguments (already cast: the state to the state column's type, start and ts to
 * the time's) in agg_spec.params. A bare state_agg yields CnosDB's struct (util/vstruct.h):
 *   {state_duration: [{state, duration}], state_periods: [{state, periods: [{start_time,
 *    end_time}]}]}
 * one entry per state in the order the states first hold; compact_state_agg keeps no periods
 * (its state_periods is empty).
 *
 * State, per group: every (time, state) row whose state is not NULL, in arrival order: the
 * times in agg_state.vals, the states in agg_state.items->v; parts merge by appending. The
 * final sorts the rows by time (stably) and reads them as transitions: row i's state holds
 * from its time until row i+1's; the last row's has no end, so it adds no duration and
 * state_at from its time on is NULL. */
#include "sql/func_int.h"
#include "sql/ops_int.h"
#include "util/timeutil.h"
#include "util/vlist.h"
#include "util/vstruct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SA_STRUCT = 0, SA_DURATION_IN, SA_STATE_AT };

int agg_state_accessor(const char *name) {
    if (!strcmp(name, "duration_in")) return SA_DURATION_IN;
    if (!strcmp(name, "state_at")) return SA_STATE_AT;
    return 0;
}

void agg_stateagg_add(arena *a, struct agg_state *st, const vec *t, const vec *s, uint32_t i) {
    if (t->type == VT_NULL || !vec_is_valid(t, i) || s->type == VT_NULL || !vec_is_valid(s, i))
        return;
    struct agg_items *it = st->items;
    if (!it) it = st->items = arena_calloc(a, sizeof *it);
    if (it->n == it->cap) {
        uint32_t nc = it->cap ? it->cap * 2 : 8;
        it->v = arena_realloc(a, it->v, sizeof *it->v * it->cap, sizeof *it->v * nc);
        it->cap = nc;
    }
    value v;
    vec_get(s, i, &v);
    if (vtype_is_bytes(v.type)) v.v.s = (strv){arena_strndup(a, v.v.s.p, v.v.s.len), v.v.s.len};
    it->v[it->n++] = v;
    agg_vals_push(a, st, (uint64_t)t->d.i64[i]);
}

void agg_stateagg_merge(arena *a, struct agg_state *dst, const struct agg_state *src) {
    const struct agg_items *it = src->items;
    if (!it) return;
    for (uint32_t k = 0; k < it->n; k++) {
        vec one = {.type = it->v[k].type, .unit = it->v[k].unit, .len = 1};
        one.d.raw = (void *)&it->v[k].v;
        vec t = {.type = VT_TS, .len = 1};
        t.d.raw = (void *)&src->vals[k];
        agg_stateagg_add(a, dst, &t, &one, 0);
    }
}

struct srow {
    int64_t t;
    uint32_t k; /* arrival index: ties keep arrival order */
};

static int cmp_srow(const void *x, const void *y) {
    const struct srow *p = x, *q = y;
    if (p->t != q->t) return p->t < q->t ? -1 : 1;
    return (p->k > q->k) - (p->k < q->k);
}

/* Nanoseconds per unit of a time column. */
static int64_t unit_ns(uint8_t unit) {
    return 1000000000 / tunit_per_sec((enum tunit)unit);
}

/* The struct's shapes for a time unit and a state type: top, {state, duration},
 * {start_time, end_time}, {state, periods}; false when the state type cannot be a field. */
static bool struct_shapes(uint8_t tunit, uint8_t stype, uint8_t sunit, uint8_t sh[4]) {
    static const char *const dn[2] = {"state", "duration"}, *const pn[2] = {"start_time",
                                                                            "end_time"};
    static const char *const spn[2] = {"state", "periods"}, *const top[2] = {"state_duration",
                                                                             "state_periods"};
    uint8_t dt[2] = {stype, VT_INTERVAL}, du[2] = {sunit, 0};
    uint8_t pt[2] = {VT_TS, VT_TS}, pu[2] = {tunit, tunit};
    if (!(sh[1] = vstruct_shape(2, dn, dt, du, NULL)) || sh[1] > 127) return false;
    if (!(sh[2] = vstruct_shape(2, pn, pt, pu, NULL)) || sh[2] > 127) return false;
    uint8_t st[2] = {stype, VT_LIST}, su[2] = {sunit, vlist_unit(VT_STRUCT, sh[2], false)};
    if (!(sh[3] = vstruct_shape(2, spn, st, su, NULL)) || sh[3] > 127) return false;
    uint8_t tt[2] = {VT_LIST, VT_LIST};
    uint8_t tu[2] = {vlist_unit(VT_STRUCT, sh[1], false), vlist_unit(VT_STRUCT, sh[3], false)};
    return (sh[0] = vstruct_shape(2, top, tt, tu, NULL)) != 0;
}

/* The bare aggregate's struct over the sorted transitions. */
static void state_struct(const agg_spec *sp, const struct agg_items *it, const struct srow *rows,
                         uint32_t n, vec *out, uint32_t r, arena *a) {
    uint8_t sh[4];
    struct_shapes(sp->arg->unit, sp->arg2->type, sp->arg2->unit, sh);
    bool compact = sp->kind == AGG_COMPACT_STATE_AGG;
    /* the distinct states, in the order they first hold, with their durations */
    uint32_t *first = arena_alloc(a, sizeof *first * (n + 1)), ns = 0;
    int64_t *dur = arena_calloc(a, sizeof *dur * (n + 1));
    uint32_t *of = arena_alloc(a, sizeof *of * (n + 1)); /* row k's state index */
    for (uint32_t k = 0; k < n; k++) {
        const value *s = &it->v[rows[k].k];
        uint32_t j = 0;
        while (j < ns && agg_value_cmp(&it->v[rows[first[j]].k], s) != 0) j++;
        if (j == ns) first[ns++] = k;
        of[k] = j;
        if (k + 1 < n) dur[j] += rows[k + 1].t - rows[k].t;
    }
    value *durs = arena_alloc(a, sizeof *durs * (ns + 1));
    value *sps = arena_alloc(a, sizeof *sps * (ns + 1));
    value *periods = arena_alloc(a, sizeof *periods * (n + 1));
    for (uint32_t j = 0; j < ns; j++) {
        value f[2] = {it->v[rows[first[j]].k], {.type = VT_INTERVAL}};
        /* whole days, then the nanoseconds left, as CnosDB prints a duration */
        interval_from_ns((__int128)dur[j] * unit_ns(sp->arg->unit), &f[1].v.iv);
        durs[j] = (value){.type = VT_STRUCT, .unit = sh[1]};
        durs[j].v.s = vstruct_make(a, sh[1], f);
        uint32_t np = 0;
        for (uint32_t k = 0; k + 1 < n && !compact; k++) {
            if (of[k] != j) continue;
            value pf[2] = {{.type = VT_TS, .unit = sp->arg->unit},
                           {.type = VT_TS, .unit = sp->arg->unit}};
            pf[0].v.i = rows[k].t;
            pf[1].v.i = rows[k + 1].t;
            periods[np] = (value){.type = VT_STRUCT, .unit = sh[2]};
            periods[np++].v.s = vstruct_make(a, sh[2], pf);
        }
        value g[2] = {it->v[rows[first[j]].k], {.type = VT_LIST}};
        g[1].v.s = vlist_make(a, VT_STRUCT, periods, np);
        sps[j] = (value){.type = VT_STRUCT, .unit = sh[3]};
        sps[j].v.s = vstruct_make(a, sh[3], g);
    }
    value top[2] = {{.type = VT_LIST}, {.type = VT_LIST}};
    top[0].v.s = vlist_make(a, VT_STRUCT, durs, ns);
    top[1].v.s = vlist_make(a, VT_STRUCT, sps, compact ? 0 : ns);
    out->d.s[r] = vstruct_make(a, sh[0], top);
}

bool agg_stateagg_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                        arena *a) {
    const struct agg_items *it = st->items;
    uint32_t n = it ? it->n : 0;
    struct srow *rows = arena_alloc(a, sizeof *rows * (n + 1));
    for (uint32_t k = 0; k < n; k++) rows[k] = (struct srow){(int64_t)st->vals[k], k};
    qsort(rows, n, sizeof *rows, cmp_srow);
    if (sp->param2 == SA_STRUCT) {
        state_struct(sp, it, rows, n, out, r, a);
        return true;
    }
    if (sp->param2 == SA_STATE_AT) {
        int64_t ts = sp->params[0].v.i;
        if (sp->params[0].null) return false;
        /* the transition in force at ts: the last at or before it, which must have an end */
        uint32_t k = 0;
        while (k < n && rows[k].t <= ts) k++;
        if (k == 0 || k == n) return false;
        vec_put(out, r, &it->v[rows[k - 1].k]);
        return true;
    }
    /* duration_in: time in the state, within [start, start + interval) when given */
    const value *want = &sp->params[0];
    if (want->null) return false;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    if (sp->nparams >= 2) {
        if (sp->params[1].null) return false;
        lo = sp->params[1].v.i;
    }
    if (sp->nparams >= 3) {
        if (sp->params[2].null) return false;
        const interval *iv = &sp->params[2].v.iv;
        int64_t span = (iv->nanos + (int64_t)iv->days * 86400000000000) / unit_ns(sp->arg->unit);
        hi = lo + span;
    }
    int64_t total = 0;
    for (uint32_t k = 0; k + 1 < n; k++) {
        const value *s = &it->v[rows[k].k];
        if (s->type != want->type || agg_value_cmp(s, want) != 0) continue;
        int64_t b = rows[k].t > lo ? rows[k].t : lo, e = rows[k + 1].t < hi ? rows[k + 1].t : hi;
        if (e > b) total += e - b;
    }
    interval_from_ns((__int128)total * unit_ns(sp->arg->unit), &out->d.iv[r]);
    return true;
}

/* The accessor's constant argument k cast to type (unit), folded into sp->params[k]. */
static int state_param(arena *a, bexpr *p, uint8_t type, uint8_t unit, value *out, err *er) {
    if (!bx_is_const(p))
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: a non-constant argument of a state "
                       "aggregate's accessor");
    if (p->type != VT_NULL && bx_cast(a, &p, type, unit, er) < 0) return -1;
    return bx_fold(a, p, out, er);
}

/* A compact_state_agg keeps no transition times, so what needs them (state_at, duration_in
 * over a range) is refused, in the words of CnosDB's analyzer (which names duration_in for
 * both). */
static int compact_refused(err *er) {
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Failed to do analyze. err: duration_in(state_agg, state, start_time, "
                   "interval) doesn't support compact_agg");
}

int agg_stateagg_bind(arena *a, const char *name, bexpr **args, uint32_t nargs, bexpr **params,
                      uint32_t nparams, agg_spec *sp, err *er) {
    if (nargs != 2)
        return func_plan_err(er, "The function \"%s\" does not accept %u function arguments.", name,
                             nargs);
    if (args[0]->type != VT_TS)
        return func_plan_err(er, "The first argument of %s must be a timestamp, not %s", name,
                             vtype_arrow_name(args[0]->type, args[0]->unit));
    sp->arg = args[0];
    sp->arg2 = args[1];
    sp->unit = 0;
    switch (sp->param2) {
    case SA_DURATION_IN:
        if (nparams > 1 && nparams <= 3 && sp->kind == AGG_COMPACT_STATE_AGG)
            return compact_refused(er);
        if (nparams < 1 || nparams > 3)
            return func_plan_err(er,
                                 "The function \"duration_in\" does not accept %u function "
                                 "arguments.",
                                 nparams + 1);
        sp->type = VT_INTERVAL;
        break;
    case SA_STATE_AT:
        if (sp->kind == AGG_COMPACT_STATE_AGG) return compact_refused(er);
        if (nparams != 1)
            return func_plan_err(er,
                                 "The function \"state_at\" does not accept %u function "
                                 "arguments.",
                                 nparams + 1);
        sp->type = args[1]->type;
        sp->unit = args[1]->unit;
        break;
    default: {
        uint8_t sh[4];
        if (!struct_shapes(args[0]->unit, args[1]->type, args[1]->unit, sh))
            return func_plan_err(er, "%s does not support states of type %s", name,
                                 vtype_arrow_name(args[1]->type, args[1]->unit));
        sp->type = VT_STRUCT;
        sp->unit = sh[0];
        return 0;
    }
    }
    sp->params = arena_alloc(a, sizeof *sp->params * (nparams + 1));
    sp->nparams = nparams;
    static const uint8_t duration_types[] = {0, VT_TS, VT_INTERVAL};
    for (uint32_t k = 0; k < nparams; k++) {
        uint8_t ty = sp->param2 == SA_STATE_AT ? VT_TS : k == 0 ? args[1]->type : duration_types[k];
        uint8_t un = ty == VT_TS ? args[0]->unit : ty == args[1]->type ? args[1]->unit : 0;
        if (state_param(a, params[k], ty, un, &sp->params[k], er) < 0) return -1;
    }
    return 0;
}
