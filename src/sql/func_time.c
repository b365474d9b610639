/* Time functions (DataFusion 27's signatures, CnosDB's units): see func_int.h. */
#include "sql/func_int.h"

#include "util/timeutil.h"

#include <string.h>
#include <strings.h>

static int fn_const_ts(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    for (uint32_t i = 0; i < n; i++) out->d.i64[i] = e->cval.v.i;
    return 0;
}

/* A time computation past the int64 range of its unit: an error, never a wrapped date. */
static int ts_overflow(err *er, const char *what) {
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Arrow error: Compute error: Overflow happened on: %s (the result is outside "
                   "the timestamp range)",
                   what);
}

/* The stride of a date_bin interval in the result's unit; -1 with the error when it has months,
 * overflows or is not positive. */
static int date_bin_stride(interval iv, int64_t per_ns, int64_t *stride, err *er) {
    if (iv.months && (iv.days || iv.nanos))
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Execution error: DATE_BIN stride does not support combination of "
                       "month, day and nanosecond intervals");
    if (iv.months) { /* calendar months: date_bin_months */
        *stride = 0;
        return 0;
    }
    int64_t s;
    if (__builtin_mul_overflow((int64_t)iv.days, 86400000000000LL, &s) ||
        __builtin_add_overflow(s, iv.nanos, &s))
        return ts_overflow(er, "date_bin stride");
    s /= per_ns;
    if (s == 0)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Execution error: DATE_BIN stride must be non-zero");
    /* a negative stride bins as its magnitude (DataFusion's rem_euclid) */
    *stride = s < 0 ? -s : s;
    return 0;
}

/* The (year * 12 + month - 1) of a timestamp in unit u. */
static int64_t month_index(int64_t t, enum tunit u) {
    int64_t per_day = 86400LL * tunit_per_sec(u), days, tod, y;
    unsigned m, d;
    time_floor_divmod(t, per_day, &days, &tod);
    civil_from_days(days, &y, &m, &d);
    return y * 12 + (int64_t)m - 1;
}

/* date_bin with a stride of whole months (DataFusion 27): the origin moved by the multiple of
 * the stride that reaches t's month (calendar months, the day clamped to the month's end),
 * one stride back when that lands after t (an origin later in its month than t). false when
 * the result leaves the timestamp range. */
static bool date_bin_months(int64_t months, int64_t t, int64_t origin, enum tunit u,
                            int64_t *out) {
    if (months < 0) months = -months;
    int64_t diff = month_index(t, u) - month_index(origin, u);
    int64_t delta = diff - ((diff % months) + months) % months;
    for (int k = 0; k < 2; k++, delta -= months) {
        if (delta > INT32_MAX || delta < INT32_MIN) return false;
        interval iv = {(int32_t)delta, 0, 0};
        if (!time_add_interval(origin, u, iv, 1, out)) return false;
        if (*out <= t) return true;
    }
    return true;
}

/* date_bin(stride, ts[, origin]): floor(ts - origin, stride) + origin.
 * Rows come in time order within a series, so the bucket of one row usually holds the next:
 * the current bucket [lo, hi] is kept and a row inside it costs two comparisons; the division
 * (in 128 bits: ts - origin spans up to 2^64 and a bucket may start below the range) runs only
 * where a new bucket starts or the stride or origin changes. */
static int fn_date_bin(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    int64_t per_ns = 1000000000 / tunit_per_sec((enum tunit)e->unit);
    interval civ = {0};
    bool have = false;
    int64_t stride = 1, origin = 0, lo = 1, hi = 0; /* lo > hi: no current bucket */
    /* A constant stride and origin (the usual `date_bin(INTERVAL '1 minute', time)`) without
     * NULLs: the per-row checks of both go. A non-NULL constant is read from the expression:
     * the evaluator does not broadcast it (e->scalar_args). */
    bool c0 = bx_scalar_const(e, 0), c2 = e->nargs > 2 && bx_scalar_const(e, 2);
    bool fixed = c0 && (e->nargs < 3 || c2);
    const int64_t *ts = args[1].d.i64;
    for (uint32_t i = 0; i < n; i++) {
        if (args[1].valid && !vec_is_valid(&args[1], i)) {
            vec_set_null(a, out, i);
            continue;
        }
        if (!have || !fixed) {
            if ((!c0 && !vec_is_valid(&args[0], i)) ||
                (e->nargs > 2 && !c2 && !vec_is_valid(&args[2], i))) {
                vec_set_null(a, out, i);
                continue;
            }
            interval iv = c0 ? e->args[0]->cval.v.iv : args[0].d.iv[i];
            int64_t org = e->nargs < 3 ? 0 : c2 ? e->args[2]->cval.v.i : args[2].d.i64[i];
            if (!have || iv.months != civ.months || iv.days != civ.days || iv.nanos != civ.nanos ||
                org != origin) {
                if (date_bin_stride(iv, per_ns, &stride, er) < 0) return -1;
                civ = iv;
                origin = org;
                have = true;
                lo = 1;
                hi = 0;
            }
        }
        int64_t t = ts[i];
        if (t >= lo && t <= hi) {
            out->d.i64[i] = lo;
            continue;
        }
        if (!stride) { /* months */
            if (!date_bin_months(civ.months, t, origin, (enum tunit)e->unit, &out->d.i64[i]))
                return ts_overflow(er, "date_bin");
            continue;
        }
        int64_t d64;
        __int128 r;
        if (!__builtin_sub_overflow(t, origin, &d64)) {
            int64_t q = d64 / stride;
            if (d64 % stride < 0) q--;
            r = (__int128)q * stride + origin;
        } else {
            __int128 diff = (__int128)t - origin;
            __int128 q = diff / stride;
            if (diff % stride < 0) q--;
            r = q * stride + origin;
        }
        if (r < INT64_MIN || r > INT64_MAX) return ts_overflow(er, "date_bin");
        __int128 end = r + stride - 1;
        lo = (int64_t)r;
        hi = end > INT64_MAX ? INT64_MAX : (int64_t)end;
        out->d.i64[i] = lo;
    }
    return 0;
}

enum {
    DT_YEAR = 1,
    DT_QUARTER,
    DT_MONTH,
    DT_WEEK,
    DT_DAY,
    DT_HOUR,
    DT_MINUTE,
    DT_SECOND,
    DT_MILLI,
    DT_MICRO,
    DT_NANO,
    DT_DOW,
    DT_DOY,
    DT_EPOCH
};

static int date_field(strv s) {
    static const struct {
        const char *n;
        int f;
    } fields[] = {{"year", DT_YEAR},         {"quarter", DT_QUARTER}, {"month", DT_MONTH},
                  {"week", DT_WEEK},         {"day", DT_DAY},         {"hour", DT_HOUR},
                  {"minute", DT_MINUTE},     {"second", DT_SECOND},   {"millisecond", DT_MILLI},
                  {"microsecond", DT_MICRO}, {"nanosecond", DT_NANO}, {"dow", DT_DOW},
                  {"doy", DT_DOY},           {"epoch", DT_EPOCH}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strlen(fields[i].n) == s.len && !strncasecmp(fields[i].n, s.p, s.len))
            return fields[i].f;
    return 0;
}

static int fn_date_trunc(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    enum tunit u = (enum tunit)e->unit;
    int64_t per_sec = tunit_per_sec(u);
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        int f = date_field(args[0].d.s[i]);
        int64_t t = args[1].d.i64[i];
        int64_t days, tod, y, rem;
        unsigned m, d;
        time_floor_divmod(t, per_sec * 86400, &days, &tod);
        civil_from_days(days, &y, &m, &d);
        int64_t r = 0;
        bool ok = true;
        switch (f) {
        case DT_YEAR:
            ok = time_from_days(days_from_civil(y, 1, 1), 0, u, &r);
            break;
        case DT_QUARTER:
            ok = time_from_days(days_from_civil(y, (m - 1) / 3 * 3 + 1, 1), 0, u, &r);
            break;
        case DT_MONTH:
            ok = time_from_days(days_from_civil(y, m, 1), 0, u, &r);
            break;
        case DT_WEEK: {
            int64_t dow = ((days % 7) + 7 + 3) % 7; /* Monday = 0; 1970-01-01 was a Thursday */
            ok = time_from_days(days - dow, 0, u, &r);
            break;
        }
        case DT_DAY:
            ok = time_from_days(days, 0, u, &r);
            break;
        case DT_HOUR:
            ok = time_from_days(days, tod - tod % (per_sec * 3600), u, &r);
            break;
        case DT_MINUTE:
            ok = time_from_days(days, tod - tod % (per_sec * 60), u, &r);
            break;
        case DT_SECOND:
            ok = time_from_days(days, tod - tod % per_sec, u, &r);
            break;
        case DT_MILLI:
        case DT_MICRO: {
            int64_t per_part = f == DT_MILLI ? 1000 : 1000000;
            r = t;
            if (per_sec > per_part) {
                int64_t q;
                time_floor_divmod(t, per_sec / per_part, &q, &rem);
                ok = !__builtin_sub_overflow(t, rem, &r);
            }
            break;
        }
        default:
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Execution error: Unsupported date_trunc granularity: %.*s",
                           (int)args[0].d.s[i].len, args[0].d.s[i].p);
        }
        if (!ok) return ts_overflow(er, "date_trunc");
        out->d.i64[i] = r;
    }
    return 0;
}

static int fn_date_part(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    uint8_t unit = args[1].unit;
    int64_t per_sec = tunit_per_sec((enum tunit)unit);
    for (uint32_t i = 0; i < n; i++) {
        if (!func_row_valid(a, args, 2, i, out)) continue;
        int f = date_field(args[0].d.s[i]);
        int64_t t = args[1].d.i64[i];
        int64_t days, tod, y;
        unsigned m, d;
        time_floor_divmod(t, per_sec * 86400, &days, &tod);
        civil_from_days(days, &y, &m, &d);
        double r;
        switch (f) {
        case DT_YEAR:
            r = (double)y;
            break;
        case DT_QUARTER:
            r = (m - 1) / 3 + 1;
            break;
        case DT_MONTH:
            r = m;
            break;
        case DT_DAY:
            r = d;
            break;
        case DT_HOUR:
            r = (double)(tod / (per_sec * 3600));
            break;
        case DT_MINUTE:
            r = (double)(tod / (per_sec * 60) % 60);
            break;
        case DT_SECOND:
            r = (double)(tod % (per_sec * 60)) / (double)per_sec;
            break;
        case DT_MILLI:
            r = (double)(tod % (per_sec * 60)) * 1000.0 / (double)per_sec;
            break;
        case DT_MICRO:
            r = (double)(tod % (per_sec * 60)) * 1e6 / (double)per_sec;
            break;
        case DT_NANO:
            r = (double)(tod % (per_sec * 60)) * 1e9 / (double)per_sec;
            break;
        case DT_DOW:
            r = (double)(((days % 7) + 7 + 4) % 7);
            break; /* Sunday = 0 */
        case DT_DOY:
            r = (double)(days - days_from_civil(y, 1, 1) + 1);
            break;
        case DT_EPOCH:
            r = (double)t / (double)per_sec;
            break;
        case DT_WEEK: {
            /* ISO week number. */
            int64_t dow = ((days % 7) + 7 + 3) % 7;
            int64_t thursday = days - dow + 3;
            int64_t ty;
            unsigned tm_, td;
            civil_from_days(thursday, &ty, &tm_, &td);
            r = (double)((thursday - days_from_civil(ty, 1, 1)) / 7 + 1);
            break;
        }
        default:
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Execution error: Date part '%.*s' not supported",
                           (int)args[0].d.s[i].len, args[0].d.s[i].p);
        }
        out->d.f64[i] = r;
    }
    return 0;
}

static int fn_to_ts(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    /* args[0] already cast: strings parsed to ns; integers in the function's input unit. */
    int64_t in_unit = (int64_t)(intptr_t)e->aux; /* input unit per second, 0 = string */
    enum tunit u = (enum tunit)e->unit;
    int64_t per = tunit_per_sec(u);
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[0], i)) {
            vec_set_null(a, out, i);
            continue;
        }
        int64_t *r = &out->d.i64[i];
        bool ok = true;
        if (args[0].type == VT_STR) {
            int64_t ns;
            strv s = args[0].d.s[i];
            if (!time_parse_ts(s.p, s.len, &ns)) return bx_ts_parse_err(er, s.p, s.len);
            ok = tunit_convert(ns, TU_NS, u, r);
        } else if (args[0].type == VT_TS) {
            ok = tunit_convert(args[0].d.i64[i], (enum tunit)args[0].unit, u, r);
        } else if (per >= in_unit) {
            ok = !__builtin_mul_overflow(args[0].d.i64[i], per / in_unit, r);
        } else {
            int64_t rem;
            time_floor_divmod(args[0].d.i64[i], in_unit / per, r, &rem);
        }
        if (!ok) {
            *r = 0;
            return ts_overflow(er, e->fname);
        }
    }
    return 0;
}

static int bind_now(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    bexpr *e = func_call(c->a, c->def, fn_const_ts, VT_TS, TU_NS, args, 0, NULL);
    e->fname = "now";
    e->cval.v.i = c->now_ns;
    e->has_tz = true;
    *out = e;
    return 0;
}

/* current_date() and current_time(): the statement's day (UTC), a DATE, or its time of day, a
 * Time64(Nanosecond). */
static int bind_clock(const fn_ctx *c, bexpr **args, uint8_t type, bexpr **out) {
    int64_t day, ns;
    time_floor_divmod(c->now_ns, 86400000000000LL, &day, &ns);
    bexpr *e = func_call(c->a, c->def, fn_const_ts, type, 0, args, 0, NULL);
    e->cval.v.i = type == VT_DATE ? day : ns;
    *out = e;
    return 0;
}
static int bind_current_date(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    return bind_clock(c, args, VT_DATE, out);
}
static int bind_current_time(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    return bind_clock(c, args, VT_TIME64, out);
}

/* The unit a time argument keeps: its own when it is a timestamp (an ms database's time column
 * stays in ms), nanoseconds otherwise (a string or NULL cast to a timestamp). */
static uint8_t ts_unit(const bexpr *x) {
    return x->type == VT_TS ? x->unit : TU_NS;
}

static int bind_date_bin(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    arena *a = c->a;
    if (bx_cast(a, &args[0], VT_INTERVAL, 0, er) < 0) return -1;
    uint8_t unit = ts_unit(args[1]);
    if (bx_cast(a, &args[1], VT_TS, unit, er) < 0) return -1;
    if (nargs > 2 && bx_cast(a, &args[2], VT_TS, unit, er) < 0) return -1;
    *out = func_call(a, c->def, fn_date_bin, VT_TS, unit, args, nargs, NULL);
    (*out)->scalar_args = 1u << 0 | 1u << 2; /* the stride and the origin */
    return 0;
}

/* time_window_gapfill(time, width[, slide][, origin]): the bucket is date_bin(width, time
 * [, origin]); the gap filling itself is the planner's (plan_gapfill.c), which finds the call
 * by name among the GROUP BY keys. A sliding one is bound here over the window column that
 * plan_twindow.c adds (its start, bucketed by the slide); one it did not take (outside a
 * SELECT's items and GROUP BY) is refused rather than answered wrong. */
static int bind_time_window_gapfill(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out,
                                    err *er) {
    if (nargs < 2 || nargs > 4)
        return func_plan_err(er, "time_window_gapfill expects 2 to 4 arguments, got %u", nargs);
    bexpr **db = arena_alloc(c->a, sizeof *db * 3);
    uint32_t n = 2;
    db[0] = args[1];
    db[1] = args[0];
    uint32_t next = 2;
    if (nargs > next && args[next]->type == VT_INTERVAL) {
        value w, sl;
        err fe;
        if (bx_cast(c->a, &args[1], VT_INTERVAL, 0, er) < 0) return -1;
        db[0] = args[1];
        if (!bx_is_const(args[1]) || !bx_is_const(args[next]) ||
            bx_fold(c->a, args[1], &w, &fe) < 0 || bx_fold(c->a, args[next], &sl, &fe) < 0 ||
            w.null || sl.null || memcmp(&w.v.iv, &sl.v.iv, sizeof(interval)) != 0)
            return func_plan_err(er, "time_window_gapfill with a slide different from the "
                                     "width is not supported");
        next++;
    }
    if (nargs > next) db[n++] = args[next++];
    if (nargs > next)
        return func_plan_err(er, "time_window_gapfill: unexpected argument %u", next + 1);
    return bind_date_bin(c, db, n, out, er);
}

/* locf(agg) and interpolate(agg) pass their argument through: the filling is done on the
 * aggregate's output by the gap filler, which recognises the calls by name. */
static int fn_gap_mark(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    (void)e, (void)n, (void)a, (void)er;
    *out = args[0];
    return 0;
}

static int bind_gap_mark(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    (void)er;
    *out = func_call(c->a, c->def, fn_gap_mark, args[0]->type, args[0]->unit, args, nargs, NULL);
    (*out)->has_tz = args[0]->has_tz;
    return 0;
}

/* (text, time) calls: the text as is, the time in its own unit; type TS means the time's. */
static int bind_field_time(const fn_ctx *c, bexpr **args, uint32_t nargs, scalar_fn fn,
                           uint8_t type, const char *name, bexpr **out, err *er) {
    uint8_t unit = ts_unit(args[1]);
    if (bx_cast(c->a, &args[0], VT_STR, 0, er) < 0 || bx_cast(c->a, &args[1], VT_TS, unit, er) < 0)
        return -1;
    *out = func_call(c->a, c->def, fn, type, type == VT_TS ? unit : 0, args, nargs, NULL);
    (*out)->fname = name;
    return 0;
}

static int bind_date_trunc(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    return bind_field_time(c, args, nargs, fn_date_trunc, VT_TS, "date_trunc", out, er);
}

static int bind_date_part(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    return bind_field_time(c, args, nargs, fn_date_part, VT_F64, "date_part", out, er);
}

/* to_timestamp and its variants: the result unit and how many input units make a second. */
struct to_ts {
    uint8_t unit;
    int64_t in_per_sec;
};

static int bind_to_ts(const fn_ctx *c, bexpr **args, uint32_t nargs, bexpr **out, err *er) {
    const struct to_ts *v = c->def->aux;
    uint8_t t = args[0]->type;
    /* DataFusion 27's physical planner has no kernel for an unsigned argument (CnosDB's
     * sqlancer/function.slt: to_timestamp_seconds(APPROX_DISTINCT(...))); a constant one
     * fails as simplify_expressions evaluates it */
    if (t == VT_U64 && !strncmp(c->def->name, "to_timestamp", 12))
        return err_set(
            er, 422, EC_QUERY_INTERNAL,
            "%sInternal error: Unsupported data type Ok(UInt64) for function %s" DF_BUG_TAIL,
            bx_is_const(args[0]) ? "" : "Execute logical plan: Datafusion: ", c->def->name);
    if ((t == VT_U64 || t == VT_BOOL) && bx_cast(c->a, &args[0], VT_I64, 0, er) < 0) return -1;
    /* a DOUBLE matches the Utf8 candidate: DataFusion 27 parses its text as a timestamp
     * (to_timestamp_seconds(1672539600.987654) fails to parse), so does Strata */
    if (t == VT_F64 && bx_cast(c->a, &args[0], VT_STR, 0, er) < 0) return -1;
    if (t == VT_INTERVAL)
        return func_plan_err(er, "The function %s does not accept this argument type",
                             c->def->name);
    /* Integers are read in the function's own unit: to_timestamp(3261280258043984262) is
     * 2073-05-06T07:10:58.043984262 in CnosDB (its sqlancer/function.slt), so nanoseconds,
     * and no integer input can leave the range. */
    *out = func_call(c->a, c->def, fn_to_ts, VT_TS, v->unit, args, nargs,
                     (void *)(intptr_t)v->in_per_sec);
    return 0;
}

#define DATE_PART_SIG                                                                              \
    SIG_ONEOF(SIG_EX(DT_UTF8, DT_DATE32), SIG_EX(DT_UTF8, DT_DATE64), SIG_EX(DT_UTF8, DT_TS_S),    \
              SIG_EX(DT_UTF8, DT_TS_US), SIG_EX(DT_UTF8, DT_TS_MS), SIG_EX(DT_UTF8, DT_TS_NS),     \
              SIG_EX(DT_UTF8, DT_TS_NS_UTC))
#define DATE_BIN_SIG                                                                               \
    SIG_ONEOF(SIG_EX(DT_INTERVAL, DT_TS_NS, DT_TS_NS), SIG_EX(DT_INTERVAL, DT_TS_NS))
#define TO_TS(nm, u, per)                                                                          \
    {                                                                                              \
        .name = nm, .sig = SIG_UNI(1, DT_I64, DT_TS_NS, DT_TS_US, DT_TS_MS, DT_TS_S, DT_UTF8),     \
        .aux = &(const struct to_ts){u, per}, .bind = bind_to_ts, .raw_args = true                 \
    }

const fn_def func_time_defs[] = {
    {.name = "now", .sig = SIG_EX0, .bind = bind_now},
    {.name = "current_timestamp", .sig = SIG_EX0, .bind = bind_now},
    {.name = "current_date", .sig = SIG_EX0, .bind = bind_current_date},
    {.name = "current_time", .sig = SIG_EX0, .bind = bind_current_time},
    {.name = "date_bin", .sig = DATE_BIN_SIG, .bind = bind_date_bin, .raw_args = true},
    {.name = "date_trunc",
     .sig = SIG_EX(DT_UTF8, DT_TS_NS),
     .bind = bind_date_trunc,
     .raw_args = true},
    {.name = "datetrunc",
     .sig = SIG_EX(DT_UTF8, DT_TS_NS),
     .bind = bind_date_trunc,
     .raw_args = true,
     .display = "date_trunc"},
    {.name = "date_part", .sig = DATE_PART_SIG, .bind = bind_date_part, .raw_args = true},
    {.name = "datepart",
     .sig = DATE_PART_SIG,
     .bind = bind_date_part,
     .raw_args = true,
     .display = "date_part"},
    TO_TS("to_timestamp", TU_NS, 1000000000),
    TO_TS("to_timestamp_seconds", TU_S, 1),
    TO_TS("to_timestamp_millis", TU_MS, 1000),
    TO_TS("to_timestamp_micros", TU_US, 1000000),
    TO_TS("to_timestamp_nanos", TU_NS, 1000000000),
    {.name = "from_unixtime",
     .sig = SIG_UNI(1, DT_I64),
     .aux = &(const struct to_ts){TU_S, 1},
     .bind = bind_to_ts,
     .raw_args = true},
    {.name = "date_bin_gapfill", .sig = DATE_BIN_SIG, .bind = bind_date_bin, .raw_args = true},
    {.name = "time_window_gapfill",
     .sig = SIG_VAR_ANY,
     .bind = bind_time_window_gapfill,
     .raw_args = true},
    {.name = "locf", .sig = SIG_ANYN(1), .bind = bind_gap_mark, .raw_args = true},
    {.name = "interpolate", .sig = SIG_ANYN(1), .bind = bind_gap_mark, .raw_args = true},
    {.name = NULL},
};
