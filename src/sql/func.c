/* Scalar functions and the aggregate catalogue: see func.h. */
#include "sql/func.h"

#include "util/timeutil.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ helpers */

static int arg_count(const char *name, uint32_t n, uint32_t lo, uint32_t hi, err *er) {
    if (n < lo || n > hi)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Datafusion: Error during planning: The function %s expects %u%s%u "
                       "arguments, got %u",
                       name, lo, lo == hi ? "" : " to ", lo == hi ? 0 : hi, n);
    return 0;
}

static void copy_valid(arena *a, vec *out, const vec *in, uint32_t n) {
    (void)a;
    (void)n;
    out->valid = in->valid;
}

/* ------------------------------------------------------------------ math */

typedef double (*f64_op)(double);

/* NaN stays NaN, as in DataFusion: a sign of "not a number" is not zero. */
static double f_sign(double x) {
    return x > 0 ? 1 : x < 0 ? -1 : x == 0 ? 0 : x;
}
static double f_round(double x) {
    return round(x);
}

static int fn_math1(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    f64_op op = (f64_op)e->aux;
    copy_valid(a, out, &args[0], n);
    for (uint32_t i = 0; i < n; i++) out->d.f64[i] = op(args[0].d.f64[i]);
    return 0;
}

static int fn_abs(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    copy_valid(a, out, &args[0], n);
    switch (e->type) {
    case VT_F64:
        for (uint32_t i = 0; i < n; i++) out->d.f64[i] = fabs(args[0].d.f64[i]);
        break;
    case VT_I64:
        for (uint32_t i = 0; i < n; i++) {
            int64_t v = args[0].d.i64[i];
            out->d.i64[i] = v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
        }
        break;
    case VT_U64:
        for (uint32_t i = 0; i < n; i++) out->d.u64[i] = args[0].d.u64[i];
        break;
    }
    return 0;
}

static int fn_pow(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[0], i) || !vec_is_valid(&args[1], i)) {
            vec_set_null(a, out, i);
            continue;
        }
        out->d.f64[i] = pow(args[0].d.f64[i], args[1].d.f64[i]);
    }
    return 0;
}

static int fn_log(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    /* log(x) is base 10; log(b, x) takes the base first. */
    for (uint32_t i = 0; i < n; i++) {
        bool ok = vec_is_valid(&args[0], i) && (e->nargs < 2 || vec_is_valid(&args[1], i));
        if (!ok) {
            vec_set_null(a, out, i);
            continue;
        }
        out->d.f64[i] =
            e->nargs == 1 ? log10(args[0].d.f64[i]) : log(args[1].d.f64[i]) / log(args[0].d.f64[i]);
    }
    return 0;
}

static int fn_round2(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[0], i) || (e->nargs > 1 && !vec_is_valid(&args[1], i))) {
            vec_set_null(a, out, i);
            continue;
        }
        double x = args[0].d.f64[i];
        int64_t d = e->nargs > 1 ? args[1].d.i64[i] : 0;
        double m = pow(10.0, (double)d);
        bool trunc_ = e->aux != NULL;
        out->d.f64[i] = trunc_ ? trunc(x * m) / m : round(x * m) / m;
    }
    return 0;
}

/* ------------------------------------------------------------------ strings */

static size_t utf8_len(strv s) {
    size_t n = 0;
    for (uint32_t i = 0; i < s.len; i++) n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

static int fn_length(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    copy_valid(a, out, &args[0], n);
    for (uint32_t i = 0; i < n; i++)
        out->d.i64[i] = vec_is_valid(&args[0], i) ? (int64_t)utf8_len(args[0].d.s[i]) : 0;
    return 0;
}

static int fn_case(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    bool upper = e->aux != NULL;
    copy_valid(a, out, &args[0], n);
    for (uint32_t i = 0; i < n; i++) {
        strv s = vec_is_valid(&args[0], i) ? args[0].d.s[i] : (strv){"", 0};
        char *p = arena_alloc(a, s.len + 1);
        for (uint32_t k = 0; k < s.len; k++)
            p[k] = (char)(upper ? toupper((unsigned char)s.p[k]) : tolower((unsigned char)s.p[k]));
        out->d.s[i] = (strv){p, s.len};
    }
    return 0;
}

static int fn_concat(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    /* concat skips NULL arguments (PostgreSQL/DataFusion). */
    for (uint32_t i = 0; i < n; i++) {
        size_t len = 0;
        for (uint32_t k = 0; k < e->nargs; k++)
            if (args[k].type != VT_NULL && vec_is_valid(&args[k], i)) len += args[k].d.s[i].len;
        if (str_len_check(len, er) < 0) return -1;
        char *p = arena_alloc(a, len + 1);
        size_t at = 0;
        for (uint32_t k = 0; k < e->nargs; k++)
            if (args[k].type != VT_NULL && vec_is_valid(&args[k], i)) {
                memcpy(p + at, args[k].d.s[i].p, args[k].d.s[i].len);
                at += args[k].d.s[i].len;
            }
        out->d.s[i] = (strv){p, (uint32_t)len};
    }
    return 0;
}

static int fn_starts_with(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    out->valid = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!vec_is_valid(&args[0], i) || !vec_is_valid(&args[1], i)) {
            vec_set_null(a, out, i);
            continue;
        }
        strv s = args[0].d.s[i], p = args[1].d.s[i];
        bool ends = e->aux != NULL;
        out->d.b[i] = p.len <= s.len && !memcmp(ends ? s.p + s.len - p.len : s.p, p.p, p.len);
    }
    return 0;
}

/* ------------------------------------------------------------------ conditional */

static int fn_coalesce(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    size_t sz = vtype_size(e->type);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k;
        for (k = 0; k < e->nargs; k++)
            if (args[k].type != VT_NULL && vec_is_valid(&args[k], i)) break;
        if (k == e->nargs) {
            vec_set_null(a, out, i);
        } else {
            memcpy((char *)out->d.raw + sz * i, (char *)args[k].d.raw + sz * i, sz);
        }
    }
    return 0;
}

static int fn_nullif(const bexpr *e, vec *args, uint32_t n, arena *a, vec *out, err *er) {
    size_t sz = vtype_size(e->type);
    for (uint32_t i = 0; i < n; i++) {
        value x, y;
        vec_get(&args[0], i, &x);
        vec_get(&args[1], i, &y);
        memcpy((char *)out->d.raw + sz * i, (char *)args[0].d.raw + sz * i, sz);
        bool eq = !x.null && !y.null &&
                  !memcmp((char *)args[0].d.raw + sz * i, (char *)args[1].d.raw + sz * i, sz);
        if (e->type == VT_STR && !x.null && !y.null)
            eq = x.v.s.len == y.v.s.len && !memcmp(x.v.s.p, y.v.s.p, x.v.s.len);
        if (x.null || eq) vec_set_null(a, out, i);
    }
    return 0;
}

/* ------------------------------------------------------------------ time */

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
    if (iv.months)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Execution error: DATE_BIN stride does not support combination of "
                       "month, day and nanosecond intervals");
    int64_t s;
    if (__builtin_mul_overflow((int64_t)iv.days, 86400000000000LL, &s) ||
        __builtin_add_overflow(s, iv.nanos, &s))
        return ts_overflow(er, "date_bin stride");
    s /= per_ns;
    if (s <= 0)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Execution error: DATE_BIN stride must be non-zero");
    *stride = s;
    return 0;
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
        if (!vec_is_valid(&args[0], i) || !vec_is_valid(&args[1], i)) {
            vec_set_null(a, out, i);
            continue;
        }
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
        if (!vec_is_valid(&args[0], i) || !vec_is_valid(&args[1], i)) {
            vec_set_null(a, out, i);
            continue;
        }
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
    /* a float is seconds for to_timestamp, the function's unit for the others */
    double float_unit = !strcmp(e->fname, "to_timestamp") ? 1.0 : (double)in_unit;
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
            if (!time_parse_ts(s.p, s.len, &ns))
                return err_set(er, 422, EC_QUERY_INTERNAL,
                               "Arrow error: Parser error: Error parsing timestamp from '%.*s'",
                               (int)s.len, s.p);
            ok = tunit_convert(ns, TU_NS, u, r);
        } else if (args[0].type == VT_F64) {
            double x = args[0].d.f64[i] * (double)per / float_unit;
            /* NaN, infinities and values past int64 have no timestamp */
            ok = x >= -9223372036854775808.0 && x < 9223372036854775808.0;
            if (ok) *r = (int64_t)x;
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

/* ------------------------------------------------------------------ binding */

static int want_num(arena *a, bexpr **arg, err *er) {
    if ((*arg)->type == VT_NULL || vtype_numeric((*arg)->type)) return 0;
    return bx_cast(a, arg, VT_F64, 0, er);
}

static bexpr *mkcall(arena *a, const char *name, scalar_fn fn, uint8_t type, uint8_t unit,
                     bexpr **args, uint32_t nargs, void *aux) {
    bexpr *e = bx_new(a, BX_FUNC, type, nargs);
    e->fn = fn;
    e->unit = unit;
    e->fname = name;
    e->aux = aux;
    for (uint32_t i = 0; i < nargs; i++) e->args[i] = args[i];
    return e;
}

static int unknown_fn(const char *name, err *er) {
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Datafusion: Error during planning: Invalid function '%s'.", name);
}

int func_bind(arena *a, const char *name, bexpr **args, uint32_t nargs, int64_t now_ns, bexpr **out,
              err *er) {
    static const struct {
        const char *name;
        f64_op op;
    } math1[] = {{"sqrt", sqrt}, {"ln", log},        {"log10", log10}, {"log2", log2},
                 {"exp", exp},   {"ceil", ceil},     {"floor", floor}, {"sin", sin},
                 {"cos", cos},   {"tan", tan},       {"asin", asin},   {"acos", acos},
                 {"atan", atan}, {"signum", f_sign}, {"sign", f_sign}, {"cbrt", cbrt}};
    for (size_t i = 0; i < sizeof math1 / sizeof math1[0]; i++) {
        if (strcmp(name, math1[i].name) != 0) continue;
        if (arg_count(name, nargs, 1, 1, er) < 0) return -1;
        if (bx_cast(a, &args[0], VT_F64, 0, er) < 0) return -1;
        *out = mkcall(a, math1[i].name, fn_math1, VT_F64, 0, args, 1, (void *)math1[i].op);
        return 0;
    }
    if (!strcmp(name, "abs")) {
        if (arg_count(name, nargs, 1, 1, er) < 0 || want_num(a, &args[0], er) < 0) return -1;
        uint8_t t = args[0]->type == VT_NULL ? VT_F64 : args[0]->type;
        if (bx_cast(a, &args[0], t, 0, er) < 0) return -1;
        *out = mkcall(a, "abs", fn_abs, t, 0, args, 1, NULL);
        return 0;
    }
    if (!strcmp(name, "round") || !strcmp(name, "trunc")) {
        if (arg_count(name, nargs, 1, 2, er) < 0) return -1;
        if (bx_cast(a, &args[0], VT_F64, 0, er) < 0) return -1;
        if (nargs > 1 && bx_cast(a, &args[1], VT_I64, 0, er) < 0) return -1;
        if (nargs == 1 && !strcmp(name, "round")) {
            *out = mkcall(a, "round", fn_math1, VT_F64, 0, args, 1, (void *)f_round);
            return 0;
        }
        *out = mkcall(a, name, fn_round2, VT_F64, 0, args, nargs,
                      !strcmp(name, "trunc") ? (void *)1 : NULL);
        return 0;
    }
    if (!strcmp(name, "pow") || !strcmp(name, "power")) {
        if (arg_count(name, nargs, 2, 2, er) < 0) return -1;
        if (bx_cast(a, &args[0], VT_F64, 0, er) < 0 || bx_cast(a, &args[1], VT_F64, 0, er) < 0)
            return -1;
        *out = mkcall(a, "power", fn_pow, VT_F64, 0, args, 2, NULL);
        return 0;
    }
    if (!strcmp(name, "log")) {
        if (arg_count(name, nargs, 1, 2, er) < 0) return -1;
        for (uint32_t i = 0; i < nargs; i++)
            if (bx_cast(a, &args[i], VT_F64, 0, er) < 0) return -1;
        *out = mkcall(a, "log", fn_log, VT_F64, 0, args, nargs, NULL);
        return 0;
    }
    if (!strcmp(name, "length") || !strcmp(name, "char_length") ||
        !strcmp(name, "character_length")) {
        if (arg_count(name, nargs, 1, 1, er) < 0 || bx_cast(a, &args[0], VT_STR, 0, er) < 0)
            return -1;
        *out = mkcall(a, name, fn_length, VT_I64, 0, args, 1, NULL);
        return 0;
    }
    if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        if (arg_count(name, nargs, 1, 1, er) < 0 || bx_cast(a, &args[0], VT_STR, 0, er) < 0)
            return -1;
        *out =
            mkcall(a, name, fn_case, VT_STR, 0, args, 1, !strcmp(name, "upper") ? (void *)1 : NULL);
        return 0;
    }
    if (!strcmp(name, "concat")) {
        if (nargs == 0) return arg_count(name, nargs, 1, 1000, er);
        for (uint32_t i = 0; i < nargs; i++)
            if (args[i]->type != VT_NULL && bx_cast(a, &args[i], VT_STR, 0, er) < 0) return -1;
        *out = mkcall(a, "concat", fn_concat, VT_STR, 0, args, nargs, NULL);
        return 0;
    }
    if (!strcmp(name, "starts_with") || !strcmp(name, "ends_with")) {
        if (arg_count(name, nargs, 2, 2, er) < 0) return -1;
        if (bx_cast(a, &args[0], VT_STR, 0, er) < 0 || bx_cast(a, &args[1], VT_STR, 0, er) < 0)
            return -1;
        *out = mkcall(a, name, fn_starts_with, VT_BOOL, 0, args, 2,
                      !strcmp(name, "ends_with") ? (void *)1 : NULL);
        return 0;
    }
    if (!strcmp(name, "coalesce")) {
        if (nargs == 0) return arg_count(name, nargs, 1, 1000, er);
        uint8_t t = VT_NULL, unit = 0;
        for (uint32_t i = 0; i < nargs; i++)
            if (args[i]->type != VT_NULL) {
                if (t == VT_NULL || (vtype_numeric(t) && args[i]->type == VT_F64)) {
                    t = args[i]->type;
                    unit = args[i]->unit;
                }
            }
        for (uint32_t i = 0; i < nargs; i++)
            if (bx_cast(a, &args[i], t, unit, er) < 0) return -1;
        *out = mkcall(a, "coalesce", fn_coalesce, t, unit, args, nargs, NULL);
        return 0;
    }
    if (!strcmp(name, "nullif")) {
        if (arg_count(name, nargs, 2, 2, er) < 0) return -1;
        if (bx_cast(a, &args[1], args[0]->type, args[0]->unit, er) < 0) return -1;
        *out = mkcall(a, "nullif", fn_nullif, args[0]->type, args[0]->unit, args, 2, NULL);
        return 0;
    }
    if (!strcmp(name, "now") || !strcmp(name, "current_timestamp")) {
        if (arg_count(name, nargs, 0, 0, er) < 0) return -1;
        bexpr *e = mkcall(a, "now", fn_const_ts, VT_TS, TU_NS, args, 0, NULL);
        e->cval.v.i = now_ns;
        e->has_tz = true;
        *out = e;
        return 0;
    }
    if (!strcmp(name, "date_bin")) {
        if (arg_count(name, nargs, 2, 3, er) < 0) return -1;
        if (bx_cast(a, &args[0], VT_INTERVAL, 0, er) < 0) return -1;
        uint8_t unit = args[1]->type == VT_TS ? args[1]->unit : TU_NS;
        if (bx_cast(a, &args[1], VT_TS, unit, er) < 0) return -1;
        if (nargs > 2 && bx_cast(a, &args[2], VT_TS, unit, er) < 0) return -1;
        *out = mkcall(a, "date_bin", fn_date_bin, VT_TS, unit, args, nargs, NULL);
        (*out)->scalar_args = 1u << 0 | 1u << 2; /* the stride and the origin */
        return 0;
    }
    if (!strcmp(name, "date_trunc") || !strcmp(name, "datetrunc")) {
        if (arg_count(name, nargs, 2, 2, er) < 0) return -1;
        if (bx_cast(a, &args[0], VT_STR, 0, er) < 0) return -1;
        uint8_t unit = args[1]->type == VT_TS ? args[1]->unit : TU_NS;
        if (bx_cast(a, &args[1], VT_TS, unit, er) < 0) return -1;
        *out = mkcall(a, "date_trunc", fn_date_trunc, VT_TS, unit, args, 2, NULL);
        return 0;
    }
    if (!strcmp(name, "date_part") || !strcmp(name, "datepart")) {
        if (arg_count(name, nargs, 2, 2, er) < 0) return -1;
        if (bx_cast(a, &args[0], VT_STR, 0, er) < 0) return -1;
        uint8_t unit = args[1]->type == VT_TS ? args[1]->unit : TU_NS;
        if (bx_cast(a, &args[1], VT_TS, unit, er) < 0) return -1;
        *out = mkcall(a, "date_part", fn_date_part, VT_F64, 0, args, 2, NULL);
        return 0;
    }
    struct {
        const char *n;
        uint8_t unit;
        int64_t in_per_sec;
    } tots[] = {{"to_timestamp", TU_NS, 1000000000},       {"to_timestamp_seconds", TU_S, 1},
                {"to_timestamp_millis", TU_MS, 1000},      {"to_timestamp_micros", TU_US, 1000000},
                {"to_timestamp_nanos", TU_NS, 1000000000}, {"from_unixtime", TU_S, 1}};
    for (size_t i = 0; i < sizeof tots / sizeof tots[0]; i++) {
        if (strcmp(name, tots[i].n) != 0) continue;
        if (arg_count(name, nargs, 1, 1, er) < 0) return -1;
        uint8_t t = args[0]->type;
        if (t == VT_U64 || t == VT_BOOL) {
            if (bx_cast(a, &args[0], VT_I64, 0, er) < 0) return -1;
        } else if (t != VT_STR && t != VT_I64 && t != VT_F64 && t != VT_TS && t != VT_NULL) {
            return err_set(er, 422, EC_QUERY_INTERNAL,
                           "Datafusion: Error during planning: The function %s does not accept "
                           "this argument type",
                           name);
        }
        /* Integers are read in the function's own unit: to_timestamp(3261280258043984262) is
         * 2073-05-06T07:10:58.043984262 in CnosDB (its sqlancer/function.slt), so nanoseconds,
         * and no integer input can leave the range. */
        int64_t in = tots[i].in_per_sec;
        *out = mkcall(a, tots[i].n, fn_to_ts, VT_TS, tots[i].unit, args, 1, (void *)(intptr_t)in);
        return 0;
    }
    return unknown_fn(name, er);
}

/* ------------------------------------------------------------------ aggregates */

static const struct {
    const char *name;
    int kind;
    const char *display;
} aggs[] = {{"count", AGG_COUNT, "COUNT"},
            {"sum", AGG_SUM, "SUM"},
            {"avg", AGG_AVG, "AVG"},
            {"mean", AGG_AVG, "AVG"},
            {"min", AGG_MIN, "MIN"},
            {"max", AGG_MAX, "MAX"},
            {"first", AGG_FIRST, "first"},
            {"last", AGG_LAST, "last"},
            {"spread", AGG_SPREAD, "spread"},
            {"stddev", AGG_STDDEV, "STDDEV"},
            {"stddev_samp", AGG_STDDEV, "STDDEV"},
            {"stddev_pop", AGG_STDDEV_POP, "STDDEV_POP"},
            {"var", AGG_VAR, "VARIANCE"},
            {"variance", AGG_VAR, "VARIANCE"},
            {"var_samp", AGG_VAR, "VARIANCE"},
            {"var_pop", AGG_VAR_POP, "VARIANCE_POP"},
            {"median", AGG_MEDIAN, "MEDIAN"}};

int agg_lookup(const char *name) {
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (!strcmp(name, aggs[i].name)) return aggs[i].kind;
    return 0;
}

const char *agg_display(int kind) {
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (aggs[i].kind == kind) return aggs[i].display;
    return "?";
}

int agg_result_type(int kind, uint8_t t, uint8_t *out, err *er) {
    switch (kind) {
    case AGG_COUNT:
        *out = VT_I64;
        return 0;
    case AGG_SUM:
        if (!vtype_numeric(t) && t != VT_NULL) break;
        *out = t == VT_NULL ? VT_I64 : t;
        return 0;
    case AGG_AVG:
    case AGG_STDDEV:
    case AGG_STDDEV_POP:
    case AGG_VAR:
    case AGG_VAR_POP:
    case AGG_MEDIAN:
        if (!vtype_numeric(t) && t != VT_NULL) break;
        *out = kind == AGG_MEDIAN && t != VT_NULL ? t : VT_F64;
        return 0;
    case AGG_SPREAD:
        if (!vtype_numeric(t)) break;
        *out = t;
        return 0;
    case AGG_MIN:
    case AGG_MAX:
    case AGG_FIRST:
    case AGG_LAST:
        if (t == VT_INTERVAL) break;
        *out = t;
        return 0;
    }
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Datafusion: Error during planning: The function %s does not support inputs "
                   "of type %s.",
                   agg_display(kind), vtype_sql_name((enum vtype)t, TU_NS));
}
