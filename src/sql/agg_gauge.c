/* gauge_agg(time, value) and its accessors, CnosDB's two-step gauge aggregate.
 *
 * CnosDB builds a GaugeData struct {first, second, penultimate, last, num_elements} and reads it
 * with scalar accessors (delta, rate, idelta_left ...). Strata has no struct values, so the
 * binder fuses `accessor(gauge_agg(t, v))` into one aggregate (AGG_GAUGE, the accessor's code
 * in agg_spec.param2); a bare gauge_agg (param2 0) yields the struct rendered as CnosDB prints
 * it, as text.
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
static int64_t unit_ns(uint8_t unit) {
    switch (unit) {
    case TU_S:
        return 1000000000;
    case TU_MS:
        return 1000000;
    case TU_US:
        return 1000;
    default:
        return 1;
    }
}

static void put_point(buf *b, const char *name, struct gpt p, uint8_t unit) {
    char tmp[64];
    size_t n = time_format(tmp, p.t, (enum tunit)unit, TSFMT_TRIM, false);
    buf_printf(b, "%s: {ts: %.*s, val: ", name, (int)n, tmp);
    n = fmt_double(tmp, p.v);
    buf_append(b, tmp, n);
    buf_puts(b, "}");
}

static strv gauge_text(arena *a, const struct agg_state *st, uint8_t unit) {
    static const char *const names[] = {"first", "second", "penultimate", "last"};
    buf b;
    buf_init(&b);
    buf_putc(&b, '{');
    for (int k = 0; k < 4; k++) {
        put_point(&b, names[k], pt_get(st, k), unit);
        buf_puts(&b, ", ");
    }
    buf_printf(&b, "num_elements: %lld}", (long long)st->count);
    strv s = {arena_strndup(a, b.p, (uint32_t)b.len), (uint32_t)b.len};
    buf_free(&b);
    return s;
}

bool agg_gauge_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                     arena *a) {
    if (!st->count) return false;
    struct gpt f = pt_get(st, G_FIRST), s = pt_get(st, G_SECOND), q = pt_get(st, G_PEN),
               l = pt_get(st, G_LAST);
    uint8_t unit = sp->arg->unit;
    switch (sp->param2) {
    case GA_STRUCT:
        out->d.s[r] = gauge_text(a, st, unit);
        return true;
    case GA_DELTA:
        out->d.f64[r] = l.v - f.v;
        return true;
    case GA_TIME_DELTA:
        out->d.iv[r] = (interval){0, 0, (l.t - f.t) * unit_ns(unit)};
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
        out->d.u64[r] = (uint64_t)st->count;
        return true;
    }
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
    if (nargs != 2)
        return func_plan_err(er,
                             "The function \"gauge_agg\" expects 2 arguments, but %u were "
                             "provided",
                             nargs);
    uint8_t tt = args[0]->type, vt = args[1]->type;
    if (tt != VT_TS || (!vtype_numeric(vt) && vt != VT_NULL) || vt == VT_DEC128)
        return gauge_no_match(args, er);
    sp->arg = args[0];
    sp->arg2 = args[1];
    sp->unit = 0;
    switch (sp->param2) {
    case GA_STRUCT:
        sp->type = VT_STR;
        break;
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

int agg_gauge_accessor_err(const char *name, uint32_t nargs, const bexpr *arg, err *er) {
    if (nargs != 1)
        return func_plan_err(er, "The function \"%s\" expects 1 arguments, but %u were provided",
                             name, nargs);
    char tmp[96];
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Failed to do analyze. err: Expected GaugeData, got %s",
                   scalar_null_name(arg, tmp, sizeof tmp));
}
