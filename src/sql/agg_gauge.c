/* gauge_agg(time, value) and its accessors, CnosDB's two-step gauge aggregate.
 *
 * CnosDB builds a GaugeData struct {first, second, penultimate, last, num_elements} and reads it
 * with scalar accessors (delta, rate, idelta_left ...). The binder fuses
 * `accessor(gauge_agg(t, v))` into one aggregate (AGG_GAUGE, the accessor's code in
 * agg_spec.param2), so the usual form never builds the struct; a bare gauge_agg (param2 0)
 * yields it (util/vstruct.h), and an accessor over such a value from a subquery is a scalar
 * call reading its fields.
 *
 * State, per group: the two earliest and the two latest non-NULL points by time, whatever
 * the order rows arrive in, and their count; held in agg_state.vals as eight 64-bit words
 * (ts, value bits) for first, second, penultimate, last. With one point all four are that
 * point. Parts merge by inserting the other part's kept points, so the state stays four
 * points however large the group. Ties on time keep the earlier row as first and the later
 * one as last. */
#include "sql/func_int.h"
#include "sql/ops_int.h"

#include "format/format.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/vstruct.h"

#include <stdio.h>
#include <string.h>

enum { G_FIRST = 0, G_SECOND = 1, G_PEN = 2, G_LAST = 3 };

static const char *const accessors[] = {
    NULL,         "delta",     "time_delta", "rate",     "idelta_left",  "idelta_right",
    "first_time", "last_time", "first_val",  "last_val", "num_elements",
};
enum {
    GA_STRUCT = 0,
    GA_DELTA,
    GA_TIME_DELTA,
    GA_RATE,
    GA_IDELTA_LEFT,
    GA_IDELTA_RIGHT,
    GA_FIRST_TIME,
    GA_LAST_TIME,
    GA_FIRST_VAL,
    GA_LAST_VAL,
    GA_NUM_ELEMENTS,
    GA_N
};

int agg_gauge_accessor(const char *name) {
    for (int k = 1; k < GA_N; k++)
        if (!strcmp(name, accessors[k])) return k;
    return 0;
}

struct gpt {
    int64_t t;
    double v;
};

static struct gpt pt_get(const struct agg_state *st, int k) {
    struct gpt p = {(int64_t)st->vals[2 * k], 0};
    memcpy(&p.v, &st->vals[2 * k + 1], 8);
    return p;
}

static void pt_set(struct agg_state *st, int k, struct gpt p) {
    st->vals[2 * k] = (uint64_t)p.t;
    memcpy(&st->vals[2 * k + 1], &p.v, 8);
}

/* p joins the two earliest (lower) or the two latest (upper) points; n is how many points
 * that pair was chosen from before. Earlier rows win ties for first, later ones for last. */
static void lower_insert(struct agg_state *st, struct gpt p, int64_t n) {
    if (n == 0) {
        pt_set(st, G_FIRST, p);
        pt_set(st, G_SECOND, p);
        return;
    }
    struct gpt f = pt_get(st, G_FIRST), s = pt_get(st, G_SECOND);
    if (p.t < f.t) {
        pt_set(st, G_SECOND, f);
        pt_set(st, G_FIRST, p);
    } else if (n == 1 || p.t < s.t) {
        pt_set(st, G_SECOND, p);
    }
}

static void upper_insert(struct agg_state *st, struct gpt p, int64_t n) {
    if (n == 0) {
        pt_set(st, G_PEN, p);
        pt_set(st, G_LAST, p);
        return;
    }
    struct gpt l = pt_get(st, G_LAST), q = pt_get(st, G_PEN);
    if (p.t >= l.t) {
        pt_set(st, G_PEN, l);
        pt_set(st, G_LAST, p);
    } else if (n == 1 || p.t >= q.t) {
        pt_set(st, G_PEN, p);
    }
}

static void gauge_alloc(arena *a, struct agg_state *st) {
    if (st->vals) return;
    st->vals = arena_alloc(a, sizeof *st->vals * 8);
    st->nvals = st->capvals = 8;
}

void agg_gauge_add(arena *a, struct agg_state *st, const vec *t, const vec *x, uint32_t i) {
    if (t->type == VT_NULL || !vec_is_valid(t, i) || x->type == VT_NULL || !vec_is_valid(x, i))
        return;
    gauge_alloc(a, st);
    struct gpt p = {t->d.i64[i], agg_num_at(x, i)};
    lower_insert(st, p, st->count);
    upper_insert(st, p, st->count);
    st->count++;
}

void agg_gauge_merge(arena *a, struct agg_state *dst, const struct agg_state *src) {
    if (!src->count) return;
    gauge_alloc(a, dst);
    /* src's two earliest points are all of src that can be among the earliest two, its two
     * latest all that can be among the latest; a one-point src holds its point twice */
    int64_t n = dst->count;
    lower_insert(dst, pt_get(src, G_FIRST), n);
    if (src->count >= 2) lower_insert(dst, pt_get(src, G_SECOND), n + 1);
    if (src->count >= 2) upper_insert(dst, pt_get(src, G_PEN), n++);
    upper_insert(dst, pt_get(src, G_LAST), n);
    dst->count += src->count;
}

/* A count of the time column's units in nanoseconds. */
/* Nanoseconds per unit of a time column. */
static int64_t unit_ns(uint8_t unit) {
    return 1000000000 / tunit_per_sec((enum tunit)unit);
}

/* The shapes of a gauge for a time unit: the point {ts, val} and GaugeData {first, second,
 * penultimate, last, num_elements}; false when the registry is full. */
static bool gauge_shapes(uint8_t unit, uint8_t *top, uint8_t *point) {
    static const char *const pn[2] = {"ts", "val"};
    static const char *const tn[5] = {"first", "second", "penultimate", "last", "num_elements"};
    uint8_t pt[2] = {VT_TS, VT_F64}, pu[2] = {unit, 0};
    if (!(*point = vstruct_shape(2, pn, pt, pu, NULL))) return false;
    uint8_t tt[5] = {VT_STRUCT, VT_STRUCT, VT_STRUCT, VT_STRUCT, VT_U64};
    uint8_t tu[5] = {*point, *point, *point, *point, 0};
    return (*top = vstruct_shape(5, tn, tt, tu, NULL)) != 0;
}

/* Whether id is a GaugeData shape (a gauge_agg result read back from a subquery). */
static bool is_gauge_shape(uint8_t id) {
    const vshape *sh = vstruct_get(id);
    if (!sh || sh->n != 5 || strcmp(sh->names[0], "first") || strcmp(sh->names[3], "last") ||
        strcmp(sh->names[4], "num_elements") || sh->types[0] != VT_STRUCT)
        return false;
    const vshape *p = vstruct_get(sh->units[0]);
    return p && p->n == 2 && p->types[0] == VT_TS && p->types[1] == VT_F64;
}

static strv gauge_struct(arena *a, const struct gpt p[4], int64_t count, uint8_t unit) {
    uint8_t top, point;
    gauge_shapes(unit, &top, &point); /* made when the call was bound */
    value f[5], pf[2];
    for (int k = 0; k < 4; k++) {
        pf[0] = (value){.type = VT_TS, .unit = unit, .v.i = p[k].t};
        pf[1] = (value){.type = VT_F64, .v.f = p[k].v};
        f[k] = (value){.type = VT_STRUCT, .unit = point, .v.s = vstruct_make(a, point, pf)};
    }
    f[4] = (value){.type = VT_U64, .v.u = (uint64_t)count};
    return vstruct_make(a, top, f);
}

/* An accessor's value over the four points and the count into out's row r; false for NULL. */
static bool gauge_read(int code, const struct gpt p[4], uint64_t count, uint8_t unit, vec *out,
                       uint32_t r) {
    struct gpt f = p[G_FIRST], s = p[G_SECOND], q = p[G_PEN], l = p[G_LAST];
    switch (code) {
    case GA_DELTA:
        out->d.f64[r] = l.v - f.v;
        return true;
    case GA_TIME_DELTA: /* whole days, then the nanoseconds left, as last - first gives */
        interval_from_ns((__int128)(l.t - f.t) * unit_ns(unit), &out->d.iv[r]);
        return true;
    case GA_RATE: /* per unit of the time column; no time elapsed gives no rate */
        if (l.t == f.t) return false;
        out->d.f64[r] = (l.v - f.v) / (double)(l.t - f.t);
        return true;
    case GA_IDELTA_LEFT:
        out->d.f64[r] = s.v - f.v;
        return true;
    case GA_IDELTA_RIGHT:
        out->d.f64[r] = l.v - q.v;
        return true;
    case GA_FIRST_TIME:
        out->d.i64[r] = f.t;
        return true;
    case GA_LAST_TIME:
        out->d.i64[r] = l.t;
        return true;
    case GA_FIRST_VAL:
        out->d.f64[r] = f.v;
        return true;
    case GA_LAST_VAL:
        out->d.f64[r] = l.v;
        return true;
    default:
        out->d.u64[r] = count;
        return true;
    }
}

bool agg_gauge_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                     arena *a) {
    if (!st->count) return false;
    struct gpt p[4];
    for (int k = 0; k < 4; k++) p[k] = pt_get(st, k);
    uint8_t unit = sp->arg->unit;
    if (sp->param2 == GA_STRUCT) {
        out->d.s[r] = gauge_struct(a, p, st->count, unit);
        return true;
    }
    return gauge_read((int)sp->param2, p, (uint64_t)st->count, unit, out, r);
}

/* gauge_agg's signature lists each timestamp unit with Float64, as DataFusion lists a OneOf's
 * candidates; integers coerce to Float64, booleans and text do not. */
static int gauge_no_match(bexpr **args, err *er) {
    return func_plan_err(
        er,
        "No function matches the given name and argument types 'gauge_agg(%s, %s)'. You might "
        "need to add explicit type casts.\n\tCandidate functions:\n\tgauge_agg(Timestamp(Second, "
        "None), Float64)\n\tgauge_agg(Timestamp(Millisecond, None), Float64)\n\tgauge_agg("
        "Timestamp(Microsecond, None), Float64)\n\tgauge_agg(Timestamp(Nanosecond, None), "
        "Float64)",
        vtype_arrow_name(args[0]->type, args[0]->unit),
        vtype_arrow_name(args[1]->type, args[1]->unit));
}

int agg_gauge_bind(bexpr **args, uint32_t nargs, agg_spec *sp, err *er) {
    if (nargs != 2) /* a UDAF with a fixed signature: DataFusion's words for a wrong count */
        return func_plan_err(
            er, "The function \"gauge_agg\" does not accept %u function arguments.", nargs);
    uint8_t tt = args[0]->type, vt = args[1]->type;
    if (tt != VT_TS || (!vtype_numeric(vt) && vt != VT_NULL) || vt == VT_DEC128)
        return gauge_no_match(args, er);
    sp->arg = args[0];
    sp->arg2 = args[1];
    sp->unit = 0;
    switch (sp->param2) {
    case GA_STRUCT: {
        uint8_t point;
        if (!gauge_shapes(args[0]->unit, &sp->unit, &point))
            return func_plan_err(er, "too many distinct struct types");
        sp->type = VT_STRUCT;
        break;
    }
    case GA_TIME_DELTA:
        sp->type = VT_INTERVAL;
        break;
    case GA_FIRST_TIME:
    case GA_LAST_TIME:
        sp->type = VT_TS;
        sp->unit = args[0]->unit;
        break;
    case GA_NUM_ELEMENTS:
        sp->type = VT_U64;
        break;
    default:
        sp->type = VT_F64;
        break;
    }
    return 0;
}

/* DataFusion's ScalarValue debug name of a NULL of the type: what CnosDB's analyzer names when
 * an accessor is given something other than a gauge. */
static const char *scalar_null_name(const bexpr *x, char *tmp, size_t cap) {
    switch (x->type) {
    case VT_I64:
        return x->unit == NU_32 ? "Int32(NULL)" : "Int64(NULL)";
    case VT_U64:
        return "UInt64(NULL)";
    case VT_F64:
        return x->unit == NU_32 ? "Float32(NULL)" : "Float64(NULL)";
    case VT_BOOL:
        return "Boolean(NULL)";
    case VT_STR:
        return "Utf8(NULL)";
    case VT_TS: {
        static const char *const u[] = {"Nanosecond", "Microsecond", "Millisecond", "Second"};
        snprintf(tmp, cap, "Timestamp%s(NULL, %s)", u[x->unit & 3],
                 x->has_tz ? "Some(\"+00:00\")" : "None");
        return tmp;
    }
    case VT_NULL:
        return "NULL";
    default:
        snprintf(tmp, cap, "%s(NULL)", vtype_arrow_name(x->type, x->unit));
        return tmp;
    }
}

/* The four points of a GaugeData struct; false when one is NULL (not a gauge_agg result). */
static bool gauge_points(strv g, uint8_t shape, uint8_t point, struct gpt p[4]) {
    for (uint32_t k = 0; k < 4; k++) {
        value f, ts, v;
        vstruct_field(g, shape, k, &f);
        if (f.null) return false;
        vstruct_field(f.v.s, point, 0, &ts);
        vstruct_field(f.v.s, point, 1, &v);
        if (ts.null || v.null) return false;
        p[k] = (struct gpt){ts.v.i, v.v.f};
    }
    return true;
}

static int gauge_scalar_fn(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    (void)er;
    const vec *g = &args[0];
    uint8_t point = vstruct_get(g->unit)->units[0], unit = vstruct_get(point)->units[0];
    for (uint32_t r = 0; r < n; r++) {
        struct gpt p[4];
        value cnt;
        if (!vec_is_valid(g, r) || !gauge_points(g->d.s[r], g->unit, point, p)) {
            vec_set_null(a, out, r);
            continue;
        }
        vstruct_field(g->d.s[r], g->unit, 4, &cnt);
        if (cnt.null || !gauge_read((int)e->col, p, cnt.v.u, unit, out, r)) vec_set_null(a, out, r);
    }
    return 0;
}

int agg_gauge_accessor_scalar(arena *a, const char *name, uint32_t nargs, bexpr *arg, bexpr **out,
                              err *er) {
    if (nargs != 1)
        return func_plan_err(er, "The function \"%s\" expects 1 arguments, but %u were provided",
                             name, nargs);
    int code = agg_gauge_accessor(name);
    if (arg->type == VT_STRUCT && is_gauge_shape(arg->unit)) {
        agg_spec sp = {.param2 = code};
        bexpr *targs[2] = {
            bx_col(a, 0, VT_TS, vstruct_get(vstruct_get(arg->unit)->units[0])->units[0]),
            bx_col(a, 0, VT_F64, 0)};
        if (agg_gauge_bind(targs, 2, &sp, er) < 0) return -1;
        bexpr *r = bx_new(a, BX_FUNC, sp.type, 1);
        r->unit = sp.unit;
        r->args[0] = arg;
        r->col = (uint32_t)code;
        r->fn = gauge_scalar_fn;
        r->fname = accessors[code];
        *out = r;
        return 0;
    }
    char tmp[96];
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Failed to do analyze. err: Expected GaugeData, got %s",
                   scalar_null_name(arg, tmp, sizeof tmp));
}
