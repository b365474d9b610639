/* Casts: which are allowed (bx_can_cast), the cast node the binder inserts (bx_cast), and the
 * kernel, which follows arrow's cast rules and error wording: text to number takes the whole
 * text, floats out of an integer's range fail, TRY_CAST gives NULL where CAST fails. See
 * expr_int.h. */
#include "sql/expr_int.h"
#include "util/vlist.h"

#include "format/format.h"
#include "util/dec.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool bx_can_cast(uint8_t from, uint8_t to) {
    if (from == to || from == VT_NULL) return true;
    if (from == VT_LIST || to == VT_LIST) return false; /* lists cast only to lists */
    if (from == VT_STRUCT || to == VT_STRUCT) return false;
    switch (to) {
    case VT_BOOL:
        return vtype_numeric(from) || from == VT_STR;
    case VT_I64:
    case VT_U64:
        return vtype_numeric(from) || from == VT_BOOL || from == VT_STR || from == VT_TS ||
               from == VT_DEC128;
    /* Arrow 40 has no cast between timestamps and floats or booleans (CnosDB's cases) */
    case VT_F64:
        return vtype_numeric(from) || from == VT_BOOL || from == VT_STR || from == VT_DEC128;
    case VT_STR:
        return true;
    case VT_TS:
        return from == VT_STR || from == VT_I64 || from == VT_U64 || from == VT_TS ||
               from == VT_DATE;
    case VT_DATE:
        return from == VT_STR || from == VT_TS || from == VT_I64;
    case VT_INTERVAL:
        return from == VT_STR;
    case VT_DEC128:
        return vtype_numeric(from) || from == VT_STR || from == VT_DEC128;
    }
    return false;
}

/* Text to number as arrow's cast does it: the whole text is the number, no surrounding spaces
 * (strtoll and strtod would skip leading ones), so TRY_CAST(' 256' AS BIGINT) is NULL. */
static bool number_text(strv s, char *tmp, size_t cap) {
    if (s.len == 0 || s.len >= cap || isspace((unsigned char)s.p[0])) return false;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = 0;
    return true;
}

static bool parse_i64(strv s, int64_t *out) {
    char tmp[64], *end;
    if (!number_text(s, tmp, sizeof tmp)) return false;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_u64(strv s, uint64_t *out) {
    char tmp[64], *end;
    if (!number_text(s, tmp, sizeof tmp) || s.p[0] == '-') return false;
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_f64(strv s, double *out) {
    char tmp[128], *end;
    if (!number_text(s, tmp, sizeof tmp)) return false;
    double v = strtod(tmp, &end);
    if (end == tmp || *end) return false;
    *out = v;
    return true;
}

/* Arrow's text to boolean: trimmed and lower-cased, a prefix of true/false or yes/no, on/off,
 * 1/0 (the letters t, tr ... and f, fa ... included); -1 for anything else. */
/* s trimmed and lower-cased into out (at most cap bytes); its whole trimmed length. */
static size_t trim_lower(strv s, char *out, size_t cap) {
    size_t i = 0, j = s.len;
    while (i < j && isspace((unsigned char)s.p[i])) i++;
    while (j > i && isspace((unsigned char)s.p[j - 1])) j--;
    for (size_t k = i; k < j && k - i < cap; k++) out[k - i] = (char)tolower((unsigned char)s.p[k]);
    return j - i;
}

/* Arrow's text to boolean: trimmed and lower-cased, a prefix of true/false, yes/no, on/off,
 * 1/0 (t, tr, ... and f, fa, ... included); -1 for anything else. */
static int text_bool(strv s) {
    static const char *const yes[] = {"t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"};
    static const char *const no[] = {"f", "fa", "fal", "fals", "false",
                                     "n", "no", "of",  "off",  "0"};
    char t[8];
    size_t n = trim_lower(s, t, sizeof t - 1);
    if (n >= sizeof t) return -1;
    t[n] = 0;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!strcmp(t, yes[i])) return 1;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (!strcmp(t, no[i])) return 0;
    return -1;
}

int bx_cast_unsupported(err *er, uint8_t from, uint8_t from_unit, uint8_t to, uint8_t to_unit,
                        bool folded) {
    return err_set(er, 422, EC_NOT_IMPL,
                   "Execute logical plan: Datafusion: %sThis feature is not implemented: "
                   "Unsupported CAST from %s to %s",
                   folded ? "Optimizer rule 'simplify_expressions' failed\ncaused by\n" : "",
                   vtype_arrow_name(from, from_unit), vtype_arrow_name(to, to_unit));
}

int bx_ts_parse_err(err *er, const char *p, size_t n) {
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Arrow error: Parser error: Error parsing timestamp from '%.*s': %s", (int)n, p,
                   n < 10 ? "timestamp must contain at least 10 characters" : "error parsing date");
}

static int cast_err(err *er, const value *v, uint8_t to, uint8_t unit) {
    /* text to a timestamp goes through Arrow's timestamp parser, which words its own error */
    if (v->type == VT_STR && to == VT_TS) return bx_ts_parse_err(er, v->v.s.p, v->v.s.len);
    if (v->type == VT_STR && to == VT_BOOL) {
        /* Arrow names the value as it compared it: trimmed, lower-cased */
        char low[256];
        size_t n = trim_lower(v->v.s, low, sizeof low);
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Arrow error: Cast error: Cannot cast value '%.*s' to value of Boolean type",
                       (int)(n < sizeof low ? n : sizeof low), low);
    }
    if (v->type == VT_STR)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Arrow error: Cast error: Cannot cast string '%.*s' to value of %s type",
                       (int)v->v.s.len, v->v.s.p, vtype_arrow_name(to, unit));
    /* Arrow names the integer it could not cast (`Can't cast value -3 to type UInt64`). */
    if (v->type == VT_I64)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Arrow error: Cast error: Can't cast value %lld to type %s",
                       (long long)v->v.i, vtype_arrow_name(to, unit));
    if (v->type == VT_U64)
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Arrow error: Cast error: Can't cast value %llu to type %s",
                       (unsigned long long)v->v.u, vtype_arrow_name(to, unit));
    return err_set(er, 422, EC_QUERY_INTERNAL, "Arrow error: Cast error: Can't cast value to %s",
                   vtype_arrow_name(to, unit));
}

/* To text, as arrow's cast prints each type. */
static bool cast_to_str(arena *a, const value *in, value *out) {
    bool ok = true;
    char tmp[64];
    size_t n = 0;
    switch (in->type) {
    case VT_BOOL:
        /* Arrow 40 under DataFusion 27 casts a boolean to "1" or "0": CnosDB's
         * CAST(NOT TRUE AS STRING) is '0' (its sqlancer cases parse it as a timestamp) */
        tmp[0] = in->v.b ? '1' : '0';
        n = 1;
        break;
    case VT_I64:
        n = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)in->v.i);
        break;
    case VT_U64:
        n = (size_t)snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)in->v.u);
        break;
    case VT_F64:
        n = in->unit == NU_32 ? fmt_float(tmp, (float)in->v.f) : fmt_double(tmp, in->v.f);
        break;
    case VT_TS:
        n = time_format(tmp, in->v.i, (enum tunit)in->unit, TSFMT_TRIM, false);
        break;
    case VT_DATE: {
        int64_t y;
        unsigned m, d;
        civil_from_days(in->v.i, &y, &m, &d);
        n = (size_t)snprintf(tmp, sizeof tmp, "%04lld-%02u-%02u", (long long)y, m, d);
        break;
    }
    case VT_STR:
        out->v.s = in->v.s;
        return true;
    case VT_DEC128:
        n = dec_format(dec_get(in->v.dec), dec_scale(in->unit), tmp);
        break;
    case VT_TIME64:
        n = time_format_time(tmp, in->v.i);
        break;
    case VT_INTERVAL: {
        interval iv = in->v.iv;
        int64_t secs = iv.nanos / 1000000000, frac = iv.nanos % 1000000000;
        if (frac < 0) frac = -frac;
        n = (size_t)snprintf(
            tmp, sizeof tmp, "0 years %d mons %d days %lld hours %lld mins %lld.%09lld secs",
            iv.months, iv.days, (long long)(secs / 3600), (long long)(secs % 3600 / 60),
            (long long)(secs % 60), (long long)frac);
        break;
    }
    default:
        ok = false;
    }
    if (ok) out->v.s = (strv){arena_strndup(a, tmp, n), (uint32_t)n};
    return ok;
}

static bool cast_to_ts(const value *in, uint8_t unit, value *out) {
    bool ok = true;
    switch (in->type) {
    case VT_STR: {
        int64_t ns;
        ok = time_parse_ts(in->v.s.p, in->v.s.len, &ns);
        if (ok) ok = tunit_convert(ns, TU_NS, (enum tunit)unit, &out->v.i);
        break;
    }
    case VT_I64:
        out->v.i = in->v.i;
        break;
    case VT_U64:
        ok = in->v.u <= INT64_MAX;
        out->v.i = (int64_t)in->v.u;
        break;
    case VT_F64:
        ok = !isnan(in->v.f) && fabs(in->v.f) < 9.2e18;
        out->v.i = ok ? (int64_t)in->v.f : 0;
        break;
    case VT_TS:
        ok = tunit_convert(in->v.i, (enum tunit)in->unit, (enum tunit)unit, &out->v.i);
        break;
    case VT_DATE:
        ok = time_from_days(in->v.i, 0, (enum tunit)unit, &out->v.i);
        break;
    default:
        ok = false;
    }
    return ok;
}

static bool cast_to_date(const value *in, value *out) {
    bool ok = true;
    switch (in->type) {
    case VT_STR: {
        int64_t ns;
        ok = time_parse_ts(in->v.s.p, in->v.s.len, &ns);
        int64_t q = ns / 86400000000000LL;
        if (ns % 86400000000000LL < 0) q--;
        out->v.i = q;
        break;
    }
    case VT_TS: {
        int64_t s;
        ok = tunit_convert(in->v.i, (enum tunit)in->unit, TU_S, &s);
        int64_t q = s / 86400;
        if (s % 86400 < 0) q--;
        out->v.i = q;
        break;
    }
    case VT_I64:
        out->v.i = in->v.i;
        break;
    default:
        ok = false;
    }
    return ok;
}

static bool cast_to_bool(const value *in, value *out) {
    bool ok = true;
    switch (in->type) {
    case VT_BOOL:
        out->v.b = in->v.b;
        break;
    case VT_I64:
        out->v.b = in->v.i != 0;
        break;
    case VT_U64:
        out->v.b = in->v.u != 0;
        break;
    case VT_F64:
        out->v.b = in->v.f != 0;
        break;
    case VT_STR: {
        int b = text_bool(in->v.s);
        if (b < 0)
            ok = false;
        else
            out->v.b = b;
        break;
    }
    default:
        ok = false;
    }
    return ok;
}

static bool cast_to_i64(const value *in, value *out) {
    bool ok = true;
    switch (in->type) {
    case VT_BOOL:
        out->v.i = in->v.b;
        break;
    case VT_I64:
    case VT_TS:
        out->v.i = in->v.i;
        break;
    case VT_U64:
        ok = in->v.u <= INT64_MAX;
        out->v.i = (int64_t)in->v.u;
        break;
    case VT_F64:
        ok =
            !isnan(in->v.f) && in->v.f >= -9223372036854775808.0 && in->v.f < 9223372036854775808.0;
        out->v.i = ok ? (int64_t)in->v.f : 0;
        break;
    case VT_STR:
        ok = parse_i64(in->v.s, &out->v.i);
        break;
    case VT_DEC128: {
        /* arrow truncates the fraction */
        i128 v = dec_get(in->v.dec) / dec_pow10(dec_scale(in->unit));
        ok = v >= INT64_MIN && v <= INT64_MAX;
        out->v.i = ok ? (int64_t)v : 0;
        break;
    }
    default:
        ok = false;
    }
    return ok;
}

static bool cast_to_u64(const value *in, value *out) {
    bool ok = true;
    switch (in->type) {
    case VT_BOOL:
        out->v.u = in->v.b;
        break;
    case VT_I64:
    case VT_TS:
        ok = in->v.i >= 0;
        out->v.u = (uint64_t)in->v.i;
        break;
    case VT_U64:
        out->v.u = in->v.u;
        break;
    case VT_F64:
        ok = !isnan(in->v.f) && in->v.f >= 0 && in->v.f < 18446744073709551616.0;
        out->v.u = ok ? (uint64_t)in->v.f : 0;
        break;
    case VT_STR:
        ok = parse_u64(in->v.s, &out->v.u);
        break;
    case VT_DEC128: {
        i128 v = dec_get(in->v.dec) / dec_pow10(dec_scale(in->unit));
        ok = v >= 0 && v <= (i128)UINT64_MAX;
        out->v.u = ok ? (uint64_t)v : 0;
        break;
    }
    default:
        ok = false;
    }
    return ok;
}

static bool cast_to_f64(const value *in, value *out) {
    bool ok = true;
    switch (in->type) {
    case VT_BOOL:
        out->v.f = in->v.b;
        break;
    case VT_I64:
    case VT_TS:
        out->v.f = (double)in->v.i;
        break;
    case VT_U64:
        out->v.f = (double)in->v.u;
        break;
    case VT_F64:
        out->v.f = in->v.f;
        break;
    case VT_STR:
        ok = parse_f64(in->v.s, &out->v.f);
        break;
    case VT_DEC128:
        out->v.f = dec_to_f64(dec_get(in->v.dec), dec_scale(in->unit));
        break;
    default:
        ok = false;
    }
    return ok;
}

/* To Decimal128(p, s) of code unit. 0 = not a number; -1 = more digits than p (*v says). */
static int cast_to_dec(const value *in, uint8_t unit, value *out, i128 *v) {
    int p = dec_prec(unit), s = dec_scale(unit);
    bool ok = true;
    switch (in->type) {
    case VT_I64:
        ok = dec_rescale(in->v.i, 0, s, v);
        break;
    case VT_U64:
        ok = dec_rescale((i128)in->v.u, 0, s, v);
        break;
    case VT_F64:
        ok = dec_from_f64(in->v.f, s, v);
        break;
    case VT_STR:
        ok = dec_parse(in->v.s.p, in->v.s.len, s, false, v);
        break;
    case VT_DEC128:
        ok = dec_rescale(dec_get(in->v.dec), dec_scale(in->unit), s, v);
        break;
    default:
        ok = false;
    }
    if (!ok) return 0;
    if (!dec_fits(*v, p)) return -1;
    out->v.dec = dec_put(*v);
    return 1;
}

/* arrow's precision check on a value cast to Decimal128(p, s). */
static int dec_precision_err(err *er, i128 v, uint8_t unit) {
    char t[DEC_TEXT_MAX], m[DEC_TEXT_MAX];
    int p = dec_prec(unit);
    dec_format(v, 0, t);
    dec_format(dec_pow10(p) - 1, 0, m);
    return err_set(er, 422, EC_QUERY_INTERNAL,
                   "Arrow error: Invalid argument error: %s is too large to store in a "
                   "Decimal128 of precision %d. Max is %s",
                   t, p, m);
}

/* Casts one non-null value; returns 1 = ok, 0 = NULL result (try_cast), -1 error. */
static int cast_value(arena *a, const value *in, uint8_t to, uint8_t unit, bool try_cast,
                      value *out, err *er) {
    memset(out, 0, sizeof *out);
    out->type = to;
    out->unit = unit;
    bool ok = true;
    switch (to) {
    case VT_BOOL:
        ok = cast_to_bool(in, out);
        break;
    case VT_I64:
        ok = cast_to_i64(in, out);
        if (ok && unit == NU_32) ok = out->v.i >= INT32_MIN && out->v.i <= INT32_MAX;
        break;
    case VT_U64:
        ok = cast_to_u64(in, out);
        break;
    case VT_F64:
        ok = cast_to_f64(in, out);
        if (ok && unit == NU_32) out->v.f = (float)out->v.f;
        break;
    case VT_STR:
        ok = cast_to_str(a, in, out);
        break;
    case VT_TS:
        ok = cast_to_ts(in, unit, out);
        break;
    case VT_DATE:
        ok = cast_to_date(in, out);
        break;
    case VT_DEC128: {
        i128 v = 0;
        int rc = cast_to_dec(in, unit, out, &v);
        if (rc < 0) return try_cast ? 0 : dec_precision_err(er, v, unit);
        ok = rc > 0;
        break;
    }
    case VT_INTERVAL:
        if (in->type == VT_STR) {
            char msg[300];
            ok = interval_parse(in->v.s.p, in->v.s.len, "second", &out->v.iv, msg, sizeof msg);
        } else if (in->type == VT_INTERVAL)
            out->v.iv = in->v.iv;
        else
            ok = false;
        break;
    case VT_LIST: { /* element by element, a NULL element staying NULL */
        value *items;
        uint32_t n = vlist_items(a, in->v.s, in->unit, &items);
        for (uint32_t i = 0; i < n; i++) {
            if (items[i].null) continue;
            value r;
            int rc =
                cast_value(a, &items[i], vlist_etype(unit), vlist_eunit(unit), try_cast, &r, er);
            if (rc <= 0) return rc;
            items[i] = r;
        }
        out->v.s = vlist_make(a, vlist_etype(unit), items, n);
        break;
    }
    default:
        ok = false;
    }
    if (ok) return 1;
    if (try_cast) return 0;
    return cast_err(er, in, to, unit);
}

int expr_eval_cast(const bexpr *e, const vec *in, uint32_t n, arena *a, vec *out, err *er) {
    vec_alloc(a, e->type, e->unit, n, out);
    out->has_tz = e->has_tz;
    for (uint32_t i = 0; i < n; i++) {
        value v, r;
        vec_get(in, i, &v);
        if (v.null) {
            vec_set_null(a, out, i);
            continue;
        }
        int rc = cast_value(a, &v, e->type, e->unit, e->try_cast, &r, er);
        if (rc < 0) return -1;
        if (rc == 0) {
            vec_set_null(a, out, i);
            continue;
        }
        vec_put(out, i, &r);
    }
    return 0;
}

int bx_cast(arena *a, bexpr **pe, uint8_t type, uint8_t unit, err *er) {
    bexpr *e = *pe;
    /* a timestamp's unit, a decimal's (p, s) and Int32/Float32 against Int64/Float64 differ in
     * values or names: a cast between them is a cast */
    if (e->type == type &&
        ((type != VT_TS && type != VT_DEC128 && type != VT_I64 && type != VT_F64 &&
          type != VT_LIST) ||
         e->unit == unit))
        return 0;
    if (e->type == VT_NULL) {
        value v = {.type = type, .unit = unit, .null = true};
        *pe = bx_const(a, v);
        return 0;
    }
    if (!bx_can_cast(e->type, type))
        return err_set(er, 422, EC_QUERY_INTERNAL,
                       "Datafusion: Error during planning: Cannot automatically convert %s to %s",
                       vtype_arrow_name(e->type, e->unit), vtype_arrow_name(type, unit));
    bexpr *c = bx_new(a, BX_CAST, type, 1);
    c->unit = unit;
    c->args[0] = e;
    if (bx_is_const(c)) {
        value v;
        if (bx_fold(a, c, &v, er) < 0) return -1;
        *pe = bx_const(a, v);
        return 0;
    }
    *pe = c;
    return 0;
}
